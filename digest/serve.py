"""``build.py serve``: a live preview that rebuilds on save and reloads every open tab.

The preview is the same site ``build`` writes (built with ``base_url`` pointed at the local
address, so a sub-path site works at ``/``), kept in its own folder under ``.cache/`` and
rebuilt through the same incremental pipeline: an edit costs what it changed. The served
HTML gets the live-reload script, and, while the last save is broken, a banner with the
error; neither is ever in the built files. A bad edit never stops the server: the last good
pages stay in place (the writer swaps in a new site only when a build succeeds).
"""

from __future__ import annotations

import base64
import errno
import gc
import hashlib
import html
import re
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from livereload import Server
from tornado.ioloop import IOLoop
from livereload.handlers import LiveReloadHandler, StaticFileHandler

from .cli import attempt
from .fastrender import Warm, render_edited
from .pipeline import BuildOptions, BuildResult
from .search import SEARCH_BUNDLE, SearchError, SearchUpdate, Shard, index_shard
from .theme import DEFAULT_STATIC, DEFAULT_TEMPLATES, layers
from .watching import EventWatcher

PORT_TRIES = 20
POLL_SECONDS = 0.1  # how often the loop looks whether a search refresh has finished
_BANNER_STYLE = ("position:fixed;top:0;left:0;right:0;z-index:2147483647;margin:0;padding:12px 16px;"
                 "background:#b00020;color:#fff;font:14px/1.4 monospace;white-space:pre-wrap;"
                 "max-height:50vh;overflow:auto;box-shadow:0 2px 8px rgba(0,0,0,.4)")


@dataclass(frozen=True)
class ServeOptions:
    build: BuildOptions
    host: str = "127.0.0.1"
    port: int = 8000  # 0: any free port
    open_browser: bool = False


