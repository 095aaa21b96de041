"""Sites built once per test session, as a user builds them, for the theme's output and browser tests."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchmarks.corpus import write_corpus
from tests.helpers import ROOT, run_build


@dataclass(frozen=True)
class BuiltSite:
    name: str
    root: Path  # the folder a web server serves
    output: Path  # the build output: root itself, or a sub-folder for a sub-path site
    base_path: str  # "/" or "/digest/": where the site's links start


@pytest.fixture(scope="session")
def theme_sites(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BuiltSite]:
    """The bundled sample site, and a generated 200-article site published under a sub-path."""
    base = tmp_path_factory.mktemp("theme-sites")
    sample = base / "sample"
    result = run_build("build", "--output", str(sample))
    assert result.returncode == 0, result.stderr
    corpus = base / "corpus"
    write_corpus(corpus, 200)
    big = base / "www" / "digest"
    result = run_build("build", "--content", str(corpus), "--output", str(big), "--base-url", "http://127.0.0.1/digest/")
    assert result.returncode == 0, result.stderr
    return {
        "sample": BuiltSite("sample", sample, sample, "/"),
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
