/*
 * Land-use maps: draws every <div class="civic-map"> on the page.
 *
 * The contract (rendered by landuse's /map/ page and by the CMS map block):
 *   data-layers      comma-separated layer slugs, in the order to list them; empty: all layers
 *                    (then each layer starts shown or hidden as its visible_by_default says)
 *   data-center      "lat,lon"            data-zoom      initial zoom (default 12)
 *   data-basemap-url optional XYZ raster URL ({z}/{x}/{y}); without it the map has a plain
 *                    background and nothing is fetched from outside this site
 *   data-plan-area   optional GeoJSON geometry outlined on the map
 *   data-api         optional API root (default "/api/landuse/")
 *
 * A classic deferred script (no inline code, CSP-friendly). It loads Leaflet from our own
 * static files (django-leaflet's copy) when the page did not. Everything shown that comes
 * from data (titles, labels, codes) is set with textContent, never as HTML: Leaflet's popups
 * render HTML strings as markup, so popups get DOM nodes.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  // The static root: this file is <root>frontend/js/layers[.hash].js.
  var STATIC_ROOT = script ? script.src.replace(/frontend\/js\/layers(\.[0-9a-f]+)?\.js.*$/, "") : "/static/";
  var DEFAULT_API = "/api/landuse/";

  function loadStylesheet(href) {
    if (document.querySelector('link[data-civic-map-css="' + href + '"]')) return;
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    link.setAttribute("data-civic-map-css", href);
    document.head.appendChild(link);
  }

  function loadLeaflet() {
    loadStylesheet(STATIC_ROOT + "leaflet/leaflet.css");
    loadStylesheet(STATIC_ROOT + "frontend/css/map.css");
    if (window.L) return Promise.resolve(window.L);
    return new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = STATIC_ROOT + "leaflet/leaflet.js";
      tag.onload = function () { resolve(window.L); };
      tag.onerror = function () { reject(new Error("Leaflet could not be loaded")); };
      document.head.appendChild(tag);
    });
  }

  var el = window.civicDom.el;

  function swatch(colour) {
    var node = el("span", "civic-map__swatch");
    node.setAttribute("aria-hidden", "true");
    // Colours are validated as #rrggbb by the model; anything else is left uncoloured.
    if (/^#[0-9a-fA-F]{6}$/.test(colour || "")) node.style.backgroundColor = colour;
    return node;
  }

  function parseCenter(text) {
    var parts = (text || "").split(",").map(Number);
    if (parts.length === 2 && parts.every(isFinite) && Math.abs(parts[0]) <= 90 && Math.abs(parts[1]) <= 180) {
      return parts;
    }
    return [39.74, -104.99];
  }

  function getJSON(url, signal) {
    return fetch(url, { credentials: "same-origin", signal: signal }).then(function (response) {
      if (!response.ok) throw new Error(url + " answered " + response.status);
      return response.json();
    });
  }

  function Legend(layer) {
    var list = el("ul", "civic-map__legend");
    // A long legend scrolls: keyboard users must be able to reach it to scroll it.
    list.tabIndex = 0;
    list.setAttribute("aria-label", "Legend: " + layer.title);
    layer.legend.forEach(function (entry) {
      var item = el("li");
      item.appendChild(swatch(entry.colour));
      item.appendChild(el("span", "civic-map__code", entry.code));
      if (entry.label && entry.label !== entry.code) item.appendChild(el("span", "civic-map__label", entry.label));
      list.appendChild(item);
    });
    return list;
  }

  function lookupPopup(answer) {
    var box = el("div", "civic-map__lookup");
    if (!answer.layers.length) {
      box.appendChild(el("p", null, "No layer has information here."));
      return box;
    }
    var list = el("dl");
    answer.layers.forEach(function (layer) {
      list.appendChild(el("dt", null, layer.layer_title));
      var value = el("dd");
      value.appendChild(swatch(layer.colour));
      value.appendChild(el("span", "civic-map__code", layer.code));
      if (layer.label && layer.label !== layer.code) value.appendChild(el("span", "civic-map__label", layer.label));
      list.appendChild(value);
    });
    box.appendChild(list);
    return box;
  }

  function initCivicMap(container, L) {
    if (container.getAttribute("data-civic-map-ready")) return;
    container.setAttribute("data-civic-map-ready", "1");
    var api = container.getAttribute("data-api") || DEFAULT_API;
    var wanted = (container.getAttribute("data-layers") || "").split(",").map(function (s) { return s.trim(); }).filter(Boolean);
    var zoom = parseInt(container.getAttribute("data-zoom"), 10);

    var canvas = el("div", "civic-map__canvas");
    var panel = el("div", "civic-map__panel");
    container.appendChild(canvas);
    container.appendChild(panel);

    var map = L.map(canvas, { preferCanvas: true }).setView(parseCenter(container.getAttribute("data-center")), isFinite(zoom) ? zoom : 12);
    var basemap = container.getAttribute("data-basemap-url");
    if (basemap) {
      var tiles = L.tileLayer(basemap, { maxZoom: 19 });
      // Unreachable tiles leave the plain background (the map still works offline).
      tiles.on("tileerror", function () { container.classList.add("civic-map--no-basemap"); });
      tiles.addTo(map);
    } else {
      container.classList.add("civic-map--no-basemap");
    }

    var planArea = container.getAttribute("data-plan-area");
    if (planArea) {
      try {
        L.geoJSON(JSON.parse(planArea), { interactive: false, style: { color: "#1b1b1b", weight: 2, dashArray: "6 4", fill: false } }).addTo(map);
      } catch (error) {
        // A malformed plan area only loses its outline.
      }
    }

    var shown = [];
    function refresh() {
      var bounds = map.getBounds();
      var bbox = [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].map(function (n, i) {
        var limit = i % 2 ? 90 : 180;
        return Math.max(-limit, Math.min(limit, n)).toFixed(5);
      }).join(",");
      shown.forEach(function (entry) {
        if (!map.hasLayer(entry.group)) return;
        if (entry.abort) entry.abort.abort();
        entry.abort = new AbortController();
        var url = api + "layers/" + encodeURIComponent(entry.slug) + "/features.geojson?bbox=" + bbox + "&zoom=" + map.getZoom();
        getJSON(url, entry.abort.signal).then(function (collection) {
          entry.group.clearLayers();
          entry.group.addData(collection);
        }).catch(function () { /* aborted or offline: keep what is drawn */ });
      });
    }

    getJSON(api + "layers/").then(function (layers) {
      var bySlug = {};
      layers.forEach(function (layer) { bySlug[layer.slug] = layer; });
      var chosen = wanted.length ? wanted.map(function (slug) { return bySlug[slug]; }).filter(Boolean) : layers;
      var fieldset = el("fieldset", "civic-map__layers");
      fieldset.appendChild(el("legend", null, "Layers"));
      chosen.forEach(function (layer, index) {
        var group = L.geoJSON(null, {
          interactive: false,
          style: function (feature) {
            var colour = feature.properties.colour || "#888888";
            return { color: colour, weight: 0.6, fillColor: colour, fillOpacity: layer.kind === "overlay" ? 0.15 : 0.55 };
          }
        });
        var entry = { slug: layer.slug, group: group, abort: null };
        shown.push(entry);
        var visible = wanted.length ? index === 0 || layer.visible_by_default : layer.visible_by_default;
        var id = "civic-map-" + Math.random().toString(36).slice(2) + "-" + index;
        var row = el("div", "civic-map__layer");
        var box = el("input");
        box.type = "checkbox";
        box.id = id;
        box.checked = visible;
        var label = el("label", null, layer.title);
        label.htmlFor = id;
        row.appendChild(box);
        row.appendChild(label);
        var legend = Legend(layer);
        legend.hidden = !visible;
        row.appendChild(legend);
        fieldset.appendChild(row);
        box.addEventListener("change", function () {
          legend.hidden = !box.checked;
          if (box.checked) { group.addTo(map); refresh(); } else { map.removeLayer(group); }
        });
        if (visible) group.addTo(map);
      });
      panel.appendChild(fieldset);
      refresh();
    }).catch(function () {
      panel.appendChild(el("p", "civic-map__error", "The map layers could not be loaded."));
    });

    map.on("moveend", refresh);
    map.on("click", function (event) {
      // While a resident places feedback (frontend/js/feedback-map.js) a click is not a lookup.
      if (container.hasAttribute("data-drawing")) return;
      var url = api + "lookup/?lon=" + event.latlng.lng.toFixed(6) + "&lat=" + event.latlng.lat.toFixed(6);
      getJSON(url).then(function (answer) {
        L.popup().setLatLng(event.latlng).setContent(lookupPopup(answer)).openOn(map);
      }).catch(function () { /* a failed lookup shows nothing */ });
    });
    // Other scripts (the feedback map) build on this map: they find it here or wait for the event.
    container.civicMap = map;
    container.dispatchEvent(new CustomEvent("civicmap:ready", { bubbles: true, detail: { map: map, L: L } }));
    return map;
  }

  function initAll() {
    var containers = document.querySelectorAll("div.civic-map");
    if (!containers.length) return;
    loadLeaflet().then(function (L) {
      Array.prototype.forEach.call(containers, function (container) { initCivicMap(container, L); });
    }).catch(function () {
      Array.prototype.forEach.call(containers, function (container) {
        container.appendChild(el("p", "civic-map__error", "The map could not be loaded."));
      });
    });
  }

  window.CivicMap = { init: initCivicMap, initAll: initAll, staticRoot: STATIC_ROOT, loadStylesheet: loadStylesheet };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", initAll);
  } else {
    initAll();
  }
})();
