// Comparison table: sort by any column (numbers as numbers) and filter by task, scene,
// SKU level, licence, access and year. Self-hosted, no dependencies; works offline.
(function () {
  "use strict";
  function init() {
    var table = document.querySelector("table[data-compare]");
    if (!table) return;
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var form = document.querySelector("form[data-compare-filters]");
    var counter = form && form.querySelector("[data-compare-count]");
    var collator = new Intl.Collator(document.documentElement.lang || undefined, { numeric: true, sensitivity: "base" });

    function cellValue(row, index) {
      var cell = row.cells[index];
      return cell.getAttribute("data-value") || "";
    }

    headers.forEach(function (th, index) {
      var button = th.querySelector("button[data-sort]");
      if (!button) return;
      button.addEventListener("click", function () {
        var numeric = button.getAttribute("data-sort") === "number";
        var current = th.getAttribute("aria-sort");
        // numbers start with the largest first, text with A first
        var direction = current === "none" ? (numeric ? "descending" : "ascending") : (current === "ascending" ? "descending" : "ascending");
        headers.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", direction);
        var sign = direction === "ascending" ? 1 : -1;
        rows.sort(function (a, b) {
          var va = cellValue(a, index), vb = cellValue(b, index);
          if (numeric) {
            // unknown values always sort last
            if (va === "" && vb === "") return 0;
            if (va === "") return 1;
            if (vb === "") return -1;
            return sign * (Number(va) - Number(vb));
          }
          return sign * collator.compare(va, vb);
        });
        rows.forEach(function (row) { tbody.appendChild(row); });
      });
    });

    function applyFilters() {
      if (!form) return;
      var shown = 0;
      var wanted = {};
      Array.prototype.forEach.call(form.querySelectorAll("select"), function (select) {
        if (select.value) wanted[select.name] = select.value;
      });
      rows.forEach(function (row) {
        var ok = Object.keys(wanted).every(function (name) {
          var values = (row.getAttribute("data-" + name) || "").split(" ");
          return values.indexOf(wanted[name]) !== -1;
        });
        row.hidden = !ok;
        if (ok) shown += 1;
      });
      if (counter) counter.textContent = shown + " / " + rows.length;
    }

    if (form) {
      form.addEventListener("change", applyFilters);
      form.addEventListener("reset", function () { setTimeout(applyFilters, 0); });
      applyFilters();
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
