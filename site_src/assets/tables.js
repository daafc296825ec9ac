// Wide tables: show the "scroll sideways" hint above a table only while it is wider than its
// box (the shadows at its edges say so too, without script). Self-hosted, no dependencies.
(function () {
  "use strict";
  function update() {
    Array.prototype.forEach.call(document.querySelectorAll(".table-scroll"), function (box) {
      var hint = box.previousElementSibling;
      if (hint && hint.classList.contains("scroll-hint")) {
        hint.hidden = box.scrollWidth <= box.clientWidth + 1;
      }
    });
    // Material wraps Markdown tables in a scrolling box; one that scrolls must be reachable
    // by keyboard (WCAG 2.1.1), so it joins the tab order while it scrolls
    Array.prototype.forEach.call(document.querySelectorAll(".md-typeset__scrollwrap"), function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
      } else {
        box.removeAttribute("tabindex");
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", update);
  } else {
    update();
  }
  window.addEventListener("resize", update);
})();
