// The comparison page and pick-to-compare. Self-hosted, no dependencies; works offline.
//
// Compare page: sort by any column (numbers as numbers), filter by several values of each
// facet (task, scene, SKU level, licence group, access), a year range and a name; each
// option shows how many rows it would leave, and options that would leave none are hidden.
// The whole state (filters, sort, picks) is the address: ?task=detection,counting&from=2015
// &sort=images&dir=descending&pick=rpc,sku-110k, pushed on every change, so a view can be
// shared, reloaded and restored with Back.
//
// Pick-to-compare: tick 2-4 rows (or "Add to comparison" on a dataset page; the picks are
// kept in localStorage between pages) and the facts of assets/compare-facts.json are laid
// side by side. Data is inserted with textContent only, never as HTML.
(function () {
  "use strict";
  var FACETS = ["task", "scene", "sku", "licence", "access"];
  var STORE = "sku-survey:picks";
  var DEFAULT_MAX = 4;

  function all(root, selector) { return Array.prototype.slice.call(root.querySelectorAll(selector)); }
  function el(name, attrs, text) {
    var node = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function norm(s) { return String(s || "").toLowerCase().replace(/[\s\-_.]+/g, ""); }
  function ids(list) {
    var out = [];
    list.forEach(function (x) { if (/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(x) && out.indexOf(x) === -1) out.push(x); });
    return out;
  }

  function storedPicks() {
    try { return ids(JSON.parse(localStorage.getItem(STORE) || "[]")); } catch (e) { return []; }
  }
  function storePicks(picks) {
    try { localStorage.setItem(STORE, JSON.stringify(picks)); } catch (e) { /* private mode: the address still names them */ }
  }

  // ------------------------------------------------------------ state <-> address

  function readState(search) {
    var params = new URLSearchParams(search);
    var state = { from: params.get("from") || "", to: params.get("to") || "", q: params.get("q") || "",
      sort: params.get("sort") || "", dir: params.get("dir") || "", pick: null };
    FACETS.forEach(function (f) { state[f] = (params.get(f) || "").split(",").filter(Boolean); });
    if (params.has("pick")) state.pick = ids((params.get("pick") || "").split(","));
    return state;
  }
  function address(state) {
    var params = new URLSearchParams();
    FACETS.forEach(function (f) { if (state[f].length) params.set(f, state[f].join(",")); });
    ["from", "to", "q", "sort", "dir"].forEach(function (k) { if (state[k]) params.set(k, state[k]); });
    if (state.pick && state.pick.length) params.set("pick", state.pick.join(","));
    var query = params.toString().replace(/%2C/g, ",");
    return location.pathname + (query ? "?" + query : "") + location.hash;
  }

  // ------------------------------------------------------------ compare page

  function initCompare(table) {
    var tbody = table.tBodies[0];
    var original = Array.prototype.slice.call(tbody.rows);
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var form = document.querySelector("form[data-compare-filters]");
    var counter = form && form.querySelector("[data-compare-count]");
    var view = document.querySelector("[data-pick-view]");
    var collator = new Intl.Collator(document.documentElement.lang || undefined, { numeric: true, sensitivity: "base" });
    var state = readState(location.search);
    if (state.pick === null) state.pick = storedPicks();
    var max = view ? Number(view.getAttribute("data-max")) || DEFAULT_MAX : DEFAULT_MAX;
    state.pick = state.pick.slice(0, max);
    history.replaceState(null, "", address(state));
    if (form) form.hidden = false;

    function rowValues(row, facet) { return (row.getAttribute("data-" + facet) || "").split(" "); }
    function matches(row, except) {
      for (var i = 0; i < FACETS.length; i++) {
        var f = FACETS[i];
        if (f === except || !state[f].length) continue;
        var values = rowValues(row, f);
        if (!state[f].some(function (v) { return values.indexOf(v) !== -1; })) return false;
      }
      var year = Number(row.getAttribute("data-year"));
      if (state.from && year < Number(state.from)) return false;
      if (state.to && year > Number(state.to)) return false;
      if (state.q && norm(row.getAttribute("data-names")).indexOf(norm(state.q)) === -1) return false;
      return true;
    }

    function sortRows() {
      var index = -1, numeric = false;
      headers.forEach(function (th, i) {
        var button = th.querySelector("button[data-sort]");
        var on = button && button.getAttribute("data-key") === state.sort;
        th.setAttribute("aria-sort", on ? (state.dir === "ascending" ? "ascending" : "descending") : "none");
        if (on) { index = i; numeric = button.getAttribute("data-sort") === "number"; }
      });
      var rows = original.slice();
      if (index !== -1) {
        var sign = state.dir === "ascending" ? 1 : -1;
        rows.sort(function (a, b) {
          var va = a.cells[index].getAttribute("data-value") || "", vb = b.cells[index].getAttribute("data-value") || "";
          if (numeric) {
            if (va === "" && vb === "") return 0;
            if (va === "") return 1; // unknown values always sort last
            if (vb === "") return -1;
            return sign * (Number(va) - Number(vb));
          }
          return sign * collator.compare(va, vb);
        });
      }
      rows.forEach(function (row) { tbody.appendChild(row); });
    }

    function filterRows() {
      var shown = 0;
      original.forEach(function (row) {
        var ok = matches(row, null);
        row.hidden = !ok;
        if (ok) shown += 1;
      });
      if (counter) {
        counter.textContent = counter.getAttribute("data-label") + " " + shown + " / " + original.length + " " + counter.getAttribute("data-unit");
      }
      if (!form) return;
      FACETS.forEach(function (f) {
        var left = original.filter(function (row) { return matches(row, f); });
        all(form, "fieldset[data-facet='" + f + "'] label[data-option]").forEach(function (label) {
          var value = label.getAttribute("data-option");
          var n = left.filter(function (row) { return rowValues(row, f).indexOf(value) !== -1; }).length;
          var box = label.querySelector("input");
          label.querySelector("[data-count]").textContent = String(n);
          label.hidden = n === 0 && !box.checked; // an option that would show nothing is not offered
        });
      });
    }

    function showForm() {
      if (!form) return;
      FACETS.forEach(function (f) {
        all(form, "input[name='" + f + "']").forEach(function (box) { box.checked = state[f].indexOf(box.value) !== -1; });
      });
      ["from", "to", "q"].forEach(function (k) {
        var input = form.elements.namedItem(k);
        if (input && input.value !== state[k]) input.value = state[k];
      });
    }

    function render() {
      showForm();
      sortRows();
      filterRows();
      showPicks();
    }

    function commit(push) {
      var url = address(state);
      if (url !== location.pathname + location.search + location.hash) {
        if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
      }
      render();
    }

    headers.forEach(function (th) {
      var button = th.querySelector("button[data-sort]");
      if (!button) return;
      button.addEventListener("click", function () {
        var key = button.getAttribute("data-key");
        var numeric = button.getAttribute("data-sort") === "number";
        if (state.sort !== key) {
          state.sort = key; // numbers start with the largest first, text with A first
          state.dir = numeric ? "descending" : "ascending";
        } else {
          state.dir = state.dir === "ascending" ? "descending" : "ascending";
        }
        commit(true);
      });
    });

    if (form) {
      form.addEventListener("change", function (event) {
        var target = event.target;
        if (FACETS.indexOf(target.name) !== -1) {
          state[target.name] = all(form, "input[name='" + target.name + "']:checked").map(function (b) { return b.value; });
        } else if (target.name === "from" || target.name === "to" || target.name === "q") {
          state[target.name] = target.value.trim();
        }
        commit(true);
      });
      form.addEventListener("input", function (event) {
        // typing: follow each key, one history entry for the whole word (pushed on change)
        if (event.target.name === "q") { state.q = event.target.value.trim(); commit(false); }
      });
      form.addEventListener("submit", function (event) { event.preventDefault(); });
      form.addEventListener("reset", function (event) {
        event.preventDefault();
        FACETS.forEach(function (f) { state[f] = []; });
        state.from = state.to = state.q = state.sort = state.dir = "";
        commit(true);
      });
    }

    window.addEventListener("popstate", function () {
      var next = readState(location.search);
      next.pick = next.pick || [];
      state = next;
      storePicks(state.pick);
      render();
    });

    // -------------------------------------------------------- picks

    var boxes = {};
    original.forEach(function (row) {
      var id = row.getAttribute("data-id");
      var cell = row.cells[0];
      var box = el("input", { type: "checkbox", "class": "pick-box", "data-pick": id });
      box.setAttribute("aria-label", (view ? view.getAttribute("data-box") : "") + ": " + row.getAttribute("data-name"));
      box.addEventListener("change", function () {
        var picks = state.pick.filter(function (x) { return x !== id; });
        if (box.checked) picks.push(id);
        state.pick = picks.slice(0, max);
        storePicks(state.pick);
        commit(true);
      });
      cell.insertBefore(box, cell.firstChild);
      boxes[id] = box;
    });

    var facts = null;
    function loadFacts() {
      if (!facts && view) {
        facts = fetch(view.getAttribute("data-facts"), { credentials: "same-origin" }).then(function (r) {
          if (!r.ok) throw new Error("facts: " + r.status);
          return r.json();
        });
      }
      return facts;
    }

    function showPicks() {
      Object.keys(boxes).forEach(function (id) {
        var box = boxes[id];
        box.checked = state.pick.indexOf(id) !== -1;
        box.disabled = !box.checked && state.pick.length >= max;
      });
      if (!view) return;
      view.hidden = false;
      var status = view.querySelector("[data-pick-status]");
      var tableNode = view.querySelector("[data-pick-table]");
      var clear = view.querySelector("[data-pick-clear]");
      clear.hidden = state.pick.length === 0;
      var known = state.pick.filter(function (id) { return boxes[id]; });
      var unknown = state.pick.filter(function (id) { return !boxes[id]; });
      var message = known.length === 0 ? view.getAttribute("data-hint")
        : known.length === 1 ? view.getAttribute("data-more")
        : known.length >= max ? view.getAttribute("data-full") : "";
      if (unknown.length) message = (message ? message + " " : "") + view.getAttribute("data-missing") + ": " + unknown.join(", ");
      status.textContent = message;
      status.hidden = !message;
      while (tableNode.firstChild) tableNode.removeChild(tableNode.firstChild);
      if (known.length < 2) return;
      var wanted = known.join(",");
      loadFacts().then(function (data) {
        if (state.pick.filter(function (id) { return boxes[id]; }).join(",") !== wanted) return; // changed meanwhile
        drawPicks(tableNode, data, known);
      });
    }

    function drawPicks(tableNode, data, picked) {
      var root = new URL("../", new URL(view.getAttribute("data-facts"), location.href));
      var head = el("thead"), tr = el("tr");
      picked.forEach(function (id, i) {
        var d = data.datasets[id];
        var th = el("th", { scope: "col", id: "pick-col-" + i });
        th.appendChild(el("a", { href: new URL(d.page, root).href }, d.name));
        var remove = el("button", { type: "button", "class": "pick-remove", "aria-label": view.getAttribute("data-remove") + ": " + d.name, title: view.getAttribute("data-remove") }, "×");
        remove.addEventListener("click", function () {
          state.pick = state.pick.filter(function (x) { return x !== id; });
          storePicks(state.pick);
          commit(true);
        });
        th.appendChild(document.createTextNode(" "));
        th.appendChild(remove);
        tr.appendChild(th);
      });
      head.appendChild(tr);
      tableNode.appendChild(head);
      var body = el("tbody");
      data.rows.forEach(function (row, k) {
        // the label on a row of its own above the values: 2-4 columns stay readable on a phone
        var labelRow = el("tr", { "class": "pick-label" });
        labelRow.appendChild(el("th", { colspan: String(picked.length), id: "pick-row-" + k }, row.label));
        body.appendChild(labelRow);
        var values = el("tr", { "data-fact": row.key });
        picked.forEach(function (id, i) {
          var td = el("td", { headers: "pick-row-" + k + " pick-col-" + i });
          (data.datasets[id].facts[row.key] || []).forEach(function (line) {
            var div = el("div");
            if (Array.isArray(line) && /^https?:\/\//.test(line[1])) {
              div.appendChild(el("a", { href: line[1] }, line[0]));
            } else {
              div.textContent = Array.isArray(line) ? line[0] : line;
            }
            td.appendChild(div);
          });
          values.appendChild(td);
        });
        body.appendChild(values);
      });
      tableNode.appendChild(body);
    }

    if (view) {
      view.querySelector("[data-pick-clear]").addEventListener("click", function () {
        state.pick = [];
        storePicks(state.pick);
        commit(true);
      });
    }
    storePicks(state.pick);
    render();
  }

  // ------------------------------------------------------------ dataset page

  function initPickControl(control) {
    var id = control.getAttribute("data-id");
    var max = Number(control.getAttribute("data-max")) || DEFAULT_MAX;
    var button = el("button", { type: "button", "class": "md-button", "data-pick-toggle": "" });
    var link = el("a", { "class": "md-button md-button--primary", "data-pick-go": "" });
    control.appendChild(button);
    control.appendChild(document.createTextNode(" "));
    control.appendChild(link);
    function show() {
      var picks = storedPicks();
      var on = picks.indexOf(id) !== -1;
      button.textContent = control.getAttribute(on ? "data-remove" : "data-add");
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.disabled = !on && picks.length >= max;
      link.hidden = picks.length === 0;
      link.textContent = control.getAttribute("data-go") + " (" + picks.length + ")";
      link.href = control.getAttribute("data-compare") + "?pick=" + picks.join(",");
    }
    button.addEventListener("click", function () {
      var picks = storedPicks().filter(function (x) { return x !== id; });
      if (button.getAttribute("aria-pressed") !== "true") picks.push(id);
      storePicks(picks.slice(0, max));
      show();
    });
    window.addEventListener("storage", show);
    window.addEventListener("pageshow", show);
    control.hidden = false;
    show();
  }

  function init() {
    var table = document.querySelector("table[data-compare]");
    if (table) initCompare(table);
    all(document, "[data-pick-control]").forEach(initPickControl);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
