"""A minimal Hugo site over the benchmark corpus, for a side-by-side cold-build time (when ``hugo`` is installed).

The same article files (Hugo reads their YAML front matter as they are: ``publishedDateTime``
is mapped to the page date, ``topics`` is a taxonomy), the same page types where Hugo has them
(home, one page per article with its related stories, one paginated list per topic, 20 cards a
page, RSS and sitemap, which Hugo makes by default), and deliberately plain templates: this
measures Hugo's engine, not a theme. There are no per-provider or per-day pages. Hugo has no
search index of its own: the bench compares it with our build without search, and Hugo followed
by Pagefind's CLI over its output (the usual way a Hugo site gets search) with our build with
search. As Pagefind's documentation asks, and as our theme does, the article element is marked
``data-pagefind-body``, so that Pagefind indexes the articles alone, not the list pages.
"""

from __future__ import annotations

from pathlib import Path

CONFIG = """\
baseURL: https://example.com/
languageCode: en
title: Synthetic digest (Hugo comparison)
paginate: 20
taxonomies:
  topic: topics
frontmatter:
  date: [publishedDateTime, ":default"]
  publishDate: [publishedDateTime, ":default"]
"""

BASEOF = """\
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ .Title }} | {{ .Site.Title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><header><a href="{{ "/" | relURL }}">{{ .Site.Title }}</a>
<nav>{{ range .Site.Taxonomies.topics.ByCount }}<a href="{{ .Page.RelPermalink }}">{{ .Page.Title }}</a> {{ end }}</nav></header>
<main>{{ block "main" . }}{{ end }}</main></body></html>
"""

CARD = """\
<article><h2><a href="{{ .RelPermalink }}">{{ .Title }}</a></h2>
{{ with .Params.images }}{{ with index . 0 }}<img src="{{ .url }}" width="{{ .width }}" height="{{ .height }}" alt="" loading="lazy">{{ end }}{{ end }}
<p>{{ .Params.provider.name }} · <time datetime="{{ .Date.Format "2006-01-02T15:04:05Z07:00" }}">{{ .Date.Format "2 January 2006" }}</time></p>
<p>{{ .Params.excerpt }}</p></article>
"""

SINGLE = """\
{{ define "main" }}<article data-pagefind-body><h1>{{ .Title }}</h1>
<p>{{ .Params.provider.name }} · {{ .Date.Format "2 January 2006, 15:04" }}</p>
{{ with .Params.images }}{{ with index . 0 }}<img src="{{ .url }}" width="{{ .width }}" height="{{ .height }}" alt="">{{ end }}{{ end }}
<p>{{ .Params.excerpt }}</p>{{ .Content }}
<p>{{ range .Params.topics }}<a href="{{ (printf "/topics/%s/" (urlize .)) | relURL }}">{{ . }}</a> {{ end }}</p>
<a href="{{ .Params.webUrl }}" rel="noopener noreferrer">Read at {{ .Params.provider.name }}</a></article>
<aside><h2>Related</h2><ul>{{ range .Params.related }}<li><a href="{{ .webUrl }}">{{ .title }}</a> ({{ .provider.name }})</li>{{ end }}</ul></aside>
{{ end }}
"""

LIST = """\
{{ define "main" }}<h1>{{ .Title }}</h1>
{{ range .Paginator.Pages }}{{ partial "card.html" . }}{{ end }}
{{ with .Paginator.Prev }}<a href="{{ .URL }}">Newer</a>{{ end }} {{ with .Paginator.Next }}<a href="{{ .URL }}">Older</a>{{ end }}
{{ end }}
"""

HOME = """\
{{ define "main" }}<h1>{{ .Site.Title }}</h1>
{{ range first 20 (where .Site.RegularPages.ByDate.Reverse "Type" "!=" "") }}{{ partial "card.html" . }}{{ end }}
{{ end }}
"""


def write_site(folder: Path, content: Path) -> Path:
    """The Hugo site in ``folder``, its content folder a link to the corpus; returns ``folder``."""
    files = {
        "config.yaml": CONFIG,
        "layouts/_default/baseof.html": BASEOF,
        "layouts/_default/single.html": SINGLE,
        "layouts/_default/list.html": LIST,
        "layouts/index.html": HOME,
        "layouts/partials/card.html": CARD,
    }
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    link = folder / "content"
    if not link.is_symlink():
        link.symlink_to(content.resolve(), target_is_directory=True)
    return folder
