"""The hostile corpus (tests/hostile/content), built end to end as a user would.

Every good article is published, safely; every bad file is named with its line on stderr;
nothing outside the output folder is touched; the private `secured` values appear nowhere.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.corpus import write_corpus
from tests.helpers import ROOT, run_build, tree_bytes
from tests.html_safety import injection_problems

HOSTILE = ROOT / "tests" / "hostile" / "content"

# Every bad file, the line it is reported at, and a fragment of the message.
BAD_FILES = {
    "bad_alias_bomb.md": (5, "YAML aliases"),
    "bad_binary.txt": (1, "binary"),
    "bad_blank_title.md": (2, "'title'"),
    "bad_custom_tag.md": (2, "YAML tag '!custom'"),
    "bad_date_impossible.md": (3, "month must be in 1..12"),
    "bad_date_text.md": (3, "not an ISO 8601 date"),
    "bad_empty.md": (1, "file is empty"),
    "bad_javascript_web_url.md": (4, "'webUrl' must be an absolute http(s) URL"),
    "bad_malformed_yaml.md": (5, "invalid YAML"),
    "bad_missing_title.md": (2, "'title'"),
    "bad_missing_web_url.md": (2, "'webUrl'"),
    "bad_no_front_matter.md": (1, "no YAML front matter"),
    "bad_not_mapping.md": (2, "must be a mapping"),
    "bad_not_utf8.md": (2, "not valid UTF-8"),
    "bad_python_tag.md": (5, "python/object/apply"),
    "bad_unclosed.md": (1, "not closed"),
    "bad_too_large.md": (1, "larger than the 20000 byte limit"),
    "escape.md": (1, "link leads outside the content folder"),
    "escape_dir": (1, "link leads outside the content folder"),
}
GOOD_TITLES = [
    "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; Breaking &#34;quotes&#34; &amp; &lt;b&gt;bold&lt;/b&gt;",
    "Story with refused URLs",
    "Story with a hostile Markdown body",
    "../../etc/passwd",
    "… ... ///",
    "Very long title Very long title",
    "الذكاء الاصطناعي",
    "12345",
    "Same headline, same day",
    "Duplicate URL, the better copy",
    "BOM and CRLF story",
    "Control chars in title",
]


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory):
    """Build the hostile corpus once: the project in tmp, plus a too-large file and links out."""
    base = tmp_path_factory.mktemp("hostile")
    project = base / "project"
    shutil.copytree(ROOT / "templates", project / "templates")
    shutil.copytree(ROOT / "static", project / "static")
    shutil.copytree(HOSTILE, project / "content")
    (project / "site.yaml").write_text("title: Hostile\nbase_url: https://example.org/\nmax_file_size: 20000\n")
    (project / "content" / "bad_too_large.md").write_text("---\ntitle: big\n---\n" + "x" * 30000)
    secret = base / "outside.md"
    secret.write_text('---\ntitle: "Outside secret"\npublishedDateTime: 2024-01-01\nwebUrl: "https://e.com/o"\n---\n')
    (base / "outside_dir").mkdir()
    shutil.copy(secret, base / "outside_dir" / "inside.md")
    (project / "content" / "escape.md").symlink_to(secret)
    (project / "content" / "escape_dir").symlink_to(base / "outside_dir")
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in base.rglob("*") if p.is_file()}
    result = run_build("build", cwd=project)
    after = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in base.rglob("*") if p.is_file()
             and not p.is_relative_to(project / "_site") and not p.is_relative_to(project / ".cache")
             and p != project / "._site.files"}  # the writer's record of the output's files
    return project, result, before, after


def test_exit_status_is_1_and_every_bad_file_is_named_with_its_line(hostile_build):
    _, result, _, _ = hostile_build
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if ": warning: " not in line]
    assert len(errors) == len(BAD_FILES), result.stderr
    for name, (line, fragment) in BAD_FILES.items():
        matching = [e for e in errors if e.startswith(f"{name}:{line}: ")]
        assert matching and fragment in matching[0], (name, result.stderr)


def test_refused_urls_and_duplicates_are_warnings_with_lines(hostile_build):
    _, result, _, _ = hostile_build
    warnings = [line for line in result.stderr.splitlines() if ": warning: " in line]
    assert {w.split(": warning:")[0] for w in warnings} == {
        "good_unsafe_urls.md:5", "good_unsafe_urls.md:6", "good_unsafe_urls.md:12", "good_unsafe_urls.md:13",
        "good_unsafe_urls.md:17", "good_unsafe_urls.md:19", "dup_web_url_worse.md:1",
    }


def test_every_good_article_is_published(hostile_build):
    project, _, _, _ = hostile_build
    site = project / "_site"
    pages = {p: p.read_text() for p in site.rglob("*.html")}
    articles = [p for p in pages if len(p.relative_to(site).parts) == 5]
    assert len(articles) == 13  # 14 good files, one duplicate webUrl dropped
    for title in GOOD_TITLES:
        assert any(title in html for html in pages.values()), title
    assert not any("Duplicate URL, the worse copy" in html for html in pages.values())
    assert len({p.parent for p in articles}) == 13  # same titles never overwrite each other


def test_nothing_is_injected_and_no_secret_leaks(hostile_build):
    project, result, _, _ = hostile_build
    for path, data in tree_bytes(project / "_site").items():
        assert b"HOSTILE-SECRET" not in data, path
        if path.endswith(".html"):
            assert injection_problems(data.decode()) == [], path
    assert "HOSTILE-SECRET" not in result.stderr + result.stdout


def test_paths_stay_inside_the_output_and_sources_are_untouched(hostile_build):
    project, _, before, after = hostile_build
    for path in (project / "_site").rglob("*"):
        assert path.resolve().is_relative_to((project / "_site").resolve())
    assert after == before  # content, templates, config and the files outside: not one byte or mtime changed
    assert not Path("/tmp/pwned").exists()


def _big_project(tmp_path: Path, count: int) -> Path:
    project = tmp_path / "project"
    shutil.copytree(ROOT / "templates", project / "templates")
    shutil.copytree(ROOT / "static", project / "static")
    write_corpus(project / "content", count)
    return project


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_a_build_killed_midway_leaves_the_previous_site_intact(tmp_path: Path, sig: signal.Signals):
    project = _big_project(tmp_path, 1500)
    assert run_build("build", cwd=project).returncode == 0
    before = tree_bytes(project / "_site")
    base = project / "templates" / "base.html"  # a template change makes every page render again
    base.write_text(base.read_text().replace("</footer>", "<p>changed</p></footer>"))
    staging = project / "._site.staging"
    # A shell starts background jobs with SIGINT ignored, and Python keeps that: reset it, as a terminal would have it.
    process = subprocess.Popen([sys.executable, str(ROOT / "build.py"), "build"], cwd=project,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if staging.is_dir() and sum(1 for _ in staging.rglob("index.html")) > 20:
            break
        time.sleep(0.005)
    assert process.poll() is None, "the build finished before it could be interrupted"
    os.kill(process.pid, sig)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode != 0, f"the build was not interrupted: {stdout} {stderr}"
    assert tree_bytes(project / "_site") == before
    if sig == signal.SIGINT:
        assert "previous site was left as it was" in stderr and "Traceback" not in stderr
        assert not staging.exists()
    rebuilt = run_build("build", cwd=project)  # the next build cleans up after the killed one
    assert rebuilt.returncode == 0 and not staging.exists()
    assert b"<p>changed</p>" in (project / "_site" / "index.html").read_bytes()
