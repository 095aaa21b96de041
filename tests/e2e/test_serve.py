"""`build.py serve`: a real server in a subprocess on a free port, edited on disk while it runs."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from benchmarks.corpus import write_corpus
from digest.serve import COLLECT_AFTER
from tests.e2e.conftest import chromium
from tests.helpers import ROOT, article_text, run_build, search_fragments, tree_bytes

WAIT = 60  # seconds allowed for a rebuild to show; generous because CI machines are shared


class Served:
    def __init__(self, process: subprocess.Popen[str], url: str, lines: queue.Queue[str]) -> None:
        self.process, self.url, self.lines = process, url, lines

    def get(self, path: str = "") -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path.lstrip("/"), timeout=10) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            return exc.code, ""

    def said_until(self, predicate: Callable[[str], bool]) -> list[str]:
        """The server's lines, read until one satisfies ``predicate`` or WAIT seconds pass."""
        said: list[str] = []
        deadline = time.monotonic() + WAIT
        while not any(predicate(line) for line in said) and time.monotonic() < deadline:
            try:
                said.append(self.lines.get(timeout=1))
            except queue.Empty:
                pass
        return said

    def wait_for(self, path: str, predicate: Callable[[str], bool]) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the server died"
            status, body = self.get(path)
            if status == 200 and predicate(body):
                return body
            time.sleep(0.2)
        output = "".join(iter(lambda: "" if self.lines.empty() else self.lines.get(), ""))
        raise AssertionError(f"{path} did not change within {WAIT}s; the server said:\n{output}")


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    content = project / "content"
    content.mkdir(parents=True)
    for index, topic in enumerate(("AI", "Robotics", "AI")):
        (content / f"story{index}.md").write_text(article_text(
            "Body text.", title=f"Original story {index}", webUrl=f"https://example.com/s{index}",
            publishedDateTime=f"2024-05-0{index + 1}T10:00:00Z", topics=[topic]), encoding="utf-8")
    (project / "site.yaml").write_text("title: Preview test\nbase_url: https://user.github.io/digest/\n")
    (project / "templates").mkdir()
    (project / "templates" / "base.html").write_bytes((ROOT / "templates" / "base.html").read_bytes())
    return project


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from _serve(_project(tmp_path))


def _serve(project: Path) -> Iterator[Served]:
    """``build.py serve`` in ``project``, once it serves; stopped when the generator is closed."""
    process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--port", "0", "--jobs", "1"],
                               cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()  # type: ignore[union-attr]
    deadline, url = time.monotonic() + WAIT, None
    seen = []
    while url is None and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        seen.append(line)
        match = re.search(r"serving the preview at (http://127\.0\.0\.1:\d+/)", line)
        url = match.group(1) if match else None
    try:
        assert url, "".join(seen)
        yield Served(process, url, lines)
    finally:  # also when the generator is closed at its yield, or the server never said where it serves
        process.terminate()
        process.wait(timeout=30)


