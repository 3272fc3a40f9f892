// hone's dashboard: highlight code when a page loads and whenever htmx swaps a part in.
(function () {
  function highlight(root) {
    if (!window.hljs) return;
    root.querySelectorAll("pre code[class^='language-']").forEach(function (el) {
      if (!el.dataset.highlighted) window.hljs.highlightElement(el);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { highlight(document); });
  document.addEventListener("htmx:afterSettle", function (e) { highlight(e.detail.elt); });
})();
