/*
 * The map editor of the Wagtail admin (cms/widgets.py, template cms/widgets/map_editor.html).
 *
 * A Stimulus controller, "civic-map-editor", registered with Wagtail's own Stimulus
 * application: Stimulus starts it for every editor in the page, also for StreamField blocks
 * inserted after the page loaded, and stops it when a block is removed. No inline script and
 * no eval, so it runs under the site's Content-Security-Policy.
 *
 * The markup:
 *   data-field            this field's name inside its form prefix ("plan_area")
 *   data-latitude-field, data-longitude-field, data-zoom-field
 *                         optional: sibling inputs in the same prefix (a map block's centre
 *                         and zoom), kept in step with the map
 *   data-api              the land-use API, for the city outlines drawn as the backdrop
 *   data-basemap-url      optional XYZ raster URL; without it nothing leaves this site
 *   a textarea            the plan area as GeoJSON text: what the form posts and the server
 *                         validates (the map only writes it)
 *
 * Clicking the map places the centre; zooming the map sets the zoom; "Draw the plan area" uses
 * Leaflet.draw's polygon tool (django-leaflet's copy). Typing into the inputs moves the map.
 */
(function () {
  "use strict";

  var IDENTIFIER = "civic-map-editor";
  var WORLD = { center: [20, 0], zoom: 2 };
  var MIN_ZOOM = 1;
  var MAX_ZOOM = 20;

  function round(value, digits) {
    var factor = Math.pow(10, digits);
    return Math.round(value * factor) / factor;
  }

  function roundPositions(coordinates) {
    // Seven decimals (about a centimetre) are enough for WGS84 (RFC 7946).
    if (typeof coordinates[0] === "number") return coordinates.map(function (n) { return round(n, 7); });
    return coordinates.map(roundPositions);
  }

  function announce(input) {
    // Wagtail's unsaved-changes check and any other listener see the change as if typed.
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function parseGeometry(text) {
    if (!text || !text.trim()) return null;
    try {
      var data = JSON.parse(text);
      if (data && data.type === "FeatureCollection" && data.features && data.features.length === 1) data = data.features[0];
      if (data && data.type === "Feature") data = data.geometry;
      if (data && (data.type === "Polygon" || data.type === "MultiPolygon")) return data;
    } catch (error) {
      // Not JSON: left as typed; the server says what is wrong when the page is saved.
    }
    return undefined;
  }

  function setup(root) {
    var L = window.L;
    var textarea = root.querySelector("textarea");
    var container = root.querySelector(".civic-map-editor__map");
    var status = root.querySelector(".civic-map-editor__status");
    if (!L || !L.Draw || !textarea || !container) return function () {};

    var own = root.getAttribute("data-field") || "";
    var prefix = textarea.name.slice(0, textarea.name.length - own.length);
    function sibling(attribute) {
      var name = root.getAttribute(attribute);
      if (!name) return null;
      var scope = textarea.form || document;
      return scope.querySelector('[name="' + CSS.escape(prefix + name) + '"]');
    }
    var latitudeInput = sibling("data-latitude-field");
    var longitudeInput = sibling("data-longitude-field");
    var zoomInput = sibling("data-zoom-field");
    var picksView = Boolean(latitudeInput && longitudeInput && zoomInput);

    function button(name) { return root.querySelector('[data-map-editor-action="' + name + '"]'); }
    function say(text) { if (status) status.textContent = text; }

    var map = L.map(container, { preferCanvas: true, zoomSnap: 1, minZoom: MIN_ZOOM, maxZoom: MAX_ZOOM });
    // Nothing drawn on this map answers the pointer, and the canvas renderer swallows the
    // mousemove of any point it covers when none of its layers is interactive: Leaflet.draw then
    // never sees the pointer and a click over the backdrop placed no corner. Let the pointer
    // through to the map itself.
    map.getPane("overlayPane").style.pointerEvents = "none";
    // Tests and other scripts find the map here, as layers.js does on public pages.
    container.civicMap = map;
    var basemap = root.getAttribute("data-basemap-url");
    if (basemap) L.tileLayer(basemap, { maxZoom: MAX_ZOOM }).addTo(map);

    var area = L.featureGroup().addTo(map);
    var centreMarker = null;
    var programmatic = 0;
    var drawing = false;
    var userView = false;
    var writing = false;

    function quietly(change) {
      // Moves the map without writing its zoom back into the form.
      programmatic += 1;
      try { change(); } finally { programmatic -= 1; }
    }

    function typedCentre() {
      if (!picksView) return null;
      var lat = parseFloat(latitudeInput.value);
      var lon = parseFloat(longitudeInput.value);
      if (!isFinite(lat) || !isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180) return null;
      return L.latLng(lat, lon);
    }

    function typedZoom() {
      var zoom = parseInt(zoomInput && zoomInput.value, 10);
      return isFinite(zoom) ? Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, zoom)) : null;
    }

    function showCentre(latlng) {
      if (!latlng) {
        if (centreMarker) { centreMarker.remove(); centreMarker = null; }
        return;
      }
      if (!centreMarker) {
        centreMarker = L.circleMarker(latlng, {
          radius: 7, color: "#005a9c", weight: 3, fillColor: "#ffffff", fillOpacity: 1, interactive: false,
        }).addTo(map);
      } else {
        centreMarker.setLatLng(latlng);
      }
    }

    function showArea() {
      area.clearLayers();
      var geometry = parseGeometry(textarea.value);
      if (geometry === undefined) {
        say("The plan area text is not a GeoJSON polygon; it is checked when you save.");
        return;
      }
      if (geometry) {
        L.geoJSON(geometry, { style: { color: "#b35900", weight: 3, fillOpacity: 0.1 }, interactive: false }).eachLayer(function (layer) { area.addLayer(layer); });
      }
    }

    function fitWhatWeHave(backdropBounds) {
      var centre = typedCentre();
      quietly(function () {
        if (centre) {
          map.setView(centre, typedZoom() || 12, { animate: false });
        } else if (area.getLayers().length) {
          map.fitBounds(area.getBounds(), { animate: false });
        } else if (backdropBounds && backdropBounds.isValid()) {
          map.fitBounds(backdropBounds, { animate: false });
        } else {
          map.setView(WORLD.center, WORLD.zoom, { animate: false });
        }
      });
    }

    function write(input, value) {
      // Our own writes must not move the map back (see onTyped).
      input.value = value;
      writing = true;
      try { announce(input); } finally { writing = false; }
    }

    function setCentre(latlng) {
      write(latitudeInput, round(latlng.lat, 6).toFixed(6));
      write(longitudeInput, round(L.Util.wrapNum(latlng.lng, [-180, 180], true), 6).toFixed(6));
      showCentre(typedCentre());
    }

    function setZoom(zoom) {
      if (String(zoomInput.value) !== String(zoom)) write(zoomInput, String(zoom));
    }

    // --- the view: centre and zoom -----------------------------------------------------------
    function onClick(event) {
      if (drawing || !picksView) return;
      userView = true;
      setCentre(event.latlng);
      say("Centre set to " + latitudeInput.value + ", " + longitudeInput.value + ".");
    }
    function onZoom() {
      if (programmatic || !picksView) return;
      userView = true;
      setZoom(map.getZoom());
    }
    function onTyped() {
      if (writing) return;
      var centre = typedCentre();
      showCentre(centre);
      quietly(function () {
        if (centre) map.setView(centre, typedZoom() || map.getZoom(), { animate: false });
        else if (typedZoom()) map.setZoom(typedZoom(), { animate: false });
      });
    }
    map.on("click", onClick);
    map.on("zoomend", onZoom);
    if (picksView) {
      [latitudeInput, longitudeInput, zoomInput].forEach(function (input) { input.addEventListener("change", onTyped); });
    }
    var centreButton = button("centre");
    function useMapView() {
      userView = true;
      setCentre(map.getCenter());
      setZoom(map.getZoom());
      say("Centre and zoom set to the map's view: " + latitudeInput.value + ", " + longitudeInput.value + ", zoom " + zoomInput.value + ".");
    }
    if (centreButton) centreButton.addEventListener("click", useMapView);

    // --- the plan area -------------------------------------------------------------------------
    var drawer = new L.Draw.Polygon(map, {
      allowIntersection: false,
      showArea: false,
      shapeOptions: { color: "#b35900", weight: 3, fillOpacity: 0.1 },
    });
    function showDrawing(active) {
      drawing = active;
      button("draw").hidden = active;
      button("finish").hidden = !active;
      button("cancel").hidden = !active;
      root.toggleAttribute("data-drawing", active);
    }
    function startDrawing() {
      showDrawing(true);
      drawer.enable();
      say("Click the map at each corner of the plan area, then press \u201cFinish the area\u201d.");
    }
    function onCreated(event) {
      var geometry = event.layer.toGeoJSON().geometry;
      geometry.coordinates = roundPositions(geometry.coordinates);
      textarea.value = JSON.stringify(geometry);
      announce(textarea);
      showArea();
      say("Plan area drawn with " + (geometry.coordinates[0].length - 1) + " corners. Save the page to keep it.");
    }
    function onDrawStop() {
      // The click that closed the shape must not also move the centre.
      window.setTimeout(function () { showDrawing(false); }, 0);
    }
    map.on(L.Draw.Event.CREATED, onCreated);
    map.on(L.Draw.Event.DRAWSTOP, onDrawStop);
    var listeners = [
      [button("draw"), startDrawing],
      [button("finish"), function () { drawer.completeShape(); }],
      [button("cancel"), function () { drawer.disable(); say("Drawing cancelled."); }],
      [button("remove"), function () {
        textarea.value = "";
        announce(textarea);
        showArea();
        say("Plan area removed. Save the page to keep this.");
      }],
    ];
    listeners.forEach(function (pair) { if (pair[0]) pair[0].addEventListener("click", pair[1]); });
    textarea.addEventListener("change", showArea);

    // --- the backdrop: no base map needs no internet ----------------------------------------------
    var aborted = new AbortController();
    var backdropBounds = null;
    var api = root.getAttribute("data-api") || "/api/landuse/";
    showArea();
    showCentre(typedCentre());
    fitWhatWeHave(null);
    fetch(api + "layers/", { credentials: "same-origin", signal: aborted.signal })
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(function (layers) {
        if (!layers.length) return null;
        // The first layer in display order, simplified for a city-wide view, outlines only.
        var url = api + "layers/" + encodeURIComponent(layers[0].slug) + "/features.geojson?zoom=10";
        return fetch(url, { credentials: "same-origin", signal: aborted.signal }).then(function (response) {
          return response.ok ? response.json() : null;
        });
      })
      .then(function (collection) {
        if (!collection) return;
        var outlines = L.geoJSON(collection, { style: { color: "#6b6b6b", weight: 0.6, fill: false }, interactive: false }).addTo(map);
        outlines.bringToBack();
        backdropBounds = outlines.getBounds();
        root.setAttribute("data-backdrop", "loaded");
        if (!userView && !typedCentre() && !area.getLayers().length) fitWhatWeHave(backdropBounds);
      })
      .catch(function () {
        // No outlines (offline API, aborted): the map still works on a plain ground.
      });

    // A block inside a collapsed panel has no size yet: follow the container's size, and fit the
    // view again when it first gets one (a fit computed for a zero-size map is meaningless).
    var hadSize = container.clientWidth > 0 && container.clientHeight > 0;
    var resize = typeof ResizeObserver === "function" ? new ResizeObserver(function () {
      map.invalidateSize(false);
      var hasSize = container.clientWidth > 0 && container.clientHeight > 0;
      if (hasSize && !hadSize && !userView) fitWhatWeHave(backdropBounds);
      hadSize = hasSize;
    }) : null;
    if (resize) resize.observe(container);
    root.setAttribute("data-map-editor-ready", "");

    return function teardown() {
      aborted.abort();
      if (resize) resize.disconnect();
      listeners.forEach(function (pair) { if (pair[0]) pair[0].removeEventListener("click", pair[1]); });
      textarea.removeEventListener("change", showArea);
      if (picksView) {
        [latitudeInput, longitudeInput, zoomInput].forEach(function (input) { input.removeEventListener("change", onTyped); });
      }
      if (centreButton) centreButton.removeEventListener("click", useMapView);
      drawer.disable();
      map.remove();
      delete container.civicMap;
      root.removeAttribute("data-map-editor-ready");
    };
  }

  function register() {
    var wagtail = window.wagtail;
    var Stimulus = window.StimulusModule;
    if (wagtail && wagtail.app && Stimulus) {
      wagtail.app.register(IDENTIFIER, class extends Stimulus.Controller {
        connect() { this.teardown = setup(this.element); }
        disconnect() { if (this.teardown) this.teardown(); this.teardown = null; }
      });
      return;
    }
    // Outside Wagtail's admin (a plain Django form): the editors present when the page loads.
    document.querySelectorAll('[data-controller~="' + IDENTIFIER + '"]').forEach(setup);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", register);
  else register();
})();
