// Search page: start Pagefind's UI in #search. The header search box submits ?q=WORDS here,
// so without JavaScript it still reaches this page, whose <noscript> says search needs it.
(function () {
  "use strict";
  var box = document.getElementById("search");
  if (!box || typeof window.PagefindUI !== "function") return;
  var ui = new window.PagefindUI({
    element: "#search",
    baseUrl: box.dataset.baseUrl,
    bundlePath: box.dataset.bundle,
    showSubResults: false,
  });
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) ui.triggerSearch(query);
})();
