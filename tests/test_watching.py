"""The preview's watcher: OS events reach the right task, a save by rename included, other folders ignored."""

from __future__ import annotations

import os
from pathlib import Path

from tornado.ioloop import IOLoop

from digest.watching import EventWatcher


def _first_run(watcher: EventWatcher, change, timeout: float = 20.0) -> list[str]:
    """Start the watcher on a fresh loop, make ``change`` once it is waiting, and return the tasks run."""
    loop = IOLoop(make_current=False)
    ran: list[str] = []

    def poll() -> None:
        filepath, _ = watcher.examine()
        if filepath:
            loop.stop()

    async def begin() -> None:
        watcher.start(poll)
        loop.call_later(0.5, change)  # give the OS watch a moment to be in place
        loop.call_later(timeout, loop.stop)

    for path, task in list(watcher._tasks.items()):
        task["func"] = lambda path=path: ran.append(path)
    loop.add_callback(begin)
    loop.start()
    watcher.stop()
    loop.close()
    return ran


def test_an_edit_in_a_folder_runs_that_folders_task(tmp_path: Path):
    content, static = tmp_path / "content", tmp_path / "static"
    (content / "2024").mkdir(parents=True)
    static.mkdir()
    story = content / "2024" / "story.md"
    story.write_text("one")
    watcher = EventWatcher()
    watcher.watch(str(content))
    watcher.watch(str(static))
    assert _first_run(watcher, lambda: story.write_text("two")) == [str(content)]
    assert watcher.filepath == str(story.resolve())


def test_a_config_saved_by_rename_is_seen_and_the_output_folder_is_not_watched(tmp_path: Path):
    config = tmp_path / "site.yaml"
    config.write_text("title: A\n")
    (tmp_path / "_site").mkdir()
    watcher = EventWatcher()
    watcher.watch(str(config))

    def save_like_an_editor() -> None:
        (tmp_path / "_site" / "index.html").write_text("built")  # not watched: nothing runs for it
        (tmp_path / "site.yaml.new").write_text("title: B\n")
        os.replace(tmp_path / "site.yaml.new", config)

    assert _first_run(watcher, save_like_an_editor) == [str(config)]
    assert watcher.filepath == str(config.resolve())
