"""Full-text search with Pagefind: a static index built from the staged site, no server needed.

Pagefind indexes only elements marked ``data-pagefind-body``; the article template puts it on
published articles alone, so list pages, drafts and everything else stay out of the index (and
``secured`` never reaches any page). The binary comes from the ``pagefind[bin]`` package; when
it is missing the site is built without search and the build says so (a warning, exit 0).
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

from .config import Config
from .content import Problem
from .model import Article
from .pages import SEARCH_BUNDLE
INSTALL_HINT = "pip install 'pagefind[bin]'"


class SearchError(Exception):
    """Pagefind ran but failed: the build stops and the previous site stays (exit status 2)."""


def find_pagefind() -> Path | None:
    """The Pagefind binary: the one the ``pagefind`` package finds (its ``pagefind_bin`` wheel,
    ``PAGEFIND_BINARY_PATH``), else ``pagefind`` on PATH; None when there is none."""
    try:
        from pagefind.service import get_executable
    except ImportError:
        found = shutil.which("pagefind")
        return Path(found) if found else None
    binary = get_executable()
    return binary if binary is not None and binary.is_file() else None


def resolve(config: Config, articles: tuple[Article, ...], config_path: Path | None) -> tuple[Config, Path | None, list[Problem]]:
    """Decide whether this build gets search: the config with ``search`` as it will really be, the
    binary to run, and a warning when search was asked for but cannot be built.

    With no published article there is nothing to index (Pagefind would then fall back to
    indexing whole pages, drafts included), so search is left out without a warning.
    """
    if not config.search:
        return config, None, []
    if not any(not article.draft for article in articles):
        return dataclasses.replace(config, search=False), None, []
    binary = find_pagefind()
    if binary is None:
        warning = Problem(
            str(config_path or "site.yaml"), 1,
            f"search is on but the Pagefind binary is not installed ({INSTALL_HINT}); "
            "the site is built without search (no /search/ page, no search box)",
            warning=True,
        )
        return dataclasses.replace(config, search=False), None, [warning]
    return config, binary, []


def index_command(binary: Path, site_dir: Path, output_path: Path | None = None) -> list[str]:
    """Pagefind over ``site_dir``, writing the index and its UI into ``site_dir/pagefind`` or ``output_path``."""
    into = ["--output-path", str(output_path)] if output_path else ["--output-subdir", SEARCH_BUNDLE]
    return [str(binary), "--site", str(site_dir), *into, "--silent"]


def build_index(binary: Path, site_dir: Path) -> None:
    """Run Pagefind over the staged site; it writes the index and its UI into ``site_dir/pagefind``."""
    command = index_command(binary, site_dir)
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SearchError(f"search index: cannot run {binary}: {exc}") from None
    if run.returncode != 0:
        detail = (run.stderr or run.stdout).strip().splitlines()
        raise SearchError(f"search index: pagefind failed: {detail[-1] if detail else f'exit status {run.returncode}'}")
