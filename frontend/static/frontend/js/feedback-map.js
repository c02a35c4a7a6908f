/*
 * Pinned feedback on the page's feedback map (the .civic-map inside section#feedback-map,
 * drawn by layers.js; this script finds its Leaflet map on the container or waits for
 * "civicmap:ready").
 *
 *   - data-feedback (GeoJSON of published pinned comments) drawn by category colour: points as
 *     keyboard-focusable markers, grouped into numbered clusters when they crowd (a simple grid
 *     clustering of our own, recomputed on zoom), lines and areas as shapes; popups are DOM
 *     nodes built with textContent (Leaflet renders popup strings as HTML).
 *   - "Add feedback": drop a pin, draw a line or an area (Leaflet.draw, shipped with
 *     django-leaflet), or pin the map centre (no mouse needed: the map pans with the arrow
 *     keys). The shape goes, as GeoJSON, into the comment form's hidden "geometry" field; the
 *     form is posted by thread.js (or, without it, as a plain form).
 *   - New pins appear without a reload: thread.js announces every comment it adds or removes
 *     (own posts and live events) with "feedback:*" events on the section.
 */
(function () {
  "use strict";

  var section = document.querySelector("section#feedback-map");
  var container = section && section.querySelector(".civic-map[data-feedback]");
  if (!container) return;
  var script = document.currentScript;
  var STATIC_ROOT = script ? script.src.replace(/frontend\/js\/feedback-map(\.[0-9a-f]+)?\.js.*$/, "") : "/static/";
  var CLUSTER_CELL = 56; // px: points closer than this on screen share a cluster
  var CLUSTER_UNTIL_ZOOM = 17; // from here on every pin is shown on its own

  var categories = {};
  try {
    JSON.parse(section.getAttribute("data-categories") || "[]").forEach(function (c) { categories[c.slug] = c; });
  } catch (error) { /* no categories */ }

  var el = window.civicDom.el;
  var button = window.civicDom.button;

  function safeColour(colour) {
    return /^#[0-9a-fA-F]{6}$/.test(colour || "") ? colour : "#555555";
  }

  function colourOf(props) {
    var category = props.category && categories[props.category];
    return safeColour((category && category.colour) || props.colour);
  }

  function whenMap(callback) {
    if (container.civicMap && window.L) {
      callback(container.civicMap, window.L);
      return;
    }
    container.addEventListener("civicmap:ready", function (event) { callback(event.detail.map, event.detail.L); }, { once: true });
  }

  function loadDraw(L) {
    if (L.Draw) return Promise.resolve();
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = STATIC_ROOT + "leaflet/draw/leaflet.draw.css";
    document.head.appendChild(link);
    return new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      tag.src = STATIC_ROOT + "leaflet/draw/leaflet.draw.js";
      tag.onload = function () { resolve(); };
      tag.onerror = function () { reject(new Error("Leaflet.draw could not be loaded")); };
      document.head.appendChild(tag);
    });
  }

  // --- Popups ---------------------------------------------------------------------------------
  function popupFor(props) {
    var box = el("div", "feedback-popup");
    var head = el("p", "feedback-popup__meta");
    head.appendChild(el("strong", null, props.display_name || "Resident"));
    var category = props.category && categories[props.category];
    if (category) {
      var tag = el("span", "feedback-popup__category", category.label);
      var dot = el("span", "feedback-popup__dot");
      dot.setAttribute("aria-hidden", "true");
      dot.style.backgroundColor = colourOf(props);
      tag.insertBefore(dot, tag.firstChild);
      head.appendChild(tag);
    }
    box.appendChild(head);
    var text = String(props.body || "");
    box.appendChild(el("p", "feedback-popup__body", text.length > 280 ? text.slice(0, 279) + "…" : text));
    box.appendChild(el("p", "feedback-popup__reactions", "Agree " + (props.agree || 0) + " · Disagree " + (props.disagree || 0)));
    if (document.getElementById("comment-" + props.id)) {
      var link = el("a", null, "Read it in the comments");
      link.href = "#comment-" + props.id;
      box.appendChild(link);
    }
    return box;
  }

  function init(map, L) {
    var pins = {}; // id -> {geometry, props, layer (lines/areas only)}
    var pointLayer = L.layerGroup().addTo(map);
    var shapeLayer = L.layerGroup().addTo(map);

    function pinIcon(colour, count) {
      var node = el("span", count ? "feedback-cluster__count" : "feedback-pin__dot", count || "");
      node.style.backgroundColor = colour;
      return L.divIcon({
        className: count ? "feedback-cluster" : "feedback-pin",
        html: node,
        iconSize: count ? [34, 34] : [22, 22],
        iconAnchor: count ? [17, 17] : [11, 11],
        popupAnchor: [0, -10]
      });
    }

    function describe(props) {
      var category = props.category && categories[props.category];
      return (category ? category.label + " from " : "Feedback from ") + (props.display_name || "a resident");
    }

    // Points are grouped by screen cell at the current zoom; a lone point is its own marker.
    function drawPoints() {
      pointLayer.clearLayers();
      var zoom = map.getZoom();
      var cells = {};
      Object.keys(pins).forEach(function (id) {
        var pin = pins[id];
        if (pin.geometry.type !== "Point") return;
        var latlng = L.latLng(pin.geometry.coordinates[1], pin.geometry.coordinates[0]);
        var point = map.project(latlng, zoom);
        var key = zoom >= CLUSTER_UNTIL_ZOOM ? id : Math.floor(point.x / CLUSTER_CELL) + ":" + Math.floor(point.y / CLUSTER_CELL);
        (cells[key] = cells[key] || []).push({ pin: pin, latlng: latlng });
      });
      Object.keys(cells).forEach(function (key) {
        var group = cells[key];
        if (group.length === 1) {
          var only = group[0];
          var marker = L.marker(only.latlng, {
            icon: pinIcon(colourOf(only.pin.props)),
            title: describe(only.pin.props),
            keyboard: true,
            riseOnHover: true
          });
          marker.bindPopup(function () { return popupFor(only.pin.props); });
          marker.feedbackId = only.pin.props.id;
          pointLayer.addLayer(marker);
          return;
        }
        var bounds = L.latLngBounds(group.map(function (item) { return item.latlng; }));
        var cluster = L.marker(bounds.getCenter(), {
          icon: pinIcon("#0b5cad", group.length),
          title: group.length + " feedback pins here: zoom in",
          keyboard: true
        });
        cluster.on("click", function () {
          var next = Math.min(map.getBoundsZoom(bounds.pad(0.2)), CLUSTER_UNTIL_ZOOM);
          map.setView(bounds.getCenter(), Math.max(next, zoom + 1));
        });
        pointLayer.addLayer(cluster);
      });
      container.setAttribute("data-feedback-pins", String(Object.keys(pins).length));
    }

    function addShape(pin) {
      var colour = colourOf(pin.props);
      pin.layer = L.geoJSON({ type: "Feature", geometry: pin.geometry, properties: {} }, {
        style: { color: colour, weight: 4, fillColor: colour, fillOpacity: 0.25 }
      });
      pin.layer.bindPopup(function () { return popupFor(pin.props); });
      shapeLayer.addLayer(pin.layer);
    }

    function put(id, geometry, props) {
      remove(id, true);
      if (!geometry || !geometry.type) return;
      var pin = { geometry: geometry, props: props };
      pins[id] = pin;
      if (geometry.type !== "Point") addShape(pin);
      drawPoints();
    }

    function remove(id, quiet) {
      var pin = pins[id];
      if (!pin) return;
      if (pin.layer) shapeLayer.removeLayer(pin.layer);
      delete pins[id];
      if (!quiet) drawPoints();
    }

    map.on("zoomend", drawPoints);

    fetch(container.getAttribute("data-feedback"), { credentials: "same-origin", headers: { Accept: "application/geo+json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("feedback answered " + response.status);
        return response.json();
      })
      .then(function (collection) {
        (collection.features || []).forEach(function (feature) {
          var props = feature.properties || {};
          if (!pins[props.id]) put(props.id, feature.geometry, props);
        });
        drawPoints();
      })
      .catch(function () { /* the thread still lists every comment */ });

    // Comments added, changed or removed by thread.js (own posts, live events, backfill).
    section.addEventListener("feedback:comment", function (event) {
      var c = event.detail.comment;
      if (c.status !== "published" || !c.geometry) {
        remove(c.id);
        return;
      }
      var previous = pins[c.id] ? pins[c.id].props : {};
      put(c.id, c.geometry, {
        id: c.id,
        display_name: c.display_name,
        body: c.body,
        category: c.category,
        agree: c.reactions ? c.reactions.agree : previous.agree,
        disagree: c.reactions ? c.reactions.disagree : previous.disagree
      });
    });
    section.addEventListener("feedback:comment-removed", function (event) { remove(event.detail.id); });
    section.addEventListener("feedback:reactions", function (event) {
      var pin = pins[event.detail.id];
      if (pin) {
        pin.props.agree = event.detail.reactions.agree;
        pin.props.disagree = event.detail.reactions.disagree;
      }
    });

    var form = section.querySelector("form.comment-form");
    if (form && form.querySelector("input[name=geometry]")) addTools(map, L, form);
    container.setAttribute("data-feedback-ready", "1");
  }

  // --- Adding feedback: pin, line, area, or the map centre ---------------------------------------
  function addTools(map, L, form) {
    var input = form.querySelector("input[name=geometry]");
    var categorySelect = form.querySelector("select[name=category]");
    var draft = L.featureGroup().addTo(map);
    var handler = null;

    var tools = el("div", "feedback-tools");
    tools.setAttribute("role", "group");
    tools.setAttribute("aria-labelledby", "feedback-tools-heading");
    var title = el("h3", null, "Add feedback on the map");
    title.id = "feedback-tools-heading";
    tools.appendChild(title);
    tools.appendChild(el("p", "feedback-tools__hint", "Place a pin or draw a line or an area, then write your comment below. Without a mouse: move the map with the arrow keys and pin its centre (marked +)."));
    var row = el("div", "feedback-tools__buttons");
    var pinButton = button("Drop a pin", "feedback-tool");
    var lineButton = button("Draw a line", "feedback-tool");
    var areaButton = button("Draw an area", "feedback-tool");
    var centreButton = button("Pin the map centre", "feedback-tool feedback-tool--centre");
    var finishButton = button("Finish shape", "feedback-tool");
    var cancelButton = button("Cancel drawing", "button-secondary");
    var clearButton = button("Remove my shape", "button-secondary");
    var writeButton = button("Write your comment", "button-secondary");
    finishButton.hidden = cancelButton.hidden = clearButton.hidden = writeButton.hidden = true;
    [pinButton, lineButton, areaButton, centreButton, finishButton, cancelButton, clearButton, writeButton].forEach(function (b) { row.appendChild(b); });
    tools.appendChild(row);
    var status = el("p", "feedback-tools__status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    tools.appendChild(status);
    container.parentNode.insertBefore(tools, container.nextSibling);

    function draftColour() {
      var category = categorySelect && categories[categorySelect.value];
      return safeColour(category ? category.colour : "#0b5cad");
    }

    function round(n) {
      return Math.round(n * 1e6) / 1e6;
    }

    function roundGeometry(geometry) {
      function walk(coords) {
        return typeof coords[0] === "number" ? [round(coords[0]), round(coords[1])] : coords.map(walk);
      }
      return { type: geometry.type, coordinates: walk(geometry.coordinates) };
    }

    function setDraft(layer, geometry, message) {
      draft.clearLayers();
      if (layer) draft.addLayer(layer);
      input.value = geometry ? JSON.stringify(roundGeometry(geometry)) : "";
      clearButton.hidden = writeButton.hidden = !geometry;
      var error = form.querySelector("#geometry-error");
      if (error) error.parentNode.removeChild(error);
      status.textContent = message || "";
      container.setAttribute("data-draft", geometry ? geometry.type : "");
    }

    function draftMarker(latlng) {
      return L.marker(latlng, { icon: L.divIcon({ className: "feedback-pin feedback-pin--draft", html: (function () {
        var node = el("span", "feedback-pin__dot");
        node.style.backgroundColor = draftColour();
        return node;
      })(), iconSize: [26, 26], iconAnchor: [13, 13] }), keyboard: false, interactive: false });
    }

    function placePoint(latlng, how) {
      setDraft(draftMarker(latlng), { type: "Point", coordinates: [latlng.lng, latlng.lat] },
        (how || "Pin placed") + " at latitude " + latlng.lat.toFixed(5) + ", longitude " + latlng.lng.toFixed(5) + ". Now write your comment below.");
    }

    function stopDrawing() {
      if (handler) handler.disable();
      handler = null;
      container.removeAttribute("data-drawing");
      finishButton.hidden = cancelButton.hidden = true;
    }

    function startDrawing(kind) {
      stopDrawing();
      return loadDraw(L).then(function () {
        var colour = draftColour();
        var shape = { color: colour, weight: 4, fillColor: colour, fillOpacity: 0.25 };
        if (kind === "pin") {
          handler = new L.Draw.Marker(map, { icon: L.divIcon({ className: "feedback-pin feedback-pin--draft", iconSize: [26, 26] }) });
        } else if (kind === "line") {
          handler = new L.Draw.Polyline(map, { shapeOptions: shape, showLength: false });
        } else {
          handler = new L.Draw.Polygon(map, { shapeOptions: shape, allowIntersection: false, showArea: false });
        }
        container.setAttribute("data-drawing", kind);
        handler.enable();
        cancelButton.hidden = false;
        finishButton.hidden = kind === "pin";
        status.textContent = kind === "pin" ? "Click the map where your feedback belongs."
          : kind === "line" ? "Click the map to add points; click the last point again or press Finish shape."
          : "Click the map to add corners; click the first corner or press Finish shape.";
      }).catch(function () {
        status.textContent = "Drawing is not available; you can still pin the map centre.";
      });
    }

    map.on("draw:created", onCreated);
    function onCreated(event) {
      var layer = event.layer;
      stopDrawing();
      if (event.layerType === "marker") {
        placePoint(layer.getLatLng());
        return;
      }
      var geometry = layer.toGeoJSON().geometry;
      setDraft(layer, geometry, (event.layerType === "polygon" ? "Area" : "Line") + " drawn. Now write your comment below.");
    }
    map.on("draw:drawstop", function () {
      container.removeAttribute("data-drawing");
      finishButton.hidden = cancelButton.hidden = true;
    });

    pinButton.addEventListener("click", function () { startDrawing("pin"); });
    lineButton.addEventListener("click", function () { startDrawing("line"); });
    areaButton.addEventListener("click", function () { startDrawing("area"); });
    centreButton.addEventListener("click", function () {
      stopDrawing();
      placePoint(map.getCenter(), "Pin placed at the map centre");
    });
    finishButton.addEventListener("click", function () {
      if (handler && handler.completeShape) handler.completeShape();
    });
    cancelButton.addEventListener("click", function () {
      stopDrawing();
      status.textContent = "Drawing cancelled.";
    });
    clearButton.addEventListener("click", function () {
      setDraft(null, null, "Shape removed.");
      pinButton.focus();
    });
    writeButton.addEventListener("click", function () {
      var body = form.querySelector("textarea[name=body]");
      if (body) body.focus();
    });
    if (categorySelect) {
      categorySelect.addEventListener("change", function () {
        draft.eachLayer(function (layer) {
          if (layer.setStyle) layer.setStyle({ color: draftColour(), fillColor: draftColour() });
          else if (layer.getElement && layer.getElement()) {
            var dot = layer.getElement().querySelector(".feedback-pin__dot");
            if (dot) dot.style.backgroundColor = draftColour();
          }
        });
      });
    }
    section.addEventListener("feedback:posted", function () { setDraft(null, null, ""); });
    section.addEventListener("feedback:geometry-error", function (event) { status.textContent = event.detail.message; });
  }

  whenMap(init);
})();
