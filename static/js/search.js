// Search page: a small UI over Pagefind's own API (pagefind.js, loaded only when a search runs).
// The header search box submits ?q=WORDS here, so without JavaScript it still reaches this page,
// whose <noscript> says search needs it; the form below stays hidden until this script runs.
(function () {
  "use strict";
  var root = document.getElementById("search");
  if (!root) return;
  var form = root.querySelector("form");
  var input = form.querySelector("input");
  var status = root.querySelector(".search__status");
  var list = root.querySelector(".search__results");
  var shown = 20;
  var engine = null;
  var latest = 0;
  form.hidden = false;

  function load() {
    if (!engine) {
      // The index is split into shards (digest/search.py): the first one's script is the engine, and
      // the others are merged into it; results come back ranked together by Pagefind's score.
      var bundles = root.dataset.bundles.split(" ");
      var options = { baseUrl: root.dataset.baseUrl };
      engine = import(bundles[0] + "pagefind.js").then(function (pagefind) {
        return pagefind.options(options).then(function () {
          return Promise.all(bundles.slice(1).map(function (bundle) { return pagefind.mergeIndex(bundle, options); }));
        }).then(function () { return pagefind; });
      });
    }
    return engine;
  }

  // Pagefind excerpts are escaped text with <mark> around the hits: rebuild them as DOM nodes,
  // decoding the text through a <textarea> (RCDATA: markup there is never parsed as elements).
  function excerpt(node, html) {
    html.split(/<\/?mark>/).forEach(function (part, index) {
      var decoder = document.createElement("textarea");
      decoder.innerHTML = part;
      var text = document.createTextNode(decoder.value);
      if (index % 2) {
        var mark = document.createElement("mark");
        mark.appendChild(text);
        node.appendChild(mark);
      } else {
        node.appendChild(text);
      }
    });
  }

  function show(query, total, items) {
    list.replaceChildren();
    items.forEach(function (item) {
      var entry = document.createElement("li");
      entry.className = "search__result";
      var link = document.createElement("a");
      link.className = "search__link";
      link.href = item.url;
      link.textContent = (item.meta && item.meta.title) || item.url;
      var text = document.createElement("p");
      text.className = "search__excerpt";
      excerpt(text, item.excerpt || "");
      entry.append(link, text);
      list.appendChild(entry);
    });
    if (!total) {
      status.textContent = "No stories found for \u201c" + query + "\u201d.";
    } else {
      status.textContent = total + (total === 1 ? " story" : " stories") + " for \u201c" + query + "\u201d" +
        (total > items.length ? ", the best " + items.length + " shown." : ".");
    }
  }

  function run(raw) {
    var ticket = ++latest;
    var query = raw.trim();
    if (!query) {
      list.replaceChildren();
      status.textContent = "";
      return;
    }
    load()
      .then(function (pagefind) { return pagefind.debouncedSearch(query, {}, 200); })
      .then(function (search) {
        if (!search || ticket !== latest) return null; // a newer search replaced this one
        var top = search.results.slice(0, shown).map(function (result) { return result.data(); });
        return Promise.all(top).then(function (items) {
          if (ticket === latest) show(query, search.results.length, items);
        });
      })
      .catch(function () { status.textContent = "Search is not available right now."; });
  }

  input.addEventListener("input", function () { run(input.value); });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    window.history.replaceState(null, "", "?q=" + encodeURIComponent(input.value));
    run(input.value);
  });
  var query = new URLSearchParams(window.location.search).get("q");
  if (query) {
    input.value = query;
    run(query);
  }
})();
