"""The live preview's editing loop, timed as an editor meets it: ``build.py serve`` in a child
process, one article's excerpt saved again and again, and for each save the time until the
served article page shows the new text, and until the server reports its full rebuild."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

POLL_SECONDS = 0.005
TIMEOUT = 900  # seconds for any one wait: a 100,000-article first build is long


@dataclass(frozen=True)
class PreviewRun:
    shown: list[float]  # seconds from each save to the article page served with the edit
    built: list[float]  # seconds from each save to the server's line for the full rebuild
    rendered: int  # pages the last full rebuild rendered
    peak_mib: float  # the server's peak resident memory over the whole session


def time_preview(command: list[str], project: Path, article: Path, runs: int) -> PreviewRun:
    """Start the preview (``command``, a ``build.py serve`` on a free port) in ``project``, edit
    ``article`` ``runs`` times, stop it."""
    server = subprocess.Popen(command, cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in server.stdout], daemon=True).start()  # type: ignore[union-attr]
    original = article.read_text(encoding="utf-8")
    shown, built, rendered = [], [], 0
    try:
        url = _wait_line(lines, r"serving the preview at (\S+)").group(1)
        page_url = url + _page_path(project / ".cache" / "preview", original)
        for run in range(runs):
            time.sleep(1.0)  # let the last save's search refresh settle, as between an editor's saves
            while not lines.empty():
                lines.get()
            probe = f"Preview probe {run}."
            started = time.perf_counter()
            article.write_text(original.replace('excerpt: "', f'excerpt: "{probe} ', 1), encoding="utf-8")
            while probe not in _get(page_url):
                time.sleep(POLL_SECONDS)
            shown.append(time.perf_counter() - started)
            rendered = int(_wait_line(lines, r": (\d+) pages rendered").group(1))
            built.append(time.perf_counter() - started)
    finally:
        article.write_text(original, encoding="utf-8")
        server.terminate()
        _, _, usage = os.wait4(server.pid, 0)
    return PreviewRun(shown, built, rendered, usage.ru_maxrss / 1024)


def _wait_line(lines: queue.Queue[str], pattern: str) -> re.Match[str]:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            match = re.search(pattern, lines.get(timeout=1))
        except queue.Empty:
            continue
        if match:
            return match
    raise SystemExit(f"the preview never said {pattern!r}")


def _page_path(preview: Path, article_text: str) -> str:
    """The article's page in the preview folder, found by its headline (other pages list it in sidebars)."""
    title = re.search(r'^title: "(.*)"$', article_text, re.M).group(1)  # type: ignore[union-attr]
    heading = f'<h1 class="story__title">{title}</h1>'
    for page in preview.glob("[0-9]*/*/*/*/index.html"):
        if heading in page.read_text(encoding="utf-8"):
            return page.parent.relative_to(preview).as_posix() + "/"
    raise SystemExit(f"no page with the headline {title!r} in {preview}")


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode("utf-8")
