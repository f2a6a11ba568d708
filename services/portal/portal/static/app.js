// Enhancements only: every flow works without this file.
(function () {
  "use strict";
  var form = document.getElementById("initiative-form");

  // A draft survives a lost connection or a closed tab: kept on this device until sent.
  if (form && window.localStorage) {
    var key = "sangkien-draft-" + form.getAttribute("data-draft");
    var skip = { csrf_token: 1, idempotency_key: 1 };
    var saved = null;
    try { saved = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
    var hasErrors = !!document.getElementById("error-summary");
    if (saved && !hasErrors) {
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || skip[el.name] || !(el.name in saved)) return;
        if (el.type === "checkbox") el.checked = saved[el.name] === "on";
        else el.value = saved[el.name];
      });
    }
    var save = function () {
      var data = {};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || skip[el.name] || el.type === "submit") return;
        data[el.name] = el.type === "checkbox" ? (el.checked ? "on" : "") : el.value;
      });
      try { localStorage.setItem(key, JSON.stringify(data)); } catch (e) { /* storage full: the form still works */ }
    };
    form.addEventListener("input", save);
    form.addEventListener("change", save);

    // Co-author rows beyond the first wait behind a button until needed.
    var rows = form.querySelectorAll(".author-row");
    var empty = function (row) {
      return Array.prototype.every.call(row.querySelectorAll("input"), function (i) { return !i.value; });
    };
    var hidden = [];
    for (var i = 1; i < rows.length; i++) {
      if (empty(rows[i]) && !rows[i].querySelector(".field-error")) { rows[i].hidden = true; hidden.push(rows[i]); }
    }
    if (hidden.length) {
      var add = document.createElement("button");
      add.type = "button";
      add.className = "secondary";
      add.textContent = document.documentElement.lang === "en" ? "Add a co-author" : "Thêm đồng tác giả";
      add.addEventListener("click", function () {
        var next = hidden.shift();
        if (next) { next.hidden = false; next.querySelector("input").focus(); }
        if (!hidden.length) add.hidden = true;
      });
      rows[rows.length - 1].parentNode.appendChild(add);
    }
  }
  var sent = document.querySelector("[data-clear-draft]");
  if (sent && window.localStorage) {
    try { localStorage.removeItem("sangkien-draft-new"); } catch (e) { /* nothing kept */ }
    Object.keys(localStorage).forEach(function (k) { if (k.indexOf("sangkien-draft-resubmit-") === 0) localStorage.removeItem(k); });
  }

  // Upload with a progress bar; the answer page replaces the result section.
  var bulk = document.getElementById("bulk-form");
  if (bulk && window.FormData && window.XMLHttpRequest) {
    bulk.addEventListener("submit", function (event) {
      event.preventDefault();
      var box = document.getElementById("bulk-progress");
      var bar = document.getElementById("bulk-bar");
      var pct = document.getElementById("bulk-percent");
      box.hidden = false;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", bulk.action);
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) { var p = Math.round(100 * e.loaded / e.total); bar.value = p; pct.textContent = p + "%"; }
      });
      xhr.addEventListener("load", function () {
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var main = doc.getElementById("main");
        if (main) { document.getElementById("main").innerHTML = main.innerHTML; }
        var result = document.getElementById("bulk-result") || document.getElementById("main");
        result.setAttribute("tabindex", "-1");
        result.focus();
      });
      xhr.addEventListener("error", function () { bulk.submit(); });
      xhr.send(new FormData(bulk));
    });
  }

  // The live ranking refreshes itself; a hidden tab waits, so phones do not spend data on it.
  var ranking = document.getElementById("ranking");
  if (ranking && window.fetch) {
    setInterval(function () {
      if (document.hidden) return;
      ranking.setAttribute("aria-busy", "true");
      fetch(ranking.getAttribute("data-refresh"), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html) ranking.innerHTML = html; })
        .catch(function () { /* offline: keep the last table */ })
        .then(function () { ranking.setAttribute("aria-busy", "false"); });
    }, 30000);
  }
  // Only the fields of the chosen scope show (without this file they all show; the portal sends only the chosen one).
  var scope = document.getElementById("scope");
  if (scope) {
    var showScope = function () {
      Array.prototype.forEach.call(document.querySelectorAll("[data-scope]"), function (field) {
        field.hidden = field.getAttribute("data-scope") !== scope.value;
      });
    };
    scope.addEventListener("change", showScope);
    showScope();
  }
})();
