"""`make demo`: the synthetic corpus with benchmarks/demo.yaml builds a site marked as synthetic."""

from __future__ import annotations

from pathlib import Path

from benchmarks.corpus import write_corpus
from tests.helpers import ROOT, run_build


def test_demo_settings_build_a_site_that_says_it_is_synthetic(tmp_path: Path):
    write_corpus(tmp_path / "content", 40)  # `make demo` uses 1,000; the recipe is the same
    result = run_build("build", "--content", str(tmp_path / "content"), "--config", str(ROOT / "benchmarks/demo.yaml"),
                       "--output", str(tmp_path / "site"), "--cache", str(tmp_path / ".cache"))
    assert result.returncode == 0, result.stderr
    home = (tmp_path / "site" / "index.html").read_text()
    assert "News Digest demo (synthetic)" in home and "None of it is real news" in home
    assert (tmp_path / "site" / "providers" / "index.html").is_file()
    assert (tmp_path / "site" / "2024" / "01" / "01" / "index.html").is_file()
    assert (tmp_path / "site" / "pagefind").is_dir()
    assert "demo:" in (ROOT / "Makefile").read_text()
