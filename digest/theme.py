"""The theme: the default templates and static files, with the user's folders layered on top.

A user who wants to change one partial copies just that file into their own folder; every
template or asset they do not copy keeps coming from the default theme, so upgrades of the
default theme still reach them. Lookups go user folder first, default theme second.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

PROJECT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATES = PROJECT / "templates"
DEFAULT_STATIC = PROJECT / "static"


def layers(user: Path | None, default: Path) -> list[Path]:
    """The folders to search, the user's first; the default theme appears once."""
    folders = [user] if user is not None and user.is_dir() else []
    if not any(folder.resolve() == default for folder in folders):
        folders.append(default)
    return folders


def template_loader(user: Path | None) -> jinja2.BaseLoader:
    """A loader that finds each template in the user's folder, else in the default theme."""
    return jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(folder)) for folder in layers(user, DEFAULT_TEMPLATES)])
