"""End to end: ``python build.py`` in a subprocess, as a user runs it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.helpers import ROOT, SECURED, SEED, run_build, tree_bytes, write_article


def make_project(tmp_path: Path) -> Path:
    """A user's project folder: the theme, a config and a content folder with the seed."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "templates", project / "templates")
    shutil.copytree(ROOT / "static", project / "static")
    (project / "site.yaml").write_text("title: Test Digest\nbase_url: https://example.org/\n")
    (project / "content").mkdir()
    shutil.copy(SEED, project / "content" / SEED.name)
    return project


def test_help_lists_every_command():
    result = run_build("--help")
    assert result.returncode == 0
    for command in ("build", "check"):
        assert command in result.stdout


def test_sample_build_has_every_page_type_and_no_secret(tmp_path: Path):
    out = tmp_path / "_site"
    result = run_build("build", "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert "built 19 pages" in result.stdout
    files = tree_bytes(out)
    for expected in ("index.html", "404.html", "topics/ai/index.html", "topics/computer-vision/index.html",
                     "providers/nypost-com/index.html", "feed.xml", "sitemap.xml", "providers/index.html",
                     "2020/index.html", "2020/08/index.html", "2020/08/17/index.html", "search/index.html", "pagefind/1-00/pagefind.js",
                     "2020/08/17/de-blasio-calls-for-clear-standards-for-facial-recognition-tech-for-nypd/index.html"):
        assert expected in files
    assert not any(SECURED.encode() in data for data in files.values())


def test_broken_file_is_reported_and_the_rest_is_built(tmp_path: Path):
    project = make_project(tmp_path)
    (project / "content" / "broken.md").write_text("---\ntitle: ok\npublishedDateTime: [oops\n---\n")
    write_article(project / "content", "good.md", title="A good story", webUrl="https://example.com/good")
    result = run_build("build", cwd=project)
    assert result.returncode == 1
    assert result.stderr.startswith("broken.md:")
    assert "Traceback" not in result.stderr
    html = (project / "_site" / "index.html").read_text()
    assert "A good story" in html and "De Blasio" in html
    again = run_build("build", cwd=project)  # nothing changed: the build stops early, but not silently
    assert "nothing changed" in again.stdout and again.returncode == 1 and again.stderr.startswith("broken.md:")


def test_check_writes_nothing_and_strict_keeps_the_old_site(tmp_path: Path):
    project = make_project(tmp_path)
    assert run_build("check", cwd=project).returncode == 0
    assert not (project / "_site").exists()
    assert run_build("build", cwd=project).returncode == 0
    before = tree_bytes(project / "_site")
    (project / "content" / "bad.md").write_text("no front matter")
    write_article(project / "content", "new.md", webUrl="https://example.com/new")
    check = run_build("check", cwd=project)
    assert check.returncode == 1 and "bad.md:1: no YAML front matter" in check.stderr
    strict = run_build("build", "--strict", cwd=project)
    assert strict.returncode == 1
    assert tree_bytes(project / "_site") == before


def test_usage_and_config_errors_exit_2_without_traceback(tmp_path: Path):
    project = make_project(tmp_path)
    assert run_build("build", "--content", "missing", cwd=project).returncode == 2
    (project / "site.yaml").write_text("page_size: zero\n")
    result = run_build("build", cwd=project)
    assert result.returncode == 2 and "page_size" in result.stderr and "Traceback" not in result.stderr
    (project / "site.yaml").write_text("title: ok\n")
    (project / "templates" / "home.html").write_text("{% block main %}{% endblok %}")
    result = run_build("build", cwd=project)
    assert result.returncode == 2 and "home.html" in result.stderr and "Traceback" not in result.stderr


def test_failed_build_leaves_previous_site_intact(tmp_path: Path):
    project = make_project(tmp_path)
    assert run_build("build", cwd=project).returncode == 0
    before = tree_bytes(project / "_site")
    (project / "templates" / "article.html").write_text("{{ no_such_variable.attribute }}")
    write_article(project / "content", "new.md", webUrl="https://example.com/new")
    assert run_build("build", cwd=project).returncode == 2
    assert tree_bytes(project / "_site") == before


def test_two_builds_are_byte_identical_and_deleted_articles_vanish(tmp_path: Path):
    project = make_project(tmp_path)
    write_article(project / "content", "extra.md", title="Extra", webUrl="https://example.com/extra")
    run_build("build", "--output", "one", cwd=project)
    run_build("build", "--output", "two", cwd=project)
    assert tree_bytes(project / "one") == tree_bytes(project / "two")
    second = run_build("build", "--output", "one", cwd=project)
    assert second.returncode == 0 and "nothing changed since the last build" in second.stdout
    (project / "content" / "extra.md").unlink()
    run_build("build", "--output", "one", cwd=project)
    assert not (project / "one" / "2024" / "05" / "01" / "extra").exists()


def test_drafts_flag_and_base_url_override(tmp_path: Path):
    project = make_project(tmp_path)
    write_article(project / "content", "draft.md", title="Draft story", webUrl="https://example.com/d", published=False)
    run_build("build", cwd=project)
    assert "Draft story" not in (project / "_site" / "index.html").read_text()
    run_build("build", "--drafts", "--base-url", "https://example.org/sub", cwd=project)
    home = (project / "_site" / "index.html").read_text()
    assert "Draft story" in home and re.search(r'href="/sub/static/css/site\.[0-9a-f]{8}\.css"', home)
