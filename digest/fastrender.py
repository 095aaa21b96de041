"""Fast render for the preview: an edited article's own page first, from the last build's plan.

A one-article save in ``serve`` needs the whole model and plan again (related stories,
clusters, rankings, every list the article is on): seconds at 10,000 articles, however
little changed. The page the editor is looking at, though, is the article's, and all of it
but the sidebar and the navigation comes from the file just saved. So the preview parses the
saved file, renders that one page with the last build's related stories and navigation,
serves those bytes in place of the built file and reloads the tab; then the full incremental
build runs, which writes every page the edit touched (this one too) and reloads again. This
is the idea of Hugo's "fast render" mode. Nothing here writes to the output: only the writer
does, so what it compares (unchanged pages, stale search shards) stays true. Only a plain edit
qualifies: the same URL, topics, provider and publication state, and a file that loads without
a problem. Anything else (a new or deleted file, a title edit that moves the page, a template
or config change) waits for the full build.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from .config import Config
from .content import ARTICLE_SUFFIXES, parse_article
from .model import Article
from .pages import Page, article_post, replan_article
from .render import Renderer
from .site import Post, slugify

MAX_FILES = 5  # more edited files at once than this is a bulk change: the full build alone is quicker to trust


@dataclass(frozen=True)
class Warm:
    """What the preview keeps from its last good build to re-render an edited article at once."""

    config: Config
    renderer: Renderer
    articles: dict[str, Page]  # article pages by source path (relative to the content folder)

    @classmethod
    def of(cls, config: Config, renderer: Renderer, pages: Iterable[Page]) -> Warm:
        posts = ((article_post(page), page) for page in pages)
        return cls(config, renderer, {post.article.source: page for post, page in posts if post})


def render_edited(warm: Warm, content: Path, changed: Iterable[Path]) -> dict[str, bytes]:
    """The pages of the edited articles in ``changed``, rendered: bytes by output path.

    Empty when any change is not a plain edit of an article the last build published: then
    the full build alone shows it.
    """
    root = content.resolve()
    pages = []
    for path in sorted(set(changed)):
        source = _source(root, path)
        if _irrelevant(warm, source, path):
            continue
        page = _replanned(warm, source, path)
        if page is None:
            return {}
        pages.append(page)
    if not 0 < len(pages) <= MAX_FILES:
        return {}
    return {page.output_path: warm.renderer.render(page) for page in pages}


def _irrelevant(warm: Warm, source: str | None, path: Path) -> bool:
    """A path in the content folder that the loader never reads: a folder, a file of another kind,
    or one that came and went (an editor's or ``sed -i``'s temporary file). A deleted article is
    relevant (a removal), and so is anything outside the folder (``source`` None: a template, the config)."""
    if source is None:
        return False
    if path.is_dir() or (path.is_file() and not path.name.lower().endswith(ARTICLE_SUFFIXES)):
        return True
    return not path.exists() and source not in warm.articles


def _source(root: Path, path: Path) -> str | None:
    """``path`` as an article's source (relative to the content folder), None when it is outside."""
    resolved = path.resolve()
    return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) and not path.is_symlink() else None


def _replanned(warm: Warm, source: str | None, path: Path) -> Page | None:
    """The edited article's page, or None when the edit is not one this shortcut may show."""
    page = warm.articles.get(source) if source else None
    if page is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) > warm.config.max_file_size:
        return None
    article, problems = parse_article(data, source, warm.config.tz)
    old = article_post(page)
    if old is None or article is None or problems or not _same_place(old, article):
        return None
    return replan_article(page, replace(old, article=article))


def _same_place(old: Post, article: Article) -> bool:
    """Whether the full build would give the edited article the same URL, topics, badge and state."""
    before = old.article
    return (article.web_url == before.web_url and article.published == before.published
            and article.topics == before.topics and article.provider == before.provider
            and article.draft == before.draft
            and slugify(article.title, "article") == slugify(before.title, "article"))
