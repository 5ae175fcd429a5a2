/* medeval leaderboard: sortable tables, filters and search (state kept in the URL), pinned columns, the matrix's
   chance normalisation, the two-model comparison, copy buttons, plotly figures. No dependencies, no network. */
(function () {
  "use strict";

  // ---------------------------------------------------------------------------------------------- URL state
  // Every view setting lives in the query string (?terms.q=bge&board-terms.sort=4d), replaced in place, so a
  // copied address reopens the same view.
  function params() { return new URLSearchParams(window.location.search); }

  function setParam(key, value) {
    var p = params();
    if (value === null || value === undefined || value === "") p.delete(key); else p.set(key, value);
    var q = p.toString();
    var url = window.location.pathname + (q ? "?" + q : "") + window.location.hash;
    try { window.history.replaceState(null, "", url); } catch (e) { /* file:// in some browsers */ }
  }

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

  function sortTable(table, col, dir, remember) {
    var th = table.tHead.rows[0].cells[col];
    if (!th) return;
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
    if (remember && table.id) setParam(table.id + ".sort", col + (dir === 1 ? "a" : "d"));
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
        sortTable(table, col, dir, true);
      }
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); } });
    });
  }

  function restoreSort(table) {
    var s = table.id && params().get(table.id + ".sort");
    var m = s && /^(\d+)([ad])$/.exec(s);
    if (m) sortTable(table, parseInt(m[1], 10), m[2] === "a" ? 1 : -1, false);
  }

  // ---------------------------------------------------------------------------------------------- pinned columns
  // .mv-pin: Rank and Model stay in view while the table scrolls sideways (.mv-pin1: the first column only).
  function pin(table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head || !head.cells[0]) return;
    var two = table.classList.contains("mv-pin");
    var left = two ? head.cells[0].getBoundingClientRect().width : 0;
    Array.prototype.forEach.call(table.rows, function (row) {
      if (row.cells[0]) { row.cells[0].classList.add("mv-pinned"); row.cells[0].style.left = "0px"; }
      if (two && row.cells[1]) { row.cells[1].classList.add("mv-pinned", "mv-pinned-last"); row.cells[1].style.left = left + "px"; }
      else if (!two && row.cells[0]) row.cells[0].classList.add("mv-pinned-last");
    });
  }

  // ---------------------------------------------------------------------------------------------- filters
  function checked(form, name) {
    return Array.prototype.filter.call(form.querySelectorAll('input[name="' + name + '"]'), function (i) { return i.checked; })
      .map(function (i) { return i.value; });
  }

  function bordaRanks(data, keep, rowsWithData) {
    // mteb's Borda count over the kept tasks: per task average ranks (ties share them), n - rank points, totals
    // ranked best first with ties sharing the lowest rank ("min"). One sort per task: O(tasks x n log n).
    var n = rowsWithData.length, points = {};
    rowsWithData.forEach(function (i) { points[i] = 0; });
    data.tasks.forEach(function (t, j) {
      if (!keep[j]) return;
      var have = rowsWithData.filter(function (i) { return data.rows[i][j] !== null; })
        .map(function (i) { return { i: i, s: data.rows[i][j] }; })
        .sort(function (a, b) { return b.s - a.s; });
      for (var k = 0; k < have.length;) {
        var e = k;
        while (e + 1 < have.length && have[e + 1].s === have[k].s) e += 1;
        var rank = (k + e) / 2 + 1; // average of ranks k+1 .. e+1
        for (var m = k; m <= e; m++) points[have[m].i] += n - rank;
        k = e + 1;
      }
    });
    var order = rowsWithData.slice().sort(function (a, b) { return points[b] - points[a]; }), ranks = {};
    order.forEach(function (i, k) {
      ranks[i] = k > 0 && Math.abs(points[order[k - 1]] - points[i]) < 1e-9 ? ranks[order[k - 1]] : k + 1;
    });
    return ranks;
  }

  function initFilters(form) {
    var table = document.getElementById(form.getAttribute("data-board"));
    var dataEl = document.getElementById(form.getAttribute("data-data"));
    if (!table || !dataEl) return;
    var key = form.getAttribute("data-key") || table.id;
    var data = JSON.parse(dataEl.textContent);
    var head = table.tHead.rows[0];
    var selCols = [];
    Array.prototype.forEach.call(head.cells, function (th, i) { if (th.classList.contains("mv-sel")) selCols.push(i); });
    var status = form.querySelector(".mv-status");
    var typeBoxes = form.querySelectorAll('input[name="type"]'), sourceBoxes = form.querySelectorAll('input[name="source"]');
    var search = form.querySelector('input[name="q"]'), sizeSel = form.querySelector('select[name="size"]');
    var openBox = form.querySelector('input[name="open"]');

    // the URL's state first
    var p = params();
    function restoreBoxes(boxes, value) {
      if (value === null) return;
      var want = value === "" ? [] : value.split(",");
      Array.prototype.forEach.call(boxes, function (b) { b.checked = want.indexOf(b.value) >= 0; });
    }
    restoreBoxes(typeBoxes, p.get(key + ".type"));
    restoreBoxes(sourceBoxes, p.get(key + ".src"));
    if (search && p.get(key + ".q") !== null) search.value = p.get(key + ".q");
    if (sizeSel && p.get(key + ".size") !== null) sizeSel.value = p.get(key + ".size");
    if (openBox) openBox.checked = p.get(key + ".open") === "1";

    function remember(types, sources) {
      setParam(key + ".type", types.length < typeBoxes.length ? types.join(",") : null);
      setParam(key + ".src", sources.length < sourceBoxes.length ? sources.join(",") : null);
      setParam(key + ".q", search ? search.value.trim() : null);
      setParam(key + ".size", sizeSel ? sizeSel.value : null);
      setParam(key + ".open", openBox && openBox.checked ? "1" : null);
    }

    var cache = { sig: null, ranks: {} }; // the selection's ranks change with the task selection only, not the search

    function apply(save) {
      var types = checked(form, "type"), sources = checked(form, "source");
      var size = sizeSel ? sizeSel.value : "";
      var openOnly = openBox ? openBox.checked : false;
      var query = search ? search.value.trim().toLowerCase() : "";
      var narrowed = types.length < typeBoxes.length || sources.length < sourceBoxes.length;
      var keep = data.tasks.map(function (t) { return types.indexOf(t[1]) >= 0 && sources.indexOf(t[2]) >= 0; });
      var keepRanked = keep.map(function (k, j) { return k && (!data.ranked || data.ranked[j]); });
      var nSel = keep.filter(Boolean).length;
      var withData = [];
      data.rows.forEach(function (r, i) { if (r) withData.push(i); });
      var sig = keepRanked.join(","), ranks = {};
      if (narrowed) {
        if (cache.sig !== sig) { cache.sig = sig; cache.ranks = bordaRanks(data, keepRanked, withData); }
        ranks = cache.ranks;
      }
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var i = parseInt(row.getAttribute("data-row"), 10);
        var params_ = row.getAttribute("data-params");
        var visible = true;
        if (openOnly && row.getAttribute("data-open") !== "1") visible = false;
        if (size) {
          var p_ = parseFloat(params_), known = params_ !== null && params_ !== "" && !isNaN(p_);
          if (size === "unknown") { if (known) visible = false; }
          else {
            var lim = size.split("-");
            if (!known || p_ < parseFloat(lim[0]) || (lim[1] !== "" && p_ >= parseFloat(lim[1]))) visible = false;
          }
        }
        if (query && (row.getAttribute("data-name") || "").indexOf(query) < 0) visible = false;
        // a model with no result on the selected tasks drops out of a narrowed board
        var scores = data.rows[i], sum = 0, n = 0;
        if (scores) scores.forEach(function (s, j) { if (keep[j] && s !== null) { sum += s; n += 1; } });
        if (narrowed && n === 0) visible = false;
        if (selCols.length === 2) {
          var rc = row.cells[selCols[0]], mc = row.cells[selCols[1]];
          var rk = narrowed && ranks[i] !== undefined && n ? ranks[i] : null;
          rc.setAttribute("data-v", rk === null ? "" : String(rk));
          rc.textContent = rk === null ? "\u2014" : String(rk);
          mc.setAttribute("data-v", n ? String(sum / n) : "");
          mc.textContent = n ? (100 * sum / n).toFixed(2) : "\u2014";
          mc.title = n ? n + "/" + nSel + " selected tasks" : "";
        }
        row.hidden = !visible;
        if (visible) shown += 1;
      });
      table.classList.toggle("mv-narrowed", narrowed);
      if (status) {
        status.textContent = shown + " row(s) shown" + (narrowed ? "; Rank and Mean (selection) over " + nSel + " task(s)" : "");
      }
      if (save) remember(types, sources);
      pin(table);
    }
    form.addEventListener("change", function () { apply(true); });
    if (search) search.addEventListener("input", function () { apply(true); });
    apply(false);
  }

  // ---------------------------------------------------------------------------------------------- matrix
  function initMatrix(form) {
    var box = form.querySelector('input[name="norm"]');
    var tables = document.querySelectorAll("table.mv-table[id^='matrix-']");
    function apply(save) {
      var norm = box.checked;
      tables.forEach(function (table) {
        var chance = Array.prototype.map.call(table.tHead.rows[0].cells, function (th) {
          var c = th.getAttribute("data-chance");
          return c === null || c === "" ? null : parseFloat(c);
        });
        Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
          Array.prototype.forEach.call(row.cells, function (cell, j) {
            if (!cell.classList.contains("mv-cell")) return;
            if (!cell.hasAttribute("data-raw")) cell.setAttribute("data-raw", cell.getAttribute("data-v") || "");
            var raw = cell.getAttribute("data-raw"), s = raw === "" ? null : parseFloat(raw), v = s;
            if (norm) v = s === null || chance[j] === null || chance[j] >= 1 ? null : (s - chance[j]) / (1 - chance[j]);
            cell.setAttribute("data-v", v === null ? "" : String(v));
            cell.textContent = v === null ? "\u2014" : (100 * v).toFixed(2);
          });
        });
      });
      if (save) setParam("norm", norm ? "1" : null);
    }
    box.checked = params().get("norm") === "1";
    box.addEventListener("change", function () { apply(true); });
    apply(false);
  }

  // ---------------------------------------------------------------------------------------------- compare
  function mulberry32(seed) {
    return function () {
      seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
      var t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function pairedInterval(d) {
    // paired percentile bootstrap of the mean difference: 2000 draws, seed 42 (never depends on the names)
    var n = d.length, rnd = mulberry32(42 + n), means = [];
    if (n < 3) return null;
    for (var b = 0; b < 2000; b++) {
      var s = 0;
      for (var k = 0; k < n; k++) s += d[Math.floor(rnd() * n)];
      means.push(s / n);
    }
    means.sort(function (x, y) { return x - y; });
    return [means[Math.floor(0.025 * 1999)], means[Math.ceil(0.975 * 1999)]];
  }

  function initCompare(form) {
    var data = JSON.parse(document.getElementById(form.getAttribute("data-data")).textContent);
    var selA = form.querySelector('select[name="a"]'), selB = form.querySelector('select[name="b"]');
    var selBench = form.querySelector('select[name="bench"]');
    var table = document.getElementById("compare-table"), summary = document.getElementById("compare-summary");
    data.models.forEach(function (m, i) {
      [selA, selB].forEach(function (sel) {
        var o = document.createElement("option");
        o.value = String(i); o.textContent = m[0];
        sel.appendChild(o);
      });
    });
    data.benchmarks.forEach(function (b) {
      var o = document.createElement("option");
      o.value = b[0]; o.textContent = b[1];
      selBench.appendChild(o);
    });
    function byName(name) {
      for (var i = 0; i < data.models.length; i++) if (data.models[i][0] === name) return String(i);
      return null;
    }
    var p = params();
    if (data.models.length > 1) selB.value = "1";
    if (p.get("a") !== null && byName(p.get("a")) !== null) selA.value = byName(p.get("a"));
    if (p.get("b") !== null && byName(p.get("b")) !== null) selB.value = byName(p.get("b"));
    if (p.get("bench") !== null) selBench.value = p.get("bench");

    function fmt(x) { return x === null ? "\u2014" : (100 * x).toFixed(2); }
    function apply(save) {
      var a = parseInt(selA.value, 10), b = parseInt(selB.value, 10), bench = selBench.value;
      var body = table.tBodies[0];
      while (body.firstChild) body.removeChild(body.firstChild);
      if (isNaN(a) || isNaN(b)) return;
      var diffs = [], wins = 0, losses = 0;
      data.tasks.forEach(function (t, j) {
        if (bench && t[2] !== bench) return;
        var x = data.scores[a][j], y = data.scores[b][j];
        if (x === null && y === null) return;
        var tr = document.createElement("tr");
        var d = x !== null && y !== null ? x - y : null;
        if (d !== null) { diffs.push(d); if (d > 0) wins += 1; else if (d < 0) losses += 1; }
        [[t[0], t[0].toLowerCase(), "tasks/" + t[0] + ".html"], [t[1], t[1]], [fmt(x), x === null ? "" : String(x)],
         [fmt(y), y === null ? "" : String(y)], [fmt(d), d === null ? "" : String(d)]].forEach(function (c, k) {
          var td = document.createElement("td");
          td.setAttribute("data-v", c[1]);
          if (k >= 2) td.className = "num";
          if (c[2]) { var link = document.createElement("a"); link.href = c[2]; link.textContent = c[0]; td.appendChild(link); }
          else td.textContent = c[0];
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      var text;
      if (!diffs.length) text = "No task that both models ran.";
      else {
        var mean = diffs.reduce(function (s, v) { return s + v; }, 0) / diffs.length, ci = pairedInterval(diffs);
        text = "A \u2212 B over the " + diffs.length + " task(s) both ran: mean " + fmt(mean) +
          (ci ? " (paired 95% interval " + fmt(ci[0]) + " to " + fmt(ci[1]) + "; " +
            (ci[0] > 0 ? "A is better" : ci[1] < 0 ? "B is better" : "not separated") + ")" : " (too few tasks for an interval)") +
          "; A higher on " + wins + ", B higher on " + losses + ".";
      }
      summary.textContent = text;
      if (save) {
        setParam("a", data.models[a][0]); setParam("b", data.models[b][0]); setParam("bench", bench || null);
      }
      pin(table);
    }
    form.addEventListener("change", function () { apply(true); });
    apply(false);
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
  function dark() { return (document.body.getAttribute("data-md-color-scheme") || "") === "slate"; }

  function themed(layout, div) {
    var fg = getComputedStyle(document.body).getPropertyValue("--md-default-fg-color").trim() || (dark() ? "#e2e4e9" : "#222");
    var grid = dark() ? "rgba(255,255,255,0.15)" : "rgba(0,0,0,0.1)";
    var narrow = div.clientWidth < 600;
    var out = JSON.parse(JSON.stringify(layout));
    out.font = { color: fg };
    out.paper_bgcolor = "rgba(0,0,0,0)";
    out.plot_bgcolor = "rgba(0,0,0,0)";
    ["xaxis", "yaxis"].forEach(function (ax) { if (out[ax]) { out[ax].gridcolor = grid; out[ax].zerolinecolor = grid; } });
    if (out.polar) {
      out.polar.bgcolor = "rgba(0,0,0,0)";
      out.polar.radialaxis = Object.assign({}, out.polar.radialaxis, { gridcolor: grid });
      out.polar.angularaxis = Object.assign({}, out.polar.angularaxis, { gridcolor: grid });
    }
    if (narrow) {
      // phone: legend under the plot, and room for it
      out.legend = Object.assign({}, out.legend, { orientation: "h", y: -0.25, x: 0, yanchor: "top" });
      out.margin = { l: 40, r: 10, t: 30, b: 40 };
      out.height = (out.height || 460) + 40 + 18 * Math.min(12, (div._mvTraces || 0));
    }
    return out;
  }

  function initFigure(div) {
    var src = document.getElementById(div.getAttribute("data-figure"));
    if (!src || typeof window.Plotly === "undefined") return;
    var fig = JSON.parse(src.textContent);
    div._mvTraces = (fig.data || []).length;
    window.Plotly.newPlot(div, fig.data, themed(fig.layout, div), { responsive: true, displaylogo: false });
    new MutationObserver(function () { window.Plotly.relayout(div, themed(fig.layout, div)); })
      .observe(document.body, { attributes: true, attributeFilter: ["data-md-color-scheme"] });
  }

  function init() {
    document.querySelectorAll("table.mv-sortable").forEach(initSortable);
    document.querySelectorAll("form.mv-filters").forEach(initFilters);
    document.querySelectorAll("form.mv-matrix-opts").forEach(initMatrix);
    document.querySelectorAll("form.mv-compare").forEach(initCompare);
    document.querySelectorAll("table.mv-sortable").forEach(restoreSort);
    document.querySelectorAll("table.mv-pin, table.mv-pin1").forEach(pin);
    window.addEventListener("resize", function () { document.querySelectorAll("table.mv-pin, table.mv-pin1").forEach(pin); });
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
