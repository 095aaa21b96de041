"""Property tests: whatever strings the ingest pipeline writes, the pages stay safe.

For arbitrary text in every text field and arbitrary strings in every URL field, each built
page parses as HTML with no script, no event handler and no dangerous URL that came from content,
and every feed and sitemap parses as XML (or JSON).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import json
import xml.etree.ElementTree as ET

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.assets import load_assets
from digest.config import Config
from digest.content import parse_article
from digest.feeds import feed_files
from digest.pages import plan_pages
from digest.render import Renderer
from digest.site import build_site
from tests.helpers import ROOT
from tests.html_safety import injection_problems

RENDERER = Renderer(ROOT / "templates", Config(), load_assets(ROOT / "static"))
ATTACKS = [
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "' onmouseover='alert(1)", "</script><script>x()</script>",
    "javascript:alert(1)", " JaVaScRiPt:alert(1)", "data:text/html,<script>x</script>", "vbscript:x", "//evil.example",
    "java\tscript:x", "\x00javascript:x", "https://ok.example/\"><script>x</script>", "{{ config }}", "{% raw %}",
]
text = st.one_of(st.text(st.characters(exclude_categories=("Cs",)), max_size=60), st.sampled_from(ATTACKS),
                 st.builds(lambda a, b: a + b, st.sampled_from(ATTACKS), st.text(max_size=10)))
url = st.one_of(text, st.builds(lambda s: "https://example.com/" + s, text))


@st.composite
def articles(draw) -> str:
    fields = {
        "title": draw(text) or "t",
        "excerpt": draw(text),
        "publishedDateTime": "2024-05-01T10:00:00Z",
        "webUrl": "https://example.com/" + draw(st.text(max_size=10)),
        "ampWebUrl": draw(url),
        "cdnAmpWebUrl": draw(url),
        "provider": {"name": draw(text), "domain": draw(text)},
        "topics": draw(st.lists(text, max_size=3)),
        "images": [{"url": draw(url), "alt": draw(text), "width": draw(st.integers(-5, 5000))}],
        "related": [{"title": draw(text), "webUrl": draw(url), "excerpt": draw(text),
                     "provider": {"name": draw(text), "domain": draw(text)}, "images": [{"url": draw(url)}]}],
    }
    return "---\n" + yaml.safe_dump(fields, allow_unicode=True) + "---\n" + draw(st.sampled_from(["", *ATTACKS]))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(articles(), min_size=1, max_size=3))
def test_arbitrary_strings_never_inject_markup(files):
    loaded = [parse_article(f.encode("utf-8"), f"{i}.md", ZoneInfo("UTC")) for i, f in enumerate(files)]
    posts = tuple(article for article, _ in loaded if article is not None)
    site = build_site(posts, Config())
    pages = plan_pages(site)
    for page in pages:
        html = RENDERER.render(page).decode("utf-8")
        assert injection_problems(html) == [], (page.url, files)
    for path, data in feed_files(site, pages):
        if path.endswith(".xml"):
            ET.fromstring(data)
        elif path.endswith(".json"):
            json.loads(data)