class SearchRefresh:
    """Brings the preview's search index up to date behind the reload, one stale shard at a time,
    on a thread the loop polls.

    A save keeps the previous index (``defer_search``) and names the shards its changes made stale
    (:class:`SearchUpdate`); each is re-indexed from the preview's pages and swapped in whole, so the
    preview shows an edit first and its search catches up a fraction of a second later. A new save
    stops a refresh still running and adds its shards to those left; the names still to do are kept
    in a file, so a preview stopped before they were done re-indexes them when it starts again.
    """

    def __init__(self, output: Path, work: Path) -> None:
        self.output, self.work = output, work
        self.todo = work.with_name(f"{work.name}.todo")
        self.pending: set[str] = set()
        self.thread: threading.Thread | None = None
        self.cancelled = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None
        self.failure: str | None = None
        self.started = 0.0

    def forget_unfinished(self) -> None:
        """Drop the shards a previous preview left stale, so the next full build indexes them again."""
        try:
            names = self.todo.read_text(encoding="utf-8").split()
        except OSError:
            return
        for name in names:
            shutil.rmtree(self.output / SEARCH_BUNDLE / name, ignore_errors=True)
        self.todo.unlink()

    def start(self, update: SearchUpdate) -> None:
        self.stop()
        self.queue(update)
        self.cancelled, self.failure = threading.Event(), None
        self.started = time.perf_counter()
        self.thread = threading.Thread(target=self._refresh, args=(update, self.cancelled), daemon=True)
        self.thread.start()
        IOLoop.current().call_later(POLL_SECONDS, self._poll)

    def queue(self, update: SearchUpdate) -> None:
        """Add the shards ``update`` made stale to those still to do, less any this build no longer has."""
        self.pending = (self.pending | update.stale) & {shard.name for shard in update.shards}
        self._save_todo()

    def stop(self) -> None:
        self.cancelled.set()
        process = self.process
        if process is not None and process.poll() is None:
            process.kill()
        if self.thread is not None:
            self.thread.join()
        self.thread = None

    def _refresh(self, update: SearchUpdate, cancelled: threading.Event) -> None:
        """Index the pending shards from the preview's pages and swap each in; then drop the
        folders of shards this build no longer has."""
        try:
            for shard in update.shards:
                if shard.name not in self.pending:
                    continue
                files = index_shard(update.binary, shard, lambda path: self.output / path, self._started)
                if cancelled.is_set():
                    return
                self._swap_in(shard, files)
                self.pending.discard(shard.name)
                self._save_todo()
            names = {shard.name for shard in update.shards}
            for folder in (self.output / SEARCH_BUNDLE).iterdir():
                if folder.name not in names:
                    shutil.rmtree(folder, ignore_errors=True)
        except (SearchError, OSError) as exc:
            if not cancelled.is_set():
                self.failure = str(exc)

    def _started(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process

    def _swap_in(self, shard: Shard, files: list[tuple[str, bytes]]) -> None:
        shutil.rmtree(self.work, ignore_errors=True)
        for rel, data in files:
            (self.work / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.work / rel).write_bytes(data)
        live, old = self.output / shard.folder, self.work.with_name(f"{self.work.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if live.exists():
            os.rename(live, old)
        live.parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.work, live)
        shutil.rmtree(old, ignore_errors=True)

    def _save_todo(self) -> None:
        if self.pending:
            self.todo.write_text("\n".join(sorted(self.pending)), encoding="utf-8")
        else:
            self.todo.unlink(missing_ok=True)

    def _poll(self) -> None:
        thread = self.thread
        if thread is None:
            return
        if thread.is_alive():
            IOLoop.current().call_later(POLL_SECONDS, self._poll)
            return
        self.thread = None
        if self.failure:
            print(f"{self.failure}; search shows an earlier build", flush=True)
        elif not self.cancelled.is_set():
            print(f"search index refreshed ({(time.perf_counter() - self.started) * 1000:.0f} ms)", flush=True)


class Preview:
    """The preview site and the state of the last build: its problems, shown until a good save.

    After the first build, a save is built in a background thread, so the server keeps serving
    meanwhile, and a plain article edit is shown at once by :mod:`digest.fastrender` before that.
    Saves that come during a build are gathered and built together once it ends.
    """

    def __init__(self, options: BuildOptions, search: SearchRefresh) -> None:
        self.options = options
        self.search = search
        self.errors: list[str] = []
        self.server: _PreviewServer | None = None
        self.warm: Warm | None = None  # the last good build's plan, for fast render
        self.shown: dict[str, bytes] = {}  # fast-rendered pages by absolute path, served until the build ends
        self.building = False
        self.waiting: tuple[str, set[Path]] | None = None  # saves that came during a build

    @property
    def live_script(self) -> bytes:
        return self.server.live_script if self.server else b""

    def rebuild(self, what: str) -> str:
        """Build incrementally, here and now; one line saying what changed, what was written and how long it took."""
        started = time.perf_counter()
        return self._finish(what, started, *attempt(self.options))

    def changed(self, what: str, paths: set[Path]) -> bool:
        """A batch of saves, on the server's loop: re-render an edited article's page at once, then
        build everything in the background. True when the tabs should reload now (a page was fast-rendered)."""
        if self.building:
            earlier = self.waiting[1] if self.waiting else set()
            self.waiting = (what, earlier | paths)
            return False
        started = time.perf_counter()
        self.search.stop()
        fast = render_edited(self.warm, self.options.content, paths) if self.warm else {}
        self.shown = {os.path.abspath(self.options.output / path): data for path, data in fast.items()}
        if fast:
            ms = (time.perf_counter() - started) * 1000
            print(f"{what}: {len(fast)} page{'s' if len(fast) > 1 else ''} shown first ({ms:.0f} ms); building the rest",
                  flush=True)
        self.building = True
        loop = IOLoop.current()

        def build() -> None:
            try:
                outcome = attempt(self.options)
            except Exception as exc:  # a bug must not stop the preview: say it, keep serving the last good pages
                outcome = None, [f"error: {type(exc).__name__}: {exc}"]
            loop.add_callback(self._built, what, started, bool(fast), outcome)

        # A daemon thread: Ctrl-C stops the server at once, as it did a build on the loop; the writer
        # leaves the preview as a killed build does (the next start finishes or discards the staging).
        threading.Thread(target=build, name="preview-build", daemon=True).start()
        return bool(fast)

    def _built(self, what: str, started: float, shown: bool, outcome: tuple[BuildResult | None, list[str]]) -> None:
        """Back on the loop: report the background build, reload the tabs if it changed anything
        they may show, and build the saves that came meanwhile."""
        self.building = False
        self.shown = {}
        errors = self.errors
        result, lines = outcome
        print(self._finish(what, started, result, lines), flush=True)
        stats = result.stats if result else None
        if not shown or self.errors != errors or (stats is not None and (stats.written or stats.removed)):
            LiveReloadHandler.reload_waiters("*")  # a full reload: stylesheets have hashed names, so swapping one cannot work
        if self.waiting:
            (what, paths), self.waiting = self.waiting, None
            if self.changed(what, paths):
                LiveReloadHandler.reload_waiters("*")
        else:
            IOLoop.current().call_later(COLLECT_AFTER, self._collect)

    def _collect(self) -> None:
        """Collect what the builds left to the cyclic collector (Jinja's environment and templates
        refer to one another), which builds pause (see content.collector_paused): without this a
        preview kept open all day would grow by every build's leftovers. Once the tabs have reloaded
        and nothing is building, as a full pass holds the interpreter for about 0.1 s at 10,000
        articles: run during a save, it delayed the edited page by that much."""
        if not self.building:
            gc.collect()

    def _finish(self, what: str, started: float, result: BuildResult | None, lines: list[str]) -> str:
        if result is not None and result.stale_search is not None:
            self.search.start(result.stale_search)
        self.errors = [line for line in lines if ": warning: " not in line]
        if result is None or not result.unchanged:  # an unchanged build ran nothing: the last plan still holds
            self.warm = result.warm if result else None
        ms = (time.perf_counter() - started) * 1000
        for line in lines:
            print(line, flush=True)
        if result is None:
            return f"{what}: build failed, still serving the last good pages ({ms:.0f} ms)"
        stats = result.stats
        written = f"{stats.written} files written, {stats.removed} removed" if stats else "nothing written"
        return f"{what}: {result.rendered} pages rendered, {written} ({ms:.0f} ms)"

    def banner(self) -> bytes:
        """The error banner for served pages (empty when the last build was clean)."""
        if not self.errors:
            return b""
        text = html.escape("\n".join(["Build problem (fix and save; this page shows the last good build):", *self.errors]))
        return f'<div id="digest-build-error" role="alert" style="{_BANNER_STYLE}">{text}</div>'.encode()


COLLECT_AFTER = 0.5  # seconds after a build, when the tabs have reloaded, to collect its leftovers (Preview._collect)


def _handler(preview: Preview) -> type[StaticFileHandler]:
    class PreviewFileHandler(StaticFileHandler):
        """Serves the preview folder, with the error banner after <body> while a build is broken,
        and a fast-rendered page instead of its file while the build behind it runs."""

        def set_extra_headers(self, path: str) -> None:
            self.set_header("Cache-Control", "no-store")

        def should_return_304(self) -> bool:
            return False  # the banner can change while the file does not

        @classmethod
        def get_content(cls, abspath: str, start: int | None = None, end: int | None = None):  # type: ignore[override]
            shown = preview.shown.get(abspath)
            data = b"".join(super().get_content(abspath, start, end)) if shown is None else shown[start:end]
            if abspath.endswith(".html") and start is None and end is None:
                data = _allow_preview_scripts(_with_banner(data, preview.banner()), preview.live_script)
            yield data

        def get_content_size(self) -> int:
            data = b"".join(self.get_content(self.absolute_path))
            return len(data)

    return PreviewFileHandler


def _allow_preview_scripts(page: bytes, live_script: bytes) -> bytes:
    """Let the page's Content-Security-Policy run livereload's inline loader and style the banner.

    Only the served preview is relaxed, by the hash of that one script; built files keep their policy.
    """
    inline = re.search(rb"<script[^>]*>(.*?)</script>", live_script, re.S)
    if inline is None:
        return page
    digest = base64.b64encode(hashlib.sha256(inline.group(1)).digest()).decode()
    page = page.replace(b"script-src 'self'", f"script-src 'self' 'sha256-{digest}'".encode(), 1)
    return page.replace(b"style-src 'self'", b"style-src 'self' 'unsafe-inline'", 1)


class _PreviewServer(Server):
    """livereload's server, remembering the live-reload snippet it injects (its CSP hash is needed)."""

    live_script = b""

    def get_web_handlers(self, script: bytes):  # type: ignore[no-untyped-def]
        self.live_script = script
        return super().get_web_handlers(script)


def _with_banner(page: bytes, banner: bytes) -> bytes:
    if not banner:
        return page
    at = page.find(b"<body")
    at = page.find(b">", at) + 1 if at >= 0 else 0
    return page[:at] + banner + page[at:]


def free_port(host: str, port: int) -> int:
    """``port`` if it can be bound on ``host``, else the next free one (0: any free port)."""
    for candidate in [port] if port == 0 else range(port, port + PORT_TRIES):
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind((host, candidate))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                continue
            return probe.getsockname()[1]
    raise OSError(errno.EADDRINUSE, f"ports {port}-{port + PORT_TRIES - 1} on {host} are all in use")


def _watch(server: Server, path: Path, task: Callable[[], bool]) -> None:
    if path.exists():
        server.watch(str(path), task)


def serve(options: ServeOptions) -> int:
    """Build the preview, serve it, rebuild on every save until Ctrl-C."""
    try:
        port = free_port(options.host, options.port)
    except OSError as exc:
        print(f"error: cannot listen on {options.host}:{options.port}: {exc.strerror or exc}")
        return 2
    if options.port and port != options.port:
        print(f"port {options.port} is in use; serving on port {port} instead")
    url = f"http://{'[' + options.host + ']' if ':' in options.host else options.host}:{port}/"
    build_options = replace(options.build, output=options.build.cache_dir / "preview" if options.build.cache_dir
                            else Path(".cache/preview"), base_url=url, write=True, keep_warm=True)
    preview = Preview(build_options, SearchRefresh(build_options.output, build_options.output.with_name("preview-search")))
    preview.search.forget_unfinished()
    print(preview.rebuild("initial build"), flush=True)
    # From now on a save with a broken article keeps the last good pages instead of dropping that page,
    # and the search index catches up after the reload instead of holding it up.
    preview.options = replace(build_options, strict=True, defer_search=True)

    watcher = EventWatcher()
    server = preview.server = _PreviewServer(watcher=watcher)
    server.SFH = _handler(preview)

    def changed(kind: str) -> Callable[[], bool]:
        def task() -> bool:
            reload_now = preview.changed(f"{kind} changed ({watcher.filepath})", watcher.batch)
            watcher.filepath = "*"  # a full reload: stylesheets have hashed names, so swapping one cannot work
            return reload_now
        return task

    _watch(server, build_options.content, changed("content"))
    for folder in layers(build_options.templates, DEFAULT_TEMPLATES):
        _watch(server, folder, changed("templates"))
    for folder in layers(build_options.static, DEFAULT_STATIC):
        _watch(server, folder, changed("static"))
    if build_options.config:
        _watch(server, build_options.config, changed("config"))
    LiveReloadHandler.DEFAULT_RELOAD_TIME = 0  # reload after every save, however quick the next one comes
    server._setup_logging = lambda: None  # one line per rebuild is ours to print, not livereload's chatter
    for name in ("livereload", "tornado.access", "tornado.application", "tornado.general"):
        logging.getLogger(name).setLevel(logging.ERROR)

    def ready() -> None:  # runs once the loop has started, so the port is already listening
        print(f"serving the preview at {url} (Ctrl-C stops)", flush=True)
        if options.open_browser:
            webbrowser.open(url)

    IOLoop.current().add_callback(ready)
    server.serve(port=port, host=options.host, root=str(build_options.output), restart_delay=0)
    watcher.stop()
    preview.search.stop()
    print("stopped", flush=True)
    return 0
