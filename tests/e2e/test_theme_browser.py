"""The default theme in a real browser (Debian's headless Chromium through Playwright).

For the sample site, a generated 200-article site and the sample with site.yaml's provider
overrides (logo, hex colours): home, a topic, an article and a provider page at a phone and a
desktop size, light and dark: a screenshot of each under
tests/artifacts/screenshots/, no axe-core violation of serious or critical impact, no console
error, no failed request to the site itself, and no horizontal scrolling from 320 to 2560 px.
Third-party requests never leave the machine: article images get a local placeholder, and any
other third-party request (a web font, a script) fails the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route

from tests.e2e.conftest import BuiltSite, chromium
from tests.helpers import ROOT

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "tests" / "artifacts" / "screenshots"
VIEWPORTS = {"390x844": {"width": 390, "height": 844}, "1280x900": {"width": 1280, "height": 900}}
PLACEHOLDER = (b'<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="800" viewBox="0 0 1200 800">'
               b'<rect width="1200" height="800" fill="#8a94a6"/><circle cx="600" cy="400" r="160" fill="#c5cbd6"/></svg>')
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                      nodes: v.nodes.slice(0, 3).map(n => n.target.join(" "))}));
}"""


def pages_of(site: BuiltSite) -> dict[str, str]:
    """One page of each kind, as a path under the site's base: the first of its kind in URL order."""
    def first(pattern: str) -> str:
        found = sorted(site.output.glob(pattern))
        assert found, f"{site.name}: no page matches {pattern}"
        return found[0].parent.relative_to(site.output).as_posix() + "/"
    return {"home": "", "topic": first("topics/*/index.html"),
            "article": first("[0-9][0-9][0-9][0-9]/*/*/*/index.html"), "provider": first("providers/*/index.html")}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


class Visit:
    """A browser context on one site that records console errors and the site's failed requests."""

    def __init__(self, browser: Browser, site_url: str, **context_options) -> None:
        self.origin = site_url.split("/", 3)[:3]
        self.site_url = site_url
        self.problems: list[str] = []
        self.context: BrowserContext = browser.new_context(**context_options)
        self.context.route("**/*", self._route)
        self.page: Page = self.context.new_page()
        self.page.on("console", lambda msg: msg.type == "error" and self.problems.append(f"console: {msg.text}"))
        self.page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        self.page.on("requestfailed", lambda req: self._ours(req.url) and self.problems.append(
            f"request failed: {req.url} ({req.failure})"))
        self.page.on("response", lambda resp: self._ours(resp.url) and resp.status >= 400 and self.problems.append(
            f"HTTP {resp.status}: {resp.url}"))

    def _ours(self, url: str) -> bool:
        return url.split("/", 3)[:3] == self.origin

    def _route(self, route: Route) -> None:
        if self._ours(route.request.url):
            route.continue_()
        elif route.request.resource_type == "image":  # an article image from a publisher: answered here
            route.fulfill(status=200, content_type="image/svg+xml", body=PLACEHOLDER)
        else:  # a web font, script or stylesheet from elsewhere: the theme makes none
            self.problems.append(f"third-party {route.request.resource_type} request: {route.request.url}")
            route.abort()

    def open(self, path: str) -> Page:
        response = self.page.goto(self.site_url + path, wait_until="load")
        assert response and response.ok, f"{path}: {response and response.status}"
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("viewport", list(VIEWPORTS))
@pytest.mark.parametrize("name", ["sample", "corpus200", "providers"])
def test_pages_are_accessible_and_error_free(browser, theme_sites, site_urls, name: str, viewport: str, scheme: str):
    assert AXE.is_file(), "axe-core is missing: `make test` installs it with npm ci"
    axe = AXE.read_text(encoding="utf-8")
    SHOTS.mkdir(parents=True, exist_ok=True)
    visit = Visit(browser, site_urls[name], viewport=VIEWPORTS[viewport], color_scheme=scheme)
    violations = []
    try:
        for kind, path in pages_of(theme_sites[name]).items():
            page = visit.open(path)
            page.screenshot(path=SHOTS / f"{name}-{kind}-{viewport}-{scheme}.png", full_page=True)
            page.evaluate(axe)  # through the DevTools protocol: the page's CSP still applies to the page itself
            for v in page.evaluate(AXE_RUN):
                if v["impact"] in ("serious", "critical"):
                    violations.append(f"{kind} ({path}): {v['id']} [{v['impact']}] {v['help']}: {v['nodes']}")
    finally:
        visit.close()
    assert not violations, "\n".join(violations)
    assert not visit.problems, "\n".join(visit.problems)