def _edit(project_file: Path, old: str, new: str) -> None:
    project_file.write_text(project_file.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")


def test_serve_rebuilds_on_save_and_survives_a_broken_edit(served: Served, tmp_path: Path):
    project = tmp_path / "project"
    status, home = served.get("/")
    assert status == 200 and "Original story 1" in home
    assert 'href="/digest/' not in home  # the sub-path site is previewed at /
    article = re.search(r'href="(/2024/05/02/[^"]+/)"', home).group(1)
    status, page = served.get(article)
    assert status == 200 and "Original story 1" in page and "livereload.js" in page
    stylesheet = re.search(r'href="(/static/css/[^"]+\.css)"', page).group(1)
    assert served.get(stylesheet)[0] == 200

    story = project / "content" / "story1.md"
    _edit(story, "Original story 1", "Renamed story 1")
    served.wait_for("/", lambda body: "Renamed story 1" in body)

    _edit(story, "---\ntitle:", "---\ntitle: [unclosed\nbroken:")
    broken = served.wait_for("/", lambda body: "digest-build-error" in body)
    assert "story1.md:" in broken and "Renamed story 1" in broken  # the error, over the last good page
    _edit(story, "title: [unclosed\nbroken:", "title:")
    served.wait_for("/", lambda body: "digest-build-error" not in body and "Renamed story 1" in body)

    template = project / "templates" / "base.html"
    good = template.read_text(encoding="utf-8")
    template.write_text("{% if %}\n" + good, encoding="utf-8")
    broken = served.wait_for("/", lambda body: "digest-build-error" in body)
    assert "base.html:1: template error" in broken
    template.write_text(good, encoding="utf-8")
    served.wait_for("/", lambda body: "digest-build-error" not in body)
    assert served.process.poll() is None


def test_the_live_reload_script_is_never_in_build_output(served: Served, tmp_path: Path):
    project = tmp_path / "project"
    preview = tree_bytes(project / ".cache" / "preview")
    assert preview and not any(b"livereload" in data for data in preview.values())
    assert run_build("build", cwd=project).returncode == 0
    assert not any(b"livereload" in data for data in tree_bytes(project / "_site").values())


def test_a_port_in_use_moves_to_the_next_free_one(tmp_path: Path):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        project = _project(tmp_path)
        process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--port", str(port)],
                                   cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            output = ""
            deadline = time.monotonic() + WAIT
            while "serving the preview" not in output and time.monotonic() < deadline:
                output += process.stdout.readline()  # type: ignore[union-attr]
            assert f"port {port} is in use; serving on port" in output
        finally:
            process.terminate()
            process.wait(timeout=30)


def _live_tab(browser: Browser, url: str) -> Page:
    """A tab on ``url`` once its live-reload client has connected."""
    page = browser.new_page()
    page.goto(url)
    page.wait_for_function("() => window.LiveReload !== undefined", timeout=WAIT * 1000)
    return page


def _wait_for_text(page: Page, text: str) -> None:
    """Wait until the tab shows ``text``. The body is briefly missing while the tab reloads,
    so the check must not read it then."""
    page.wait_for_function("text => document.body !== null && document.body.innerText.includes(text)",
                           arg=text, timeout=WAIT * 1000)


def test_a_browser_tab_reloads_by_itself_after_a_save(served: Served, tmp_path: Path):
    with chromium() as browser:
        page = _live_tab(browser, served.url)
        assert "Original story 2" in page.content()
        _edit(tmp_path / "project" / "content" / "story2.md", "Original story 2", "Story 2, edited live")
        _wait_for_text(page, "Story 2, edited live")


def test_an_open_article_tab_shows_a_body_edit_by_itself(served: Served, tmp_path: Path):
    """The fast-render path: the tab reloads when the edited page is shown, before the full rebuild."""
    article = re.search(r'href="(/2024/05/01/[^"]+/)"', served.get("/")[1]).group(1)
    with chromium() as browser:
        page = _live_tab(browser, served.url + article.lstrip("/"))
        _edit(tmp_path / "project" / "content" / "story0.md", "Body text.", "Body text, fixed in the tab.")
        _wait_for_text(page, "fixed in the tab")
    said = served.said_until(lambda line: "1 page shown first" in line)
    assert any("1 page shown first" in line for line in said), "".join(said)


def test_the_search_index_catches_up_after_the_reload(served: Served, tmp_path: Path):
    preview = tmp_path / "project" / ".cache" / "preview"
    assert any(page["meta"]["title"] == "Original story 2" for page in search_fragments(preview))
    _edit(tmp_path / "project" / "content" / "story2.md", "Original story 2", "Lighthouse keepers vote")
    served.wait_for("/", lambda body: "Lighthouse keepers vote" in body)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            titles = {page["meta"]["title"] for page in search_fragments(preview)}
        except (OSError, ValueError):  # caught mid-swap
            titles = set()
        if "Lighthouse keepers vote" in titles:
            break
        time.sleep(0.2)
    assert "Lighthouse keepers vote" in titles and "Original story 2" not in titles
    assert served.process.poll() is None


def test_an_article_edit_is_shown_first_then_the_whole_site_is_built(served: Served, tmp_path: Path):
    project = tmp_path / "project"
    article = re.search(r'href="(/2024/05/01/[^"]+/)"', served.get("/")[1]).group(1)
    _edit(project / "content" / "story0.md", "Body text.", "Body text, revised on the spot.")
    served.wait_for(article, lambda body: "revised on the spot" in body)
    said = served.said_until(lambda line: "pages rendered" in line)
    shown = [i for i, line in enumerate(said) if re.search(r"content changed \(.*story0\.md\): 1 page shown first", line)]
    built = [i for i, line in enumerate(said) if "pages rendered" in line]
    assert shown and built and shown[0] < built[0], "".join(said)
    # What the background build left is the site a clean build makes (the search index catches up apart).
    def pages(folder: Path) -> dict[str, bytes]:
        return {path: data for path, data in tree_bytes(folder).items() if not path.startswith("pagefind/")}

    preview = pages(project / ".cache" / "preview")
    assert run_build("build", "--base-url", served.url, "--output", "clean", cwd=project).returncode == 0
    assert pages(project / "clean") == preview


def test_ctrl_c_stops_the_server_even_during_a_rebuild(tmp_path: Path):
    import signal

    project = _project(tmp_path)
    process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "serve", "--port", "0", "--jobs", "1"],
                               cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # as in a terminal
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()  # type: ignore[union-attr]
    served = Served(process, "", lines)
    try:
        assert any("serving the preview" in line for line in served.said_until(lambda line: "serving the preview" in line))
        _edit(project / "content" / "story1.md", "Body text.", "Body text, stopped midway.")
        served.said_until(lambda line: "building the rest" in line)  # fast render is done; the rebuild runs
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=WAIT) == 0
    finally:
        if process.poll() is None:
            process.kill()
    said = "".join(served.said_until(lambda line: "stopped" in line))
    assert "stopped" in said and "Traceback" not in said, said
    # Whatever the rebuild had done, the next build of the same project is complete and clean.
    assert run_build("build", cwd=project).returncode == 0



def _resident_mib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS:"))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_a_preview_left_open_does_not_grow_with_every_save(tmp_path: Path):
    """An editor keeps the preview open all day: what each rebuild leaves behind must be freed,
    not pile up (it did, 4-5 MiB a save at 1,000 articles, until the server held gigabytes)."""
    project = tmp_path / "project"
    write_corpus(project / "content", 1000)
    article = project / "content" / "000" / "000007.md"
    original = article.read_text(encoding="utf-8")
    session = _serve(project)
    served = next(session)
    try:
        resident = []
        for save in range(8):
            article.write_text(original.replace('excerpt: "', f'excerpt: "Save {save}. ', 1), encoding="utf-8")
            said = served.said_until(lambda line: "pages rendered" in line)
            assert any("pages rendered" in line for line in said), "".join(said)
            time.sleep(2 * COLLECT_AFTER)  # an editor reading the page: the server collects meanwhile
            resident.append(_resident_mib(served.process.pid))
        # the first saves warm up caches and the allocator; from then on it stays where it is
        assert resident[-1] - resident[2] < 8, resident
    finally:
        session.close()
