"""Sites built once per test session, as a user builds them, for the theme's output and browser tests."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from benchmarks.corpus import write_corpus
from tests.helpers import ROOT, run_build


# Debian's Chromium, never a downloaded browser; flags that keep it quiet in a container.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Headless Chromium for one block of browser steps, closed however the block ends."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass(frozen=True)
class BuiltSite:
    name: str
    root: Path  # the folder a web server serves
    output: Path  # the build output: root itself, or a sub-folder for a sub-path site
    base_path: str  # "/" or "/digest/": where the site's links start


# The sample content with every provider override site.yaml offers: a logo, a light hex colour
# (black monogram), a dark one (white monogram), a new name; min_quality hides two stories.
PROVIDERS_YAML = """\
min_quality: 50
providers:
  nypost.com: {name: The New York Post, logo: logos/nypost.svg}
  cityam.com: {color: "#F6D32D"}
  thestar.com.my: {color: "#1a5fb4"}
"""
LOGO_SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">'
            b'<rect width="64" height="64" rx="8" fill="#c8102e"/><path d="M16 48V16h8l16 20V16h8v32h-8L24 28v20z" fill="#fff"/></svg>')


def providers_project(folder: Path) -> Path:
    """A project folder as a user has it: the sample content, a site.yaml with provider
    overrides, and the logo under its own static/ folder."""
    shutil.copytree(ROOT / "content", folder / "content")
    (folder / "site.yaml").write_text(PROVIDERS_YAML, encoding="utf-8")
    (folder / "static" / "logos").mkdir(parents=True)
    (folder / "static" / "logos" / "nypost.svg").write_bytes(LOGO_SVG)
    return folder


@pytest.fixture(scope="session")
def theme_sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltSite]:
    """The bundled sample site, a generated 200-article site published under a sub-path, and the
    sample content with site.yaml's provider overrides (logo, hex colours) and min_quality."""
    base = tmp_path_factory.mktemp("theme-sites")
    sample = base / "sample"
    result = run_build("build", "--output", str(sample))
    assert result.returncode == 0, result.stderr
    corpus = base / "corpus"
    write_corpus(corpus, 200)
    big = base / "www" / "digest"
    result = run_build("build", "--content", str(corpus), "--output", str(big), "--base-url", "http://127.0.0.1/digest/")
    assert result.returncode == 0, result.stderr
    project = providers_project(base / "providers")
    result = run_build("build", cwd=project)
    assert result.returncode == 0, result.stderr
    return {
        "sample": BuiltSite("sample", sample, sample, "/"),
        "providers": BuiltSite("providers", project / "_site", project / "_site", "/"),
        "corpus200": BuiltSite("corpus200", base / "www", big, "/digest/"),
    }


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the stdlib's name)
        """Keep the test output clean: the browser tests catch failed requests themselves."""


@pytest.fixture(scope="session")
def site_urls(theme_sites: dict[str, BuiltSite]) -> Iterator[dict[str, str]]:
    """Each built site served on 127.0.0.1 at a free port: its home page URL by site name."""
    servers = []
    urls = {}
    for name, site in theme_sites.items():
        handler = functools.partial(_QuietHandler, directory=str(site.root))
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls[name] = f"http://127.0.0.1:{server.server_address[1]}{site.base_path}"
    yield urls
    for server in servers:
        server.shutdown()
        server.server_close()