@pytest.mark.parametrize("name", ["sample", "corpus200", "providers"])
def test_no_horizontal_scrolling_from_320_to_2560_px(browser, theme_sites, site_urls, name: str):
    wide = []
    for width in (320, 2560):
        visit = Visit(browser, site_urls[name], viewport={"width": width, "height": 800})
        try:
            for kind, path in pages_of(theme_sites[name]).items():
                scroll_width = visit.open(path).evaluate("document.documentElement.scrollWidth")
                if scroll_width != width:
                    wide.append(f"{kind} at {width} px: document is {scroll_width} px wide")
        finally:
            visit.close()
    assert not wide, "\n".join(wide)


def test_keyboard_focus_print_and_reduced_motion(browser, site_urls):
    """The first Tab shows the skip link with a visible focus ring; it jumps to the main content.
    The print stylesheet hides the navigation; reduced motion turns transitions off."""
    visit = Visit(browser, site_urls["sample"], viewport=VIEWPORTS["1280x900"], reduced_motion="reduce")
    try:
        page = visit.open("")
        assert page.evaluate("getComputedStyle(document.querySelector('.card')).transitionDuration") == "0s"
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement, s = getComputedStyle(e), r = e.getBoundingClientRect();
            return {cls: e.className, top: r.top, bottom: r.bottom, outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }""")
        assert focused["cls"] == "skip-link" and focused["top"] >= 0 and focused["bottom"] <= 900, focused
        assert focused["outline"] != "none" and focused["width"] >= 2, focused
        page.keyboard.press("Enter")
        page.wait_for_url("**#main", timeout=5000)  # the same-page jump reaches page.url a moment later
        page.emulate_media(media="print")
        assert page.evaluate("getComputedStyle(document.querySelector('.topic-nav')).display") == "none"
    finally:
        visit.close()
    assert not visit.problems, "\n".join(visit.problems)


@pytest.mark.parametrize("scheme, edge", [("light", "#000000"), ("dark", "#ffffff")])
def test_provider_marks_render_as_the_contrast_tests_compute(browser, site_urls, scheme: str, edge: str):
    """On the sources page of the site with provider overrides: the generated colours stylesheet and
    the logo load under the page's Content-Security-Policy (a blocked one is a console error), the
    monogram colour is the one digest/badges.py chose, and the ring is the half-way mix the contrast
    tests check (mix_half in tests/test_badge_contrast.py), in both themes."""
    visit = Visit(browser, site_urls["providers"], viewport=VIEWPORTS["1280x900"], color_scheme=scheme)
    try:
        marks = visit.open("providers/").evaluate("""() => [...document.querySelectorAll('.badge__mark, .badge__logo')]
            .map(e => { const s = getComputedStyle(e), r = e.getBoundingClientRect();
                        return {cls: e.className, color: s.color, fill: s.backgroundColor, ring: s.boxShadow,
                                loaded: e.naturalWidth || 0, width: r.width, height: r.height}; })""")
    finally:
        visit.close()
    assert not visit.problems, "\n".join(visit.problems)
    by_class = {m["cls"].split()[-1]: m for m in marks}
    assert {"badge__mark--cf6d32d", "badge__mark--c1a5fb4", "badge__logo"} <= set(by_class)
    assert len({(m["width"], m["height"]) for m in marks}) == 1  # logo and monograms: one fixed size
    assert by_class["badge__logo"]["loaded"] > 0
    for name, fill, text in (("cf6d32d", "#f6d32d", "rgb(0, 0, 0)"), ("c1a5fb4", "#1a5fb4", "rgb(255, 255, 255)")):
        mark = by_class[f"badge__mark--{name}"]
        assert mark["color"] == text and mark["fill"] == "rgb({}, {}, {})".format(*(int(fill[i:i + 2], 16) for i in (1, 3, 5)))
        ring = re.match(r"color\(srgb ([\d.]+) ([\d.]+) ([\d.]+)\) 0px 0px 0px 2px inset", mark["ring"]).groups()
        half_way = [(int(fill[i:i + 2], 16) + int(edge[i:i + 2], 16)) / 2 for i in (1, 3, 5)]  # what mix_half rounds
        assert all(abs(float(c) * 255 - h) < 0.01 for c, h in zip(ring, half_way)), (mark, half_way)
