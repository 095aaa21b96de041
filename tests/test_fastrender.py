"""Fast render: a plain article edit shows at once, and the full build that follows agrees with it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.corpus import write_corpus
from digest.fastrender import Warm, render_edited
from digest.pipeline import BuildOptions, BuildResult, build
from tests.helpers import tree_bytes

COUNT = 60


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus") / "content"
    write_corpus(folder, COUNT)
    return folder


@pytest.fixture
def project(tmp_path: Path, corpus: Path) -> Path:
    shutil.copytree(corpus, tmp_path / "content")
    return tmp_path


def _build(project: Path, output: str = "_site", cache: str | None = ".cache") -> BuildResult:
    return build(BuildOptions(content=project / "content", output=project / output,
                              cache_dir=project / cache if cache else None, jobs=1, keep_warm=True))


def _warm(project: Path) -> Warm:
    warm = _build(project).warm
    assert warm is not None
    return warm


def _article(project: Path) -> Path:
    return sorted((project / "content").rglob("*.md"))[7]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_excerpt_edit_is_rendered_at_once_and_the_full_build_agrees(project: Path):
    warm = _warm(project)
    article = _article(project)
    _edit(article, 'excerpt: "', 'excerpt: "Fresh from the editor. ')
    built = tree_bytes(project / "_site")
    shown = render_edited(warm, project / "content", [article])
    [(path, page)] = shown.items()
    assert path.endswith("/index.html") and b"Fresh from the editor." in page
    assert tree_bytes(project / "_site") == built  # shown by the preview, never written: the writer's job

    # The full build that follows writes the same page, and the site is the one a clean build makes.
    _build(project)
    assert (project / "_site" / path).read_bytes() == page
    _build(project, output="clean", cache=None)
    assert tree_bytes(project / "_site") == tree_bytes(project / "clean")


@pytest.mark.parametrize("old, new", [
    ('title: "', 'title: "A new headline moves the page '),  # another slug: another URL
    ("topics:\n", "topics:\n  - Gardening\n"),  # another topic list
    ("published: true", "published: false"),  # unpublished: the page goes away
    ("category: news\n", "category: [unclosed\n"),  # broken: the full build reports it
])
def test_anything_but_a_plain_edit_waits_for_the_full_build(project: Path, old: str, new: str):
    warm = _warm(project)
    article = _article(project)
    _edit(article, old, new)
    assert render_edited(warm, project / "content", [article]) == {}


def test_new_files_and_files_outside_the_content_folder_are_left_to_the_full_build(project: Path, tmp_path: Path):
    warm = _warm(project)
    article = _article(project)
    copy = article.with_name("copy-of-" + article.name)
    shutil.copy(article, copy)
    outside = tmp_path / "elsewhere.md"
    shutil.copy(article, outside)
    template = tmp_path / "templates" / "article.html"  # saved with the article: the old templates must not show
    template.parent.mkdir()
    template.write_text("{% extends 'base.html' %}")
    for changed in ([copy], [outside], [article, copy], [article, template]):
        assert render_edited(warm, project / "content", changed) == {}


def test_an_editors_temporary_files_do_not_stop_it_but_a_deleted_article_does(project: Path):
    warm = _warm(project)
    article = _article(project)
    _edit(article, 'excerpt: "', 'excerpt: "Saved through a temporary file. ')
    vanished = article.with_name("sedX1b2c3")  # sed -i writes one, then renames it over the article
    notes = project / "content" / "notes.json"
    notes.write_text("{}")
    shown = render_edited(warm, project / "content", [vanished, notes, article, article.parent])
    assert len(shown) == 1 and b"Saved through a temporary file." in next(iter(shown.values()))

    other = sorted((project / "content").rglob("*.md"))[8]
    other.unlink()
    assert render_edited(warm, project / "content", [article, other]) == {}
