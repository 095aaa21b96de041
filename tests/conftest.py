from __future__ import annotations

from pathlib import Path

import pytest

from digest.pipeline import BuildOptions, BuildResult, build
from tests.helpers import ROOT


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
