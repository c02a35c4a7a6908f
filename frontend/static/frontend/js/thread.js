/*
 * The live thread: progressive enhancement of the server-rendered feedback section
 * (cms/templates/cms/includes/feedback.html, docs/cms.md). Without this script the page reads
 * and posts as it is; with it:
 *
 *   - comments arrive over the WebSocket (data-ws-path) and are upserted by id: created,
 *     edited, withdrawn or hidden by a moderator (it disappears, or becomes a placeholder when
 *     it has replies, as the server renders it), reaction counts;
 *   - after a drop it reconnects with exponential backoff and backfills with ?after=<last id>
 *     (new comments) and ?changed_since=<as_of> (edits, withdrawals, hides), de-duplicating by
 *     id, the later changed_at winning (docs/realtime.md); the state is shown (Live /
 *     Reconnecting… / Offline);
 *   - new comments are announced politely and never move what the reader is reading: oldest
 *     first they are added at the end; newest first they wait behind a "N new comments"
 *     button;
 *   - posting, replying, agree/disagree, report, edit and withdraw go to the JSON API
 *     (docs/api-errors.md: errors are shown next to their field).
 *
 * Every element is built with createElement/textContent: no text from the server or another
 * resident is ever parsed as HTML (THREATS.md).
 */
(function () {
  "use strict";

  var section = document.querySelector("section#feedback-map[data-ws-path]");
  if (!section || !window.fetch || !window.WebSocket) return;

  // --- Configuration from the section's data attributes ------------------------------------
  var data = section.dataset;
  var commentsUrl = data.commentsUrl;
  var apiRoot = commentsUrl.replace(/discussions\/\d+\/comments\/$/, "");
  var discussionUrl = commentsUrl.replace(/comments\/$/, "");
  var isOpen = data.open === "true";
  var signedIn = data.signedIn === "true";
  var maxDepth = parseInt(data.maxReplyDepth, 10);
  if (!isFinite(maxDepth)) maxDepth = 0;
  var categories = {};
  try {
    JSON.parse(data.categories || "[]").forEach(function (c) { categories[c.slug] = c; });
  } catch (error) { /* no categories */ }
  var editWindowMs = 15 * 60 * 1000;

  var STORE = "civicmap.";
  var REASONS = [
    ["spam", "Spam or advertising"],
    ["offensive", "Offensive or abusive"],
    ["personal_info", "Shares personal information"],
    ["off_topic", "Off topic"],
    ["other", "Something else"]
  ];

  // --- Small helpers ------------------------------------------------------------------------
  var el = window.civicDom.el;
  var button = window.civicDom.button;

  function store(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(STORE + key);
      else window.localStorage.setItem(STORE + key, JSON.stringify(value));
    } catch (error) { /* private mode: nothing remembered */ }
  }

  function recall(key) {
    try {
      var text = window.localStorage.getItem(STORE + key);
      return text ? JSON.parse(text) : null;
    } catch (error) {
      return null;
    }
  }

  function csrfToken() {
    var input = section.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // fetch + JSON; resolves {ok, status, body, headers}; rejects only on network failure.
  function api(method, url, body, extraHeaders) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    Object.keys(extraHeaders || {}).forEach(function (name) { headers[name] = extraHeaders[name]; });
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (json) {
        return { ok: response.ok, status: response.status, body: json, headers: response.headers };
      });
    });
  }

  function errorsOf(result) {
    var list = result.body && Array.isArray(result.body.errors) ? result.body.errors : [];
    if (!list.length) {
      var message = result.status === 429
        ? "Too many requests. Please wait a moment and try again."
        : "Something went wrong (" + result.status + "). Please try again.";
      list = [{ field: "", message: message }];
    } else if (result.status === 429) {
      var wait = result.headers.get("Retry-After");
      if (wait) list[0].message += " Try again in " + wait + " seconds.";
    }
    return list;
  }

  function formatTime(iso) {
    var date = new Date(iso);
    if (isNaN(date)) return "";
    return date.toLocaleString(undefined, {
      day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit"
    });
  }

  // The body as text: line breaks kept, http(s) links made clickable, nothing parsed as HTML.
  function fillBody(node, text) {
    while (node.firstChild) node.removeChild(node.firstChild);
    String(text || "").split("\n").forEach(function (line, index) {
      if (index) node.appendChild(document.createElement("br"));
      var pattern = /https?:\/\/[^\s<>"']+/g;
      var last = 0;
      var match;
      while ((match = pattern.exec(line))) {
        var url = match[0].replace(/[.,;:!?)]+$/, "");
        if (match.index > last) node.appendChild(document.createTextNode(line.slice(last, match.index)));
        var link = el("a", null, url);
        link.href = url;
        link.rel = "nofollow ugc noopener";
        node.appendChild(link);
        last = match.index + url.length;
        pattern.lastIndex = last;
      }
      if (last < line.length) node.appendChild(document.createTextNode(line.slice(last)));
    });
  }

  var prefersAnchoring = window.CSS && CSS.supports && CSS.supports("overflow-anchor", "auto");

  // Insert without moving what the reader looks at: when the insertion point (the end of
  // ``reference``) is above the viewport, scroll by the height added (browsers with scroll anchoring do this themselves).
  function insertStable(insert, reference) {
    var above = reference && reference.getBoundingClientRect().bottom < 0;
    var before = document.documentElement.scrollHeight;
    insert();
    if (above && !prefersAnchoring) window.scrollBy(0, document.documentElement.scrollHeight - before);
  }

  // --- Page furniture: tools bar, connection state, announcer, "N new comments" -----------
  var threadList = section.querySelector("ol.thread");
  var heading = section.querySelector("#thread-heading");
  var form = section.querySelector("form.comment-form");
  if (!threadList) return;
  // This script announces arrivals itself; a live region on the whole list would read every
  // inserted comment in full, and twice.
  threadList.removeAttribute("aria-live");

  var tools = el("div", "thread-tools");
  var liveState = el("p", "live-state");
  var liveDot = el("span", "live-dot");
  liveDot.setAttribute("aria-hidden", "true");
  var liveText = el("span", "live-text", "Connecting…");
  liveState.appendChild(liveDot);
  liveState.appendChild(liveText);
  var orderGroup = el("div", "thread-order");
  orderGroup.setAttribute("role", "group");
  orderGroup.setAttribute("aria-label", "Order of comments");
  var oldestButton = button("Oldest first", "order-button");
  var newestButton = button("Newest first", "order-button");
  oldestButton.setAttribute("data-order", "oldest");
  newestButton.setAttribute("data-order", "newest");
  orderGroup.appendChild(oldestButton);
  orderGroup.appendChild(newestButton);
  tools.appendChild(orderGroup);
  tools.appendChild(liveState);
  threadList.parentNode.insertBefore(tools, threadList);

  var announcer = el("div", "visually-hidden thread-announcer");
  announcer.setAttribute("role", "status");
  announcer.setAttribute("aria-live", "polite");
  section.appendChild(announcer);

  var newButton = button("", "thread-new");
  newButton.hidden = true;
  section.appendChild(newButton);

  var announceTimer = null;
  var pendingAnnouncements = [];
  function announce(text, now) {
    pendingAnnouncements.push(text);
    clearTimeout(announceTimer);
    announceTimer = setTimeout(function () {
      var items = pendingAnnouncements;
      pendingAnnouncements = [];
      announcer.textContent = items.length > 2 ? items.length + " new comments." : items.join(" ");
    }, now ? 50 : 800);
  }

  function setState(state, text) {
    liveState.setAttribute("data-state", state);
    section.setAttribute("data-live", state);
    liveText.textContent = text || {
      connecting: "Connecting…",
      live: "Live",
      reconnecting: "Reconnecting…",
      offline: "Offline",
      // The server is up but its live channel (Redis) is not: posting still works.
      paused: "Live updates paused: you can still post; new comments appear when they are back",
    }[state];
  }

  // --- What is on the page ------------------------------------------------------------------
  var known = {}; // id -> {li, status, changedAt, body}
  var lastId = 0;
  var asOf = null;
  var order = recall("order") === "newest" ? "newest" : "oldest";
  var queued = []; // newest first: comments waiting behind the "N new comments" button

  function see(id) {
    if (id > lastId) lastId = id;
  }

  Array.prototype.forEach.call(threadList.querySelectorAll("li.comment[data-comment-id]"), function (li) {
    var id = parseInt(li.getAttribute("data-comment-id"), 10);
    var bodyNode = li.querySelector(":scope > article > .comment-body");
    known[id] = { li: li, status: li.getAttribute("data-status"), changedAt: null, body: bodyNode ? bodyNode.innerText.replace(/\n$/, "") : "" };
    see(id);
    if (known[id].status === "published") enhance(li, id);
  });

  // --- Building and updating comments -------------------------------------------------------
  function metaFor(c) {
    var meta = el("p", "comment-meta");
    meta.id = "comment-" + c.id + "-meta";
    meta.appendChild(el("span", "comment-author", c.display_name));
    var time = el("time", null, formatTime(c.created_at));
    time.setAttribute("datetime", c.created_at);
    meta.appendChild(time);
    if (c.category) {
      var category = categories[c.category];
      var tag = el("span", "comment-category category-" + c.category, category ? category.label : c.category);
      tag.setAttribute("data-category", c.category);
      meta.appendChild(tag);
    }
    if (c.edited_at) meta.appendChild(el("span", "comment-edited", "edited"));
    if (c.geometry) meta.appendChild(el("span", "comment-pinned", "pinned on the map"));
    return meta;
  }

  function reactionsFor(c) {
    var line = el("p", "comment-reactions");
    ["agree", "disagree"].forEach(function (value) {
      var span = el("span", "reaction-" + value, value === "agree" ? "Agree: " : "Disagree: ");
      span.setAttribute("data-reaction", value);
      span.appendChild(el("span", "reaction-count", (c.reactions && c.reactions[value]) || 0));
      line.appendChild(span);
    });
    return line;
  }

  function buildArticle(c) {
    var article = el("article");
    article.setAttribute("aria-labelledby", "comment-" + c.id + "-meta");
    article.appendChild(metaFor(c));
    var body = el("div", "comment-body");
    fillBody(body, c.body);
    article.appendChild(body);
    article.appendChild(reactionsFor(c));
    return article;
  }

  function buildComment(c) {
    var li = el("li", "comment");
    li.id = "comment-" + c.id;
    li.setAttribute("data-comment-id", c.id);
    li.setAttribute("data-parent-id", c.parent === null ? "" : c.parent);
    li.setAttribute("data-depth", c.depth);
    li.setAttribute("data-status", c.status);
    li.tabIndex = -1;
    li.appendChild(buildArticle(c));
    return li;
  }

  function placeholderText(status) {
    return status === "hidden" ? "This comment was hidden by a moderator." : "This comment was withdrawn by its author.";
  }

  function hasVisibleReplies(li) {
    return !!li.querySelector(":scope > ol.replies li.comment[data-status=published]");
  }

  function dispatch(name, detail) {
    section.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  // Remove a comment that is no longer published, or keep it as a placeholder for its replies
  // (as the server renders it); then drop placeholder ancestors left without visible replies.
  function retire(id, status) {
    var rec = known[id];
    var li = rec && rec.li;
    if (!li) return;
    if (form && li.contains(form)) endReply(); // the reply form goes back, with what was typed
    var hadFocus = li.contains(document.activeElement);
    if (hasVisibleReplies(li)) {
      var article = li.querySelector(":scope > article");
      var placeholder = el("article");
      placeholder.setAttribute("aria-labelledby", "comment-" + id + "-meta");
      var p = el("p", "comment-meta comment-placeholder", placeholderText(status));
      p.id = "comment-" + id + "-meta";
      placeholder.appendChild(p);
      li.replaceChild(placeholder, article);
      li.className = "comment comment-" + status;
      li.setAttribute("data-status", status);
    } else {
      var parentLi = li.parentNode && li.parentNode.closest ? li.parentNode.closest("li.comment") : null;
      var list = li.parentNode;
      list.removeChild(li);
      rec.li = null;
      if (list.classList.contains("replies") && !list.children.length) list.parentNode.removeChild(list);
      if (parentLi && parentLi.getAttribute("data-status") !== "published" && !hasVisibleReplies(parentLi)) {
        retire(parseInt(parentLi.getAttribute("data-comment-id"), 10), parentLi.getAttribute("data-status"));
      }
    }
    if (hadFocus) {
      heading.tabIndex = -1;
      heading.focus();
    }
  }

  function updateComment(li, c) {
    var old = li.querySelector(":scope > article");
    var article = buildArticle(c);
    // Whatever the reader has open on this comment (report, edit, withdraw) stays open.
    Array.prototype.forEach.call(old.querySelectorAll(":scope > .report-form, :scope > .report-thanks, :scope > .edit-form, :scope > .withdraw-confirm"), function (node) {
      article.appendChild(node);
      if (node.classList.contains("edit-form")) article.querySelector(".comment-body").hidden = true;
    });
    li.replaceChild(article, old);
    li.className = "comment";
    li.setAttribute("data-status", "published");
    enhance(li, c.id);
  }

  function insertRoot(li) {
    if (order === "oldest") {
      insertStable(function () { threadList.appendChild(li); }, threadList);
    } else {
      threadList.insertBefore(li, threadList.firstChild);
    }
  }

  function insertComment(c, li, own) {
    if (c.parent) {
      var parent = known[c.parent];
      if (!parent || !parent.li) return false; // its thread is on another page of comments
      var replies = parent.li.querySelector(":scope > ol.replies");
      insertStable(function () {
        if (!replies) {
          replies = el("ol", "replies");
          parent.li.appendChild(replies);
        }
        replies.appendChild(li);
      }, parent.li);
      return true;
    }
    if (order === "newest" && !own) {
      queued.push(li);
      showQueued();
      return true;
    }
    insertRoot(li);
    return true;
  }

  // "N conversations" above the thread follows the roots shown (English heading only).
  function recount() {
    var match = heading && heading.textContent.match(/^\s*\d+ conversations?\s*$/);
    if (!match) return;
    var n = threadList.children.length + queued.length;
    heading.textContent = n + (n === 1 ? " conversation" : " conversations");
  }

  function showQueued() {
    newButton.hidden = !queued.length;
    newButton.textContent = queued.length === 1 ? "1 new comment" : queued.length + " new comments";
  }

  newButton.addEventListener("click", function () {
    var first = null;
    queued.forEach(function (li) {
      threadList.insertBefore(li, threadList.firstChild);
      first = li;
    });
    queued = [];
    showQueued();
    if (first) {
      first.scrollIntoView({ block: "start" });
      first.focus();
    }
  });

  var emptyNote = section.querySelector(".thread-empty");

  // The one entry point for every comment the page learns about (event, backfill, own post).
  function upsert(c, how) {
    how = how || {};
    if (!c || typeof c.id !== "number") return;
    see(c.id);
    var rec = known[c.id];
    if (rec && rec.changedAt && c.changed_at) {
      var age = Date.parse(c.changed_at) - Date.parse(rec.changedAt);
      if (age < 0) return; // older news than what is shown
      // The same news twice (broadcast and backfill). Not for our own POST's answer: the
      // broadcast may come first, before the edit token is stored, so render again with it.
      if (age === 0 && rec.status === c.status && !how.own) return;
    }
    if (!rec) rec = known[c.id] = { li: null, status: null, changedAt: null, body: "" };
    rec.changedAt = c.changed_at || rec.changedAt;
    var wasPublished = rec.status === "published";
    rec.status = c.status;
    if (c.status !== "published") {
      var waiting = queued.indexOf(rec.li);
      if (waiting >= 0) {
        queued.splice(waiting, 1);
        showQueued();
        rec.li = null;
      }
      retire(c.id, c.status);
      recount();
      if (wasPublished) dispatch("feedback:comment-removed", { id: c.id });
      return;
    }
    rec.body = c.body;
    if (rec.li) {
      if (rec.li.getAttribute("data-status") === "published") {
        updateComment(rec.li, c);
        if (rec.li.contains(document.activeElement) === false && how.live) { /* edited quietly */ }
      } else {
        updateComment(rec.li, c); // restored by a moderator: the placeholder becomes the comment
      }
    } else {
      var li = buildComment(c);
      rec.li = li;
      enhance(li, c.id);
      if (!insertComment(c, li, how.own)) rec.li = null;
      else {
        if (emptyNote) emptyNote.hidden = true;
        recount();
        if (how.live && !how.own) {
          announce((c.parent ? "New reply from " : "New comment from ") + c.display_name + ".");
        }
      }
    }
    dispatch("feedback:comment", { comment: c, own: !!how.own });
  }

  function setCounts(id, counts) {
    var rec = known[id];
    if (!rec || !rec.li || !counts) return;
    ["agree", "disagree"].forEach(function (value) {
      var node = rec.li.querySelector(":scope > article .reaction-" + value + " .reaction-count");
      if (node && typeof counts[value] === "number") node.textContent = String(counts[value]);
    });
    dispatch("feedback:reactions", { id: id, reactions: counts });
  }

  // --- Controls on each comment -------------------------------------------------------------
  function ownRecord(id) {
    var own = recall("edit." + id);
    if (!own) return null;
    if (own.created && Date.now() - Date.parse(own.created) > editWindowMs) return null;
    return own;
  }

  function inlineErrors(container, errors) {
    Array.prototype.forEach.call(container.querySelectorAll(".inline-error"), function (node) { node.parentNode.removeChild(node); });
    var box = el("div", "inline-error");
    box.setAttribute("role", "alert");
    errors.forEach(function (error) { box.appendChild(el("p", "field-error", error.message)); });
    container.appendChild(box);
  }

  function enhance(li, id) {
    var article = li.querySelector(":scope > article");
    var line = article && article.querySelector(".comment-reactions");
    if (!line || line.getAttribute("data-enhanced")) return;
    line.setAttribute("data-enhanced", "1");
    var depth = parseInt(li.getAttribute("data-depth"), 10) || 0;
    var oldReply = line.querySelector("a.comment-reply");
    if (oldReply) line.removeChild(oldReply);
    if (!isOpen) return;

    var mine = recall("reaction." + id);
    ["agree", "disagree"].forEach(function (value) {
      var span = line.querySelector(".reaction-" + value);
      if (!span) return;
      var count = span.querySelector(".reaction-count");
      var control = button(value === "agree" ? "Agree " : "Disagree ", "reaction-button reaction-" + value);
      control.setAttribute("data-reaction", value);
      control.setAttribute("aria-pressed", mine === value ? "true" : "false");
      var countNode = el("span", "reaction-count", count ? count.textContent : "0");
      control.appendChild(countNode);
      line.replaceChild(control, span);
      control.addEventListener("click", function () { react(li, id, value, control); });
    });

    if (form && depth < maxDepth) {
      var reply = button("Reply", "comment-reply");
      reply.addEventListener("click", function () { startReply(li, id, reply); });
      line.appendChild(reply);
    }
    var report = button("Report", "comment-report");
    report.setAttribute("aria-expanded", "false");
    report.addEventListener("click", function () { toggleReport(li, id, report); });
    line.appendChild(report);

    if (ownRecord(id)) {
      var edit = button("Edit", "comment-edit");
      edit.addEventListener("click", function () { startEdit(li, id, edit); });
      var withdraw = button("Withdraw", "comment-withdraw");
      withdraw.addEventListener("click", function () { confirmWithdraw(li, id, withdraw); });
      line.appendChild(edit);
      line.appendChild(withdraw);
    }
  }

  function react(li, id, value, control) {
    var pressed = control.getAttribute("aria-pressed") === "true";
    var wanted = pressed ? null : value;
    control.disabled = true;
    api("POST", apiRoot + "comments/" + id + "/reactions/", { value: wanted }).then(function (result) {
      control.disabled = false;
      if (!result.ok) {
        inlineErrors(li.querySelector(":scope > article"), errorsOf(result));
        return;
      }
      store("reaction." + id, result.body.mine || null);
      Array.prototype.forEach.call(li.querySelectorAll(":scope > article .reaction-button"), function (b) {
        b.setAttribute("aria-pressed", b.getAttribute("data-reaction") === result.body.mine ? "true" : "false");
      });
      setCounts(id, result.body);
    }, function () {
      control.disabled = false;
      inlineErrors(li.querySelector(":scope > article"), [{ message: "You seem to be offline. Please try again." }]);
    });
  }

  function toggleReport(li, id, report) {
    var article = li.querySelector(":scope > article");
    var existing = article.querySelector(".report-form");
    if (existing) {
      article.removeChild(existing);
      report.setAttribute("aria-expanded", "false");
      report.focus();
      return;
    }
    var box = el("form", "report-form");
    box.noValidate = true;
    var fieldset = el("fieldset");
    fieldset.appendChild(el("legend", null, "Why should a moderator look at this comment?"));
    var selectId = "report-reason-" + id;
    var label = el("label", null, "Reason");
    label.htmlFor = selectId;
    var select = el("select");
    select.id = selectId;
    select.name = "reason";
    REASONS.forEach(function (reason) {
      var option = el("option", null, reason[1]);
      option.value = reason[0];
      select.appendChild(option);
    });
    var detailsId = "report-details-" + id;
    var detailsLabel = el("label", null, "Details (optional)");
    detailsLabel.htmlFor = detailsId;
    var details = el("textarea");
    details.id = detailsId;
    details.name = "details";
    details.rows = 2;
    details.maxLength = 1000;
    var send = el("button", null, "Send report");
    send.type = "submit";
    var cancel = button("Cancel", "button-secondary");
    fieldset.appendChild(label);
    fieldset.appendChild(select);
    fieldset.appendChild(detailsLabel);
    fieldset.appendChild(details);
    var actions = el("div", "form-actions");
    actions.appendChild(send);
    actions.appendChild(cancel);
    fieldset.appendChild(actions);
    box.appendChild(fieldset);
    article.appendChild(box);
    report.setAttribute("aria-expanded", "true");
    select.focus();
    cancel.addEventListener("click", function () { toggleReport(li, id, report); });
    box.addEventListener("submit", function (event) {
      event.preventDefault();
      send.disabled = true;
      api("POST", apiRoot + "comments/" + id + "/flags/", { reason: select.value, details: details.value }).then(function (result) {
        send.disabled = false;
        if (!result.ok) {
          inlineErrors(box, errorsOf(result));
          return;
        }
        var thanks = el("p", "report-thanks", "Thank you. A moderator will look at this comment.");
        thanks.setAttribute("role", "status");
        thanks.tabIndex = -1;
        article.replaceChild(thanks, box);
        report.setAttribute("aria-expanded", "false");
        report.disabled = true;
        thanks.focus();
      }, function () {
        send.disabled = false;
        inlineErrors(box, [{ message: "You seem to be offline. Please try again." }]);
      });
    });
  }

  function startEdit(li, id, edit) {
    var article = li.querySelector(":scope > article");
    if (article.querySelector(".edit-form")) return;
    var body = article.querySelector(".comment-body");
    var box = el("form", "edit-form");
    box.noValidate = true;
    var areaId = "edit-body-" + id;
    var label = el("label", null, "Edit your comment");
    label.htmlFor = areaId;
    var area = el("textarea");
    area.id = areaId;
    area.name = "body";
    area.rows = 4;
    area.maxLength = 5000;
    area.value = known[id] ? known[id].body : body.textContent;
    var save = el("button", null, "Save");
    save.type = "submit";
    var cancel = button("Cancel", "button-secondary");
    var actions = el("div", "form-actions");
    actions.appendChild(save);
    actions.appendChild(cancel);
    box.appendChild(label);
    box.appendChild(area);
    box.appendChild(actions);
    body.hidden = true;
    article.insertBefore(box, body.nextSibling);
    area.focus();
    cancel.addEventListener("click", function () {
      article.removeChild(box);
      body.hidden = false;
      edit.focus();
    });
    box.addEventListener("submit", function (event) {
      event.preventDefault();
      var own = recall("edit." + id) || {};
      save.disabled = true;
      api("PATCH", apiRoot + "comments/" + id + "/", { body: area.value }, own.token ? { "X-Edit-Token": own.token } : {}).then(function (result) {
        save.disabled = false;
        if (!result.ok) {
          area.setAttribute("aria-invalid", "true");
          inlineErrors(box, errorsOf(result));
          area.focus();
          return;
        }
        upsert(result.body, { own: true });
        announce("Your comment was saved.", true);
        var again = li.querySelector(":scope > article .comment-edit");
        if (again) again.focus();
      }, function () {
        save.disabled = false;
        inlineErrors(box, [{ message: "You seem to be offline. Please try again." }]);
      });
    });
  }

  function confirmWithdraw(li, id, withdraw) {
    var article = li.querySelector(":scope > article");
    if (article.querySelector(".withdraw-confirm")) return;
    var box = el("div", "withdraw-confirm");
    box.setAttribute("role", "group");
    box.setAttribute("aria-label", "Withdraw your comment");
    box.appendChild(el("p", null, "Withdraw this comment? It disappears for everyone."));
    var yes = button("Yes, withdraw it", "button-danger");
    var no = button("Keep it", "button-secondary");
    box.appendChild(yes);
    box.appendChild(no);
    article.appendChild(box);
    no.focus();
    no.addEventListener("click", function () {
      article.removeChild(box);
      withdraw.focus();
    });
    yes.addEventListener("click", function () {
      var own = recall("edit." + id) || {};
      yes.disabled = true;
      api("DELETE", apiRoot + "comments/" + id + "/", undefined, own.token ? { "X-Edit-Token": own.token } : {}).then(function (result) {
        yes.disabled = false;
        if (!result.ok) {
          inlineErrors(box, errorsOf(result));
          return;
        }
        store("edit." + id, null);
        upsert(result.body, { own: true });
        announce("Your comment was withdrawn.", true);
      }, function () {
        yes.disabled = false;
        inlineErrors(box, [{ message: "You seem to be offline. Please try again." }]);
      });
    });
  }

  // --- The comment form: post with fetch, errors next to their fields, replies inline ------
  var formHome = form ? { parent: form.parentNode, next: form.nextSibling } : null;
  var formHeading = form ? form.querySelector("h3") : null;
  var formHeadingText = formHeading ? formHeading.textContent : "";
  var replyingTo = null;
  var replyButton = null;
  var cancelReply = null;

  function parentInput() {
    var input = form.querySelector("input[name=parent]");
    if (!input) {
      input = el("input");
      input.type = "hidden";
      input.name = "parent";
      form.insertBefore(input, form.firstChild);
    }
    return input;
  }

  function startReply(li, id, trigger) {
    if (!form) return;
    var name = li.querySelector(":scope > article .comment-author");
    replyingTo = id;
    replyButton = trigger;
    parentInput().value = String(id);
    if (formHeading) formHeading.textContent = "Reply to " + (name ? name.textContent : "this comment");
    if (!cancelReply) {
      cancelReply = button("Cancel reply", "button-secondary cancel-reply");
      cancelReply.addEventListener("click", endReply);
    }
    var submit = form.querySelector("button[type=submit]");
    submit.parentNode.insertBefore(cancelReply, submit.nextSibling);
    var article = li.querySelector(":scope > article");
    li.insertBefore(form, article.nextSibling); // beside the comment, not inside what gets re-rendered
    form.classList.add("comment-form--reply");
    form.querySelector("textarea[name=body]").focus();
  }

  function endReply() {
    if (!form || replyingTo === null) return;
    var back = replyButton;
    replyingTo = null;
    replyButton = null;
    parentInput().value = "";
    if (formHeading) formHeading.textContent = formHeadingText;
    if (cancelReply && cancelReply.parentNode) cancelReply.parentNode.removeChild(cancelReply);
    formHome.parent.insertBefore(form, formHome.next);
    form.classList.remove("comment-form--reply");
    if (back && document.body.contains(back)) back.focus();
  }

  var FIELD_IDS = { body: "comment-body", display_name: "comment-display-name", category: "comment-category" };

  function clearFormErrors() {
    Array.prototype.forEach.call(form.querySelectorAll(".field-error, .form-errors"), function (node) { node.parentNode.removeChild(node); });
    Array.prototype.forEach.call(form.querySelectorAll(".has-error"), function (node) { node.classList.remove("has-error"); });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (node) {
      node.removeAttribute("aria-invalid");
      node.removeAttribute("aria-describedby");
    });
  }

  function showFormErrors(errors) {
    clearFormErrors();
    var general = [];
    var first = null;
    errors.forEach(function (error) {
      var fieldId = FIELD_IDS[error.field];
      var control = fieldId && form.querySelector("#" + fieldId);
      if (error.field === "geometry") {
        var anchor = form.querySelector("input[name=geometry]");
        var p = el("p", "field-error", error.message);
        p.id = "geometry-error";
        anchor.parentNode.insertBefore(p, anchor.nextSibling);
        dispatch("feedback:geometry-error", { message: error.message });
        if (!first) first = section.querySelector(".feedback-tools button") || p;
        return;
      }
      if (!control) {
        general.push(error.message);
        return;
      }
      var errorId = error.field.replace("_", "-") + "-error";
      var existing = form.querySelector("#" + errorId);
      if (existing) {
        existing.textContent += " " + error.message;
        return;
      }
      var message = el("p", "field-error", error.message);
      message.id = errorId;
      control.parentNode.appendChild(message);
      control.parentNode.classList.add("has-error");
      control.setAttribute("aria-invalid", "true");
      control.setAttribute("aria-describedby", errorId);
      if (!first) first = control;
    });
    if (general.length) {
      var box = el("div", "form-errors");
      box.setAttribute("role", "alert");
      general.forEach(function (text) { box.appendChild(el("p", null, text)); });
      form.insertBefore(box, formHeading ? formHeading.nextSibling : form.firstChild);
    }
    if (first) first.focus();
  }

  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var submit = form.querySelector("button[type=submit]");
      var payload = { body: form.elements.body.value };
      if (form.elements.display_name) payload.display_name = form.elements.display_name.value;
      if (form.elements.category && form.elements.category.value) payload.category = form.elements.category.value;
      var parent = form.querySelector("input[name=parent]");
      if (parent && parent.value) payload.parent = parseInt(parent.value, 10);
      var geometry = form.querySelector("input[name=geometry]");
      if (geometry && geometry.value) {
        try {
          payload.geometry = JSON.parse(geometry.value);
        } catch (error) {
          showFormErrors([{ field: "geometry", message: "The shape on the map could not be read. Place it again." }]);
          return;
        }
      }
      var website = form.elements.website;
      if (website && website.value) payload.website = website.value;
      submit.disabled = true;
      submit.setAttribute("aria-busy", "true");
      api("POST", commentsUrl, payload).then(function (result) {
        submit.disabled = false;
        submit.removeAttribute("aria-busy");
        if (!result.ok) {
          showFormErrors(errorsOf(result));
          return;
        }
        var c = result.body;
        clearFormErrors();
        store("edit." + c.id, { token: c.edit_token || null, created: c.created_at });
        form.elements.body.value = "";
        if (geometry) geometry.value = "";
        endReply();
        dispatch("feedback:posted", { comment: c });
        if (c.status === "published") {
          upsert(c, { own: true });
          var li = known[c.id] && known[c.id].li;
          announce("Your comment was posted.", true);
          if (li) {
            li.scrollIntoView({ block: "center" });
            li.focus();
          }
        } else {
          var note = el("p", "form-note posted-note", "Thank you. Your comment will appear once a moderator has read it.");
          note.setAttribute("role", "status");
          form.insertBefore(note, form.querySelector("button[type=submit]"));
        }
      }, function () {
        submit.disabled = false;
        submit.removeAttribute("aria-busy");
        showFormErrors([{ field: "", message: "You seem to be offline: your comment was not sent. Please try again." }]);
      });
    });
  }

  // --- Order toggle -------------------------------------------------------------------------
  function applyOrder(next, focusButton) {
    var roots = Array.prototype.slice.call(threadList.children);
    if (next !== order) {
      roots.reverse().forEach(function (li) { threadList.appendChild(li); });
      order = next;
      store("order", order);
    }
    if (order === "oldest" && queued.length) {
      queued.forEach(function (li) { threadList.appendChild(li); });
      queued = [];
      showQueued();
    }
    oldestButton.setAttribute("aria-pressed", order === "oldest" ? "true" : "false");
    newestButton.setAttribute("aria-pressed", order === "newest" ? "true" : "false");
    section.setAttribute("data-order", order);
    if (focusButton) focusButton.focus();
  }
  var rendered = order;
  order = "oldest"; // the server renders oldest first
  applyOrder(rendered);
  oldestButton.addEventListener("click", function () { applyOrder("oldest"); });
  newestButton.addEventListener("click", function () { applyOrder("newest"); });

  // --- Backfill and the socket --------------------------------------------------------------
  function getPage(query) {
    return api("GET", commentsUrl + "?" + query).then(function (result) {
      if (!result.ok) throw new Error("backfill answered " + result.status);
      return result.body;
    });
  }

  // New comments since lastId, following next_after; resolves the as_of of the first answer.
  function fetchNew() {
    var firstAsOf = null;
    function step(after, rounds) {
      return getPage("after=" + after + "&limit=200").then(function (page) {
        if (!firstAsOf) firstAsOf = page.as_of;
        page.items.forEach(function (c) { upsert(c, { live: true }); });
        if (page.has_more && page.next_after && rounds < 50) return step(page.next_after, rounds + 1);
        return firstAsOf;
      });
    }
    return step(lastId, 0);
  }

  function fetchChanged(since) {
    function step(from, rounds) {
      return getPage("changed_since=" + encodeURIComponent(from) + "&limit=200").then(function (page) {
        page.items.forEach(function (c) { upsert(c, { live: true }); });
        var tail = page.items[page.items.length - 1];
        if (page.has_more && tail && rounds < 50) return step(tail.changed_at, rounds + 1);
      });
    }
    return step(since, 0);
  }

  // Reaction counts are not in the change backfill: a returning page re-reads them.
  function refreshReactions() {
    function step(after, rounds) {
      return getPage("after=" + after + "&limit=200").then(function (page) {
        page.items.forEach(function (c) { setCounts(c.id, c.reactions); });
        if (page.has_more && page.next_after && rounds < 20) return step(page.next_after, rounds + 1);
      });
    }
    return step(0, 0);
  }

  var backfilling = null;
  function backfill(returning) {
    if (backfilling) return backfilling;
    var since = asOf;
    backfilling = fetchNew().then(function (roundAsOf) {
      return Promise.resolve(since ? fetchChanged(since) : null).then(function () {
        return returning ? refreshReactions() : null;
      }).then(function () {
        asOf = roundAsOf;
      });
    }).catch(function () {
      // Offline again: the next connection retries from the same point.
    }).then(function () {
      backfilling = null;
      section.setAttribute("data-backfilled", String(Date.now()));
    });
    return backfilling;
  }

  var socket = null;
  var attempts = 0;
  var connectedOnce = false;
  var retryTimer = null;
  var gone = false;

  function socketUrl() {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + data.wsPath;
  }

  function connect() {
    clearTimeout(retryTimer);
    if (gone || socket) return;
    if (liveState.getAttribute("data-state") !== "paused") setState(connectedOnce ? "reconnecting" : "connecting");
    var ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (error) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("open", function () {
      var returning = connectedOnce;
      attempts = 0;
      connectedOnce = true;
      setState("live");
      if (returning) announce("Live updates are back.", true);
      section.removeAttribute("data-was-paused");
      backfill(returning);
    });
    ws.addEventListener("message", function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (error) {
        return;
      }
      if (!message || typeof message !== "object") return;
      if (message.type === "comment.created" || message.type === "comment.updated") {
        upsert(message.comment, { live: true });
      } else if (message.type === "reactions.changed") {
        setCounts(message.comment, message.reactions);
      }
    });
    ws.addEventListener("close", function (event) {
      if (socket !== ws) return;
      socket = null;
      if (event.code === 4404) {
        gone = true;
        setState("offline", "Offline: this discussion is no longer available");
        return;
      }
      scheduleReconnect(event.code === 4503);
    });
  }

  // paused: the server closed with 4503 (live delivery unavailable); it answers HTTP, so keep
  // trying every few seconds rather than backing off to "offline". On the next open the page
  // backfills what it missed (?after= and ?changed_since=).
  function scheduleReconnect(paused) {
    attempts += 1;
    var delay = paused
      ? 3000 * (0.75 + Math.random() * 0.5)
      : Math.min(30000, 1000 * Math.pow(2, attempts - 1)) * (0.75 + Math.random() * 0.5);
    var offline = !paused && (navigator.onLine === false || attempts > 6);
    setState(paused ? "paused" : offline ? "offline" : "reconnecting");
    if (paused && section.getAttribute("data-was-paused") !== "1") {
      section.setAttribute("data-was-paused", "1");
      announce("Live updates paused. You can still post.", true);
    } else if (!paused && attempts === 1 && connectedOnce) announce("Connection lost. Reconnecting…", true);
    clearTimeout(retryTimer);
    retryTimer = setTimeout(connect, delay);
  }

  window.addEventListener("online", function () {
    attempts = 0;
    if (!socket) connect();
  });
  window.addEventListener("offline", function () {
    if (!socket) setState("offline");
  });

  // The edit window comes with the discussion; the default above matches the demo's.
  api("GET", discussionUrl).then(function (result) {
    if (result.ok && result.body && result.body.edit_window_seconds) {
      editWindowMs = result.body.edit_window_seconds * 1000;
    }
  }, function () {});

  window.CivicThread = { upsert: upsert, section: section };
  connect();
})();
