"""Fast render: a plain article edit shows at once, and the full build that follows agrees with it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from digest.fastrender import Warm, render_edited
from digest.pipeline import BuildOptions, BuildResult, build
from tests.helpers import tree_bytes


def _build(synthetic_project: Path, output: str = "_site", cache: str | None = ".cache") -> BuildResult:
    return build(BuildOptions(content=synthetic_project / "content", output=synthetic_project / output,
                              cache_dir=synthetic_project / cache if cache else None, jobs=1, keep_warm=True))


def _warm(synthetic_project: Path) -> Warm:
    warm = _build(synthetic_project).warm
    assert warm is not None
    return warm


def _article(synthetic_project: Path) -> Path:
    return sorted((synthetic_project / "content").rglob("*.md"))[7]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_excerpt_edit_is_rendered_at_once_and_the_full_build_agrees(synthetic_project: Path):
    warm = _warm(synthetic_project)
    article = _article(synthetic_project)
    _edit(article, 'excerpt: "', 'excerpt: "Fresh from the editor. ')
    built = tree_bytes(synthetic_project / "_site")
    shown = render_edited(warm, synthetic_project / "content", [article])
    [(path, page)] = shown.items()
    assert path.endswith("/index.html") and b"Fresh from the editor." in page
    assert tree_bytes(synthetic_project / "_site") == built  # shown by the preview, never written: the writer's job

    # The full build that follows writes the same page, and the site is the one a clean build makes.
    _build(synthetic_project)
    assert (synthetic_project / "_site" / path).read_bytes() == page
    _build(synthetic_project, output="clean", cache=None)
    assert tree_bytes(synthetic_project / "_site") == tree_bytes(synthetic_project / "clean")


@pytest.mark.parametrize("old, new", [
    ('title: "', 'title: "A new headline moves the page '),  # another slug: another URL
    ("topics:\n", "topics:\n  - Gardening\n"),  # another topic list
    ("published: true", "published: false"),  # unpublished: the page goes away
    ("category: news\n", "category: [unclosed\n"),  # broken: the full build reports it
])
def test_anything_but_a_plain_edit_waits_for_the_full_build(synthetic_project: Path, old: str, new: str):
    warm = _warm(synthetic_project)
    article = _article(synthetic_project)
    _edit(article, old, new)
    assert render_edited(warm, synthetic_project / "content", [article]) == {}


def test_new_files_and_files_outside_the_content_folder_are_left_to_the_full_build(synthetic_project: Path, tmp_path: Path):
    warm = _warm(synthetic_project)
    article = _article(synthetic_project)
    copy = article.with_name("copy-of-" + article.name)
    shutil.copy(article, copy)
    outside = tmp_path / "elsewhere.md"
    shutil.copy(article, outside)
    template = synthetic_project / "templates" / "article.html"  # saved with the article: the old templates must not show
    template.write_text(template.read_text(encoding="utf-8") + "<!-- edited -->", encoding="utf-8")
    for changed in ([copy], [outside], [article, copy], [article, template]):
        assert render_edited(warm, synthetic_project / "content", changed) == {}


def test_an_editors_temporary_files_do_not_stop_it_but_a_deleted_article_does(synthetic_project: Path):
    warm = _warm(synthetic_project)
    article = _article(synthetic_project)
    _edit(article, 'excerpt: "', 'excerpt: "Saved through a temporary file. ')
    vanished = article.with_name("sedX1b2c3")  # sed -i writes one, then renames it over the article
    notes = synthetic_project / "content" / "notes.json"
    notes.write_text("{}")
    shown = render_edited(warm, synthetic_project / "content", [vanished, notes, article, article.parent])
    assert len(shown) == 1 and b"Saved through a temporary file." in next(iter(shown.values()))

    other = sorted((synthetic_project / "content").rglob("*.md"))[8]
    other.unlink()
    assert render_edited(warm, synthetic_project / "content", [article, other]) == {}


def test_a_hostile_edit_is_escaped_in_the_page_shown_first(synthetic_project: Path):
    warm = _warm(synthetic_project)
    article = _article(synthetic_project)
    _edit(article, 'excerpt: "', 'excerpt: "<script>alert(1)</script><img src=x onerror=alert(2)> ')
    [page] = render_edited(warm, synthetic_project / "content", [article]).values()
    assert b"<script>alert(1)" not in page and b"<img src=x" not in page
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page
