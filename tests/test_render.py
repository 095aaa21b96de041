"""Render stage: autoescaping, links under a sub-path, dates in the site's time zone."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import jinja2
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup

from digest.assets import load_assets
from digest.config import Config
from digest.model import Image, Provider, Story
from digest.pages import plan_pages
from digest import render
from digest.render import Renderer
from digest.site import build_site
from tests.helpers import ROOT
from tests.test_site import art


def render_all(site):
    renderer = Renderer(ROOT / "templates", site.config, load_assets(ROOT / "static"))
    return {page.url: renderer.render(page).decode() for page in plan_pages(site)}


def test_markup_in_content_is_escaped_everywhere():
    evil = '"><script>alert(1)</script><img src=x onerror=alert(1)>'
    site = build_site((art(
        1, title=evil, excerpt=evil, provider=Provider(evil, "evil.com"), topics=(evil,),
        images=(Image("https://e.com/i.jpg", alt=evil),),
        related=(Story(evil, "https://other.com/x", provider=Provider(evil, "o.com")),),
    ),), Config())
    for url, html in render_all(site).items():
        assert "<script>" not in html and "<img src=x" not in html, url
        assert "onerror=alert(1)>" not in html.replace("onerror=alert(1)&gt;", ""), url


def test_links_work_under_a_sub_path():
    config = Config(base_url="https://user.github.io/digest/")
    pages = render_all(build_site((art(1),), config))
    home = pages["/"]
    assert re.search(r'href="/digest/static/css/site\.[0-9a-f]{8}\.css"', home)
    assert 'href="/digest/2024/05/01/story-1/"' in home
    assert 'href="/digest/topics/ai/"' in home
    assert '<link rel="canonical" href="https://user.github.io/digest/">' in home
    assert 'href="/topics/' not in home and 'href="/2024' not in home


def test_article_page_has_time_amp_link_source_link_and_sidebar():
    site = build_site((art(1, amp_url="https://e.com/1/amp", related=(Story("Other", "https://o.com/x"),)),),
                      Config(timezone="Europe/Paris"))
    html = render_all(site)["/2024/05/01/story-1/"]
    assert '<time datetime="2024-05-01T13:00:00+02:00">1 May 2024, 13:00</time>' in html
    assert '<link rel="amphtml" href="https://e.com/1/amp">' in html
    assert '<a class="button" href="https://e.com/1" rel="noopener noreferrer">' in html
    assert 'href="https://o.com/x" rel="noopener noreferrer"' in html


def test_cards_have_sized_lazy_images_with_alt():
    site = build_site(tuple(art(i, images=(Image(f"https://e.com/{i}.jpg", 1200, 800),)) for i in range(3)), Config())
    home = render_all(site)["/"]
    assert home.count('loading="lazy"') >= 2 and home.count('fetchpriority="high"') == 1
    assert 'width="1200" height="800"' in home


def test_draft_is_marked():
    html = render_all(build_site((art(1, draft=True),), Config()))["/2024/05/01/story-1/"]
    assert 'class="draft-flag"' in html


def test_rendering_is_deterministic():
    site = build_site(tuple(art(i) for i in range(30)), Config())
    assert render_all(site) == render_all(site)


def test_human_date_is_locale_independent():
    renderer = Renderer(ROOT / "templates", Config(), load_assets(ROOT / "static"))
    assert renderer.human_date(datetime(2020, 8, 17, 8, 14, tzinfo=timezone.utc)) == "17 August 2020, 08:14"


def test_equal_times_of_a_night_the_clocks_go_back_print_apart():
    # Within one zone, datetimes that differ only in fold compare equal but are an hour apart:
    # the renderer's memo of printed times must tell them apart.
    renderer = Renderer(ROOT / "templates", Config(), load_assets(ROOT / "static"))
    first = datetime(2024, 10, 27, 2, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    second = first.replace(fold=1)
    assert first == second
    printed = [renderer.human_date(first), renderer.human_date(second)]
    assert printed == ["27 October 2024, 00:30", "27 October 2024, 01:30"]
    assert renderer.iso_date(second) == "2024-10-27T01:30:00+00:00"


class _Html:
    def __html__(self) -> str:
        return "<i>its own</i>"


# Every way a template prints: a value, in a loop, a set block, a macro and its caller, a filter block,
# a concatenation, filters.
_PRINTING = """{{ v }}|{% for x in [v, v] %}{{ x }}{% endfor %}|{% set b %}<{{ v }}>{% endset %}{{ b }}|{{ b|length }}|
{% macro m(x) %}[{{ x }}]{% endmacro %}{% macro c(x) %}[{{ x }}{{ caller() }}]{% endmacro %}
{{ m(v) }}{% call c(v) %}{{ v }}{% endcall %}|
{% filter upper %}{{ v }}{% endfilter %}|{{ v ~ v }}|{{ v | e }}|{{ (v | string) + "&" }}"""


@given(st.one_of(st.text(), st.integers(), st.none(), st.text().map(Markup), st.just(_Html())))
def test_templates_print_exactly_what_jinja_prints(value):
    # The renderer prints without a Markup object per value (render._escape_output): the same text everywhere.
    renderer = Renderer(ROOT / "templates", Config(), load_assets(ROOT / "static"))
    plain = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    assert renderer.env.from_string(_PRINTING).render(v=value) == plain.from_string(_PRINTING).render(v=value)


def _renderer_with(tmp_path, templates: dict[str, str], cache_dir=None) -> Renderer:
    for name, text in templates.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    return Renderer(tmp_path, Config(), load_assets(ROOT / "static"), cache_dir=cache_dir)


def test_a_fragment_is_rendered_once_per_distinct_call_and_escaped(tmp_path):
    renderer = _renderer_with(tmp_path, {"partials/count.html": "{{ text }}{{ counter.append(1) or '' }}"})
    counter: list[int] = []
    text = "<b>same</b>"
    first = renderer.fragment("partials/count.html", text=text, counter=counter)
    again = renderer.fragment("partials/count.html", counter=counter, text="<b>same</b>")  # equal string, other order
    other = renderer.fragment("partials/count.html", text="other", counter=counter)
    assert first == again == "&lt;b&gt;same&lt;/b&gt;" and other == "other" and counter == [1, 1]
    fresh: list[int] = []  # any argument but a string, number, boolean or None counts by identity
    assert renderer.fragment("partials/count.html", text=text, counter=fresh) == first and fresh == [1]
    for value in (1, True, 1.0):  # equal values of other types print differently: each is its own call
        renderer.fragment("partials/count.html", text=value, counter=counter)
    assert counter == [1, 1, 1, 1, 1]


def test_a_function_that_takes_the_context_still_gets_it(tmp_path):
    # The renderer's own functions skip Jinja's check for a context argument; any other keeps it.
    home = "{% for x in [1] %}{{ shout('!') }}{% endfor %}{{ link('home') }}"
    renderer = _renderer_with(tmp_path, {"home.html": home})
    renderer.env.globals["shout"] = jinja2.pass_context(lambda context, mark: context["title"] + mark)
    page = plan_pages(build_site((art(1),), Config()))[0]
    assert renderer.render(page).decode() == page.context["title"] + "!/"


def test_a_fragment_sees_only_its_arguments_not_the_page(tmp_path):
    renderer = _renderer_with(tmp_path, {"home.html": '{{ fragment("partials/leak.html") }}', "partials/leak.html": "{{ title }}"})
    page = plan_pages(build_site((art(1),), Config()))[0]
    with pytest.raises(jinja2.UndefinedError, match="'title' is undefined"):
        renderer.render(page)


def test_a_template_depends_on_the_fragments_it_prints(tmp_path):
    templates = {
        "a.html": '{{ fragment("partials/b.html", x=1) }}',
        "partials/b.html": "{% include 'partials/c.html' %}",
        "partials/c.html": "c",
        "d.html": "{{ fragment(name) }}",  # a computed name: could be any template
        "e.html": "e",
    }
    renderer = _renderer_with(tmp_path, templates)
    before = {name: renderer.template_digest(name) for name in ("a.html", "d.html", "e.html")}
    renderer = _renderer_with(tmp_path, {"partials/c.html": "c2"})
    after = {name: renderer.template_digest(name) for name in ("a.html", "d.html", "e.html")}
    assert before["a.html"] != after["a.html"] and before["d.html"] != after["d.html"]
    assert before["e.html"] == after["e.html"]


def _compiles(monkeypatch) -> list[str]:
    """The names of the templates Jinja compiles from source from now on (not loaded from a bytecode cache)."""
    compiled: list[str] = []
    compile_ = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return compile_(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return compiled


def test_the_template_cache_spares_the_next_build_compiling_and_parsing(tmp_path, monkeypatch):
    templates = {"a.html": "{% include 'b.html' %}!", "b.html": "{{ page_url }}"}
    cache = tmp_path / "cache"
    page = plan_pages(build_site((art(1),), Config()))[0]
    first = _renderer_with(tmp_path / "t", templates, cache)
    digest = first.template_digest("a.html")
    first.compile(["a.html"])
    compiled = _compiles(monkeypatch)
    parsed: list[str] = []
    monkeypatch.setattr(jinja2.Environment, "parse", lambda self, source, name=None, filename=None: parsed.append(name))
    second = _renderer_with(tmp_path / "t", {}, cache)
    assert second.template_digest("a.html") == digest
    assert second.render(dataclasses.replace(page, template="a.html")) == b"/!"
    assert compiled == [] and parsed == []


def test_an_edited_template_is_compiled_again_despite_the_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    page = dataclasses.replace(plan_pages(build_site((art(1),), Config()))[0], template="a.html")
    before = _renderer_with(tmp_path / "t", {"a.html": "one {% include 'b.html' %}", "b.html": "x"}, cache)
    assert before.render(page) == b"one x"
    digest = before.template_digest("a.html")
    after = _renderer_with(tmp_path / "t", {"b.html": "y"}, cache)  # same length, same name
    assert after.render(page) == b"one y"
    assert after.template_digest("a.html") != digest


def test_a_damaged_template_cache_is_ignored(tmp_path):
    cache = tmp_path / "cache"
    page = dataclasses.replace(plan_pages(build_site((art(1),), Config()))[0], template="a.html")
    templates = {"a.html": "{% include 'b.html' %}", "b.html": "ok"}
    first = _renderer_with(tmp_path / "t", templates, cache)
    assert first.render(page) == b"ok" and first.template_digest("a.html")
    files = [path for path in (cache / "templates").rglob("*") if path.is_file()]
    assert len(files) == 3  # two compiled templates and the references
    for path in files:
        path.write_bytes(path.read_bytes()[:30] + b"\x80garbage")
    renderer = _renderer_with(tmp_path / "t", {}, cache)
    assert renderer.render(page) == b"ok" and renderer.template_digest("a.html")


def test_another_generator_s_template_cache_is_removed(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    stale = cache / "templates" / "an-older-generator"
    stale.mkdir(parents=True)
    (stale / "references").write_bytes(b"old")
    _renderer_with(tmp_path / "t", {"a.html": "a"}, cache).template_digest("a.html")
    assert [path.name for path in (cache / "templates").iterdir()] == [render.GENERATOR]
