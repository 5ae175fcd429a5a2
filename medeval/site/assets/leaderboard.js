/* medeval leaderboard: sortable tables, filters, copy buttons, plotly figures. No dependencies, no network. */
(function () {
  "use strict";

  // ---------------------------------------------------------------------------------------------- sorting
  function cellValue(row, col, kind) {
    var cell = row.cells[col];
    if (!cell) return null;
    var v = cell.getAttribute("data-v");
    if (v === null) v = cell.textContent.trim();
    if (v === "" || v === "\u2014") return null;
    if (kind === "text") return v.toLowerCase();
    var x = parseFloat(v);
    return isNaN(x) ? null : x;
  }

  function sortTable(table, col, dir) {
    var th = table.tHead.rows[0].cells[col];
    var kind = th.getAttribute("data-kind") || "text";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (r, i) {
      return { row: r, v: cellValue(r, col, kind), i: i };
    });
    rows.sort(function (a, b) {
      if (a.v === null && b.v === null) return a.i - b.i;
      if (a.v === null) return 1; // missing values always last
      if (b.v === null) return -1;
      var c = a.v < b.v ? -1 : a.v > b.v ? 1 : 0;
      return c !== 0 ? c * dir : a.i - b.i;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
  }

  function initSortable(table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) return;
    Array.prototype.forEach.call(head.cells, function (th, col) {
      th.tabIndex = 0;
      th.classList.add("mv-sort");
      function go() {
        var kind = th.getAttribute("data-kind") || "text";
        var current = th.getAttribute("aria-sort");
        var first = kind === "num" ? -1 : 1; // scores: best (highest) first; ranks and text: ascending
        var dir = current === null ? first : (current === "ascending" ? -1 : 1);
        sortTable(table, col, dir);
      }
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
  }

  // ---------------------------------------------------------------------------------------------- filters
  function checked(form, name) {
    return Array.prototype.filter.call(form.querySelectorAll('input[name="' + name + '"]'), function (i) { return i.checked; })
      .map(function (i) { return i.value; });
  }

  function initFilters(form) {
    var table = document.getElementById(form.getAttribute("data-board"));
    var dataEl = document.getElementById(form.getAttribute("data-data"));
    if (!table || !dataEl) return;
    var data = JSON.parse(dataEl.textContent);
    var head = table.tHead.rows[0];
    var selCol = -1;
    Array.prototype.forEach.call(head.cells, function (th, i) { if (th.classList.contains("mv-sel")) selCol = i; });
    var status = form.querySelector(".mv-status");
    var allTypes = form.querySelectorAll('input[name="type"]').length;
    var allSources = form.querySelectorAll('input[name="source"]').length;

    function apply() {
      var types = checked(form, "type"), sources = checked(form, "source");
      var size = form.querySelector('select[name="size"]').value;
      var openOnly = form.querySelector('input[name="open"]').checked;
      var showReported = form.querySelector('input[name="reported"]').checked;
      var narrowed = types.length < allTypes || sources.length < allSources;
      var keep = data.tasks.map(function (t) { return types.indexOf(t[1]) >= 0 && sources.indexOf(t[2]) >= 0; });
      var nSel = keep.filter(Boolean).length;
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var i = parseInt(row.getAttribute("data-row"), 10);
        var reported = row.getAttribute("data-reported") === "1";
        var params = row.getAttribute("data-params");
        var visible = true;
        if (reported && !showReported) visible = false;
        if (openOnly && row.getAttribute("data-open") !== "1") visible = false;
        if (size) {
          if (size === "unknown") { if (params !== "") visible = false; }
          else {
            var lim = size.split("-"), p = parseFloat(params);
            if (params === "" || isNaN(p) || p < parseFloat(lim[0]) || (lim[1] !== "" && p >= parseFloat(lim[1]))) visible = false;
          }
        }
        // a model with no result on the selected tasks drops out of a narrowed board
        var scores = data.rows[i], sum = 0, n = 0;
        if (scores) scores.forEach(function (s, j) { if (keep[j] && s !== null) { sum += s; n += 1; } });
        if (narrowed && (reported || n === 0)) visible = false;
        if (selCol >= 0) {
          var cell = row.cells[selCol];
          cell.setAttribute("data-v", n ? String(sum / n) : "");
          cell.textContent = n ? (100 * sum / n).toFixed(2) : "\u2014";
          cell.title = n ? n + "/" + nSel + " selected tasks" : "";
        }
        row.hidden = !visible;
        if (visible) shown += 1;
      });
      table.classList.toggle("mv-narrowed", narrowed);
      if (status) {
        status.textContent = shown + " row(s) shown" + (narrowed ? "; Mean (selection) over " + nSel + " task(s)" : "");
      }
    }
    form.addEventListener("change", apply);
    apply();
  }

  // ---------------------------------------------------------------------------------------------- copy buttons
  function copyText(text, done) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text, done); });
    } else {
      fallbackCopy(text, done);
    }
  }

  function fallbackCopy(text, done) {
    var ta = document.createElement("textarea");
    ta.value = text;
    ta.setAttribute("readonly", "");
    ta.style.position = "absolute";
    ta.style.left = "-9999px";
    document.body.appendChild(ta);
    ta.select();
    try { document.execCommand("copy"); done(); } catch (e) { /* nothing else to try */ }
    document.body.removeChild(ta);
  }

  function initCopy(button) {
    button.addEventListener("click", function () {
      // the text of the <pre> next to the button (Material renames ids of code blocks, so none are used)
      var box = button.closest(".mv-bib");
      var target = box && box.querySelector("pre");
      if (!target) return;
      var label = button.textContent;
      copyText(target.textContent, function () {
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  }

  // ---------------------------------------------------------------------------------------------- figures
  function initFigure(div) {
    var src = document.getElementById(div.getAttribute("data-figure"));
    if (!src || typeof window.Plotly === "undefined") return;
    var fig = JSON.parse(src.textContent);
    window.Plotly.newPlot(div, fig.data, fig.layout, { responsive: true, displaylogo: false });
  }

  function init() {
    document.querySelectorAll("table.mv-sortable").forEach(initSortable);
    document.querySelectorAll("form.mv-filters").forEach(initFilters);
    document.querySelectorAll("button.mv-copy").forEach(initCopy);
    document.querySelectorAll("div.mv-figure").forEach(initFigure);
    document.documentElement.setAttribute("data-mv-ready", "1");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
