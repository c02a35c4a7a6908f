/*
 * DOM helpers shared by layers.js, thread.js and feedback-map.js, loaded before them (deferred
 * scripts run in document order). Text is only ever set with textContent: nothing from the
 * server or another resident is parsed as HTML (THREATS.md).
 */
(function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function button(text, className) {
    var node = el("button", className, text);
    node.type = "button";
    return node;
  }

  window.civicDom = { el: el, button: button };
})();
