from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.corpus import write_corpus
from digest.pipeline import BuildOptions, BuildResult, build
from tests.helpers import ROOT

SYNTHETIC_COUNT = 150  # articles in the synthetic corpus of the incremental-build tests


@pytest.fixture(scope="session")
def synthetic_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated corpus in the reference article's shape (benchmarks/corpus.py), written once per run."""
    folder = tmp_path_factory.mktemp("corpus") / "content"
    write_corpus(folder, SYNTHETIC_COUNT)
    return folder


@pytest.fixture
def synthetic_project(tmp_path: Path, synthetic_corpus: Path) -> Path:
    """A private copy of the synthetic corpus and the theme, so tests may edit anything."""
    shutil.copytree(synthetic_corpus, tmp_path / "content")
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    shutil.copytree(ROOT / "static", tmp_path / "static")
    return tmp_path


@pytest.fixture
def site_builder(tmp_path: Path):
    """Build a content folder with the project's templates and static files into tmp_path/_site."""

    def _build(content: Path, **options) -> tuple[BuildResult, Path]:
        output = options.pop("output", tmp_path / "_site")
        result = build(BuildOptions(
            content=content,
            output=output,
            templates=ROOT / "templates",
            static=ROOT / "static",
            **options,
        ))
        return result, output

    return _build
