"""Publishing end to end: a site under a sub-path, reproducible builds, and the deploy recipes
(GitHub workflows, netlify.toml) checked for what they promise and run as written."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from tests.helpers import ROOT, run_build, tree_bytes, write_article
from tests.test_meta import read_page

BASE = "https://user.github.io/digest/"
WORKFLOWS = ROOT / ".github" / "workflows"


def served_file(output: Path, url: str) -> Path | None:
    """The file a static host serves for a URL of the site, or None when the URL leaves the site."""
    parts = urlsplit(url)
    if parts.scheme and parts.netloc != "user.github.io":
        return None  # another site: not ours to check
    path = parts.path if parts.scheme or url.startswith("/") else ""
    assert path.startswith("/digest/"), f"{url} is outside the sub-path"
    rel = path.removeprefix("/digest/")
    return output / (rel + "index.html" if rel == "" or rel.endswith("/") else rel)


def test_a_sub_path_site_has_no_link_asset_or_feed_url_outside_it(tmp_path: Path):
    output = tmp_path / "_site"
    result = run_build("build", "--output", str(output), "--base-url", BASE)
    assert result.returncode == 0, result.stderr
    checked = 0
    for page in sorted(output.rglob("*.html")):
        for url in read_page(page).urls:
            if url.startswith("#"):
                continue
            assert not urlsplit(url).scheme or urlsplit(url).scheme in ("http", "https"), url
            assert url.startswith(("/", "http://", "https://")), f"{page}: relative link {url} breaks under a sub-path"
            target = served_file(output, url)
            if target is not None:
                assert target.is_file(), f"{page.relative_to(output)}: {url} -> missing {target}"
                checked += 1
    assert checked > 100
    feed_urls = re.findall(r'(?:href|url)="([^"]+)"', (output / "feed.xml").read_text())
    feed_urls += [item[key] for item in json.loads((output / "feed.json").read_text())["items"] for key in ("id", "url")]
    for sitemap in ("sitemap.xml", "news-sitemap.xml"):
        feed_urls += [loc.text for loc in ET.parse(output / sitemap).iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    feed_urls += re.findall(r"Sitemap: (\S+)", (output / "robots.txt").read_text())
    ours = [url for url in feed_urls if "user.github.io" in url]
    assert len(ours) > 20
    for url in ours:
        assert url.startswith(BASE) and served_file(output, url).is_file(), url


def test_builds_are_byte_identical_whatever_the_hash_seed_zone_locale_or_folder(tmp_path: Path):
    outputs = []
    for n, (seed, tz, locale) in enumerate((("1", "UTC", "C"), ("4242", "Asia/Tokyo", "C.UTF-8"))):
        out = tmp_path / f"run{n}" / "_site"
        env = {**os.environ, "PYTHONHASHSEED": seed, "TZ": tz, "LC_ALL": locale}
        subprocess.run([sys.executable, str(ROOT / "build.py"), "build", "--output", str(out), "--base-url", BASE],
                       cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
        outputs.append(tree_bytes(out))
    assert outputs[0] == outputs[1]
    assert {"feed.xml", "feed.json", "sitemap.xml", "news-sitemap.xml", "robots.txt"} <= set(outputs[0])


def load_workflow(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))  # YAML 1.1 reads a bare `on` as true
    return workflow


def step_index(steps: list[dict], predicate) -> int:
    matches = [i for i, step in enumerate(steps) if predicate(step)]
    assert len(matches) == 1, matches
    return matches[0]


def test_publish_workflow_checks_then_builds_then_deploys_to_pages():
    workflow = load_workflow("publish.yml")
    push = workflow["on"]["push"]
    assert push["branches"] == ["main"]
    assert {"content/**", "templates/**", "static/**", "site.yaml"} <= set(push["paths"])
    assert "workflow_dispatch" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    steps = workflow["jobs"]["build"]["steps"]
    assert all(step.get("name") for step in steps)
    uses = lambda action: lambda step: step.get("uses", "").startswith(action + "@")  # noqa: E731
    python = steps[step_index(steps, uses("actions/setup-python"))]
    assert python["with"]["cache"] == "pip"
    check = step_index(steps, lambda s: s.get("run") == "python build.py check")
    build = step_index(steps, lambda s: s.get("run", "").startswith("python build.py build"))
    configure = step_index(steps, uses("actions/configure-pages"))
    upload = step_index(steps, uses("actions/upload-pages-artifact"))
    assert check < build < upload and configure < build
    assert steps[upload]["with"]["path"] == "_site"
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]


def test_pull_request_workflow_runs_check_and_the_tests():
    workflow = load_workflow("test.yml")
    assert "pull_request" in workflow["on"]
    runs = [step.get("run", "") for step in workflow["jobs"]["test"]["steps"]]
    assert runs.index(".venv/bin/python build.py check") < runs.index("bash .ci/run")


def test_workflows_match_the_github_workflow_schema():
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         *map(str, sorted(WORKFLOWS.glob("*.yml")))],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_publish_workflow_commands_build_the_site_as_written(tmp_path: Path):
    """Run the workflow's check and build steps with bash, as the runner would."""
    project = tmp_path / "repo"
    for folder in ("content", "templates", "static"):
        shutil.copytree(ROOT / folder, project / folder)
    shutil.copy(ROOT / "site.yaml", project)
    shutil.copy(ROOT / "build.py", project)
    steps = load_workflow("publish.yml")["jobs"]["build"]["steps"]
    env = {**os.environ, "BASE_URL": BASE.rstrip("/"), "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for step in steps:
        if "build.py" in step.get("run", ""):
            subprocess.run(["bash", "-e", "-c", step["run"]], cwd=project, env=env, check=True, capture_output=True, timeout=300)
    assert f'<link rel="canonical" href="{BASE}">' in (project / "_site" / "index.html").read_text()
    write_article(project / "content", "bad.md", title="")
    check = next(s["run"] for s in steps if s.get("run") == "python build.py check")
    assert subprocess.run(["bash", "-c", check], cwd=project, env=env, capture_output=True, timeout=300).returncode == 1


def test_netlify_config_builds_after_check_and_caches_only_fingerprinted_files():
    config = tomllib.loads((ROOT / "netlify.toml").read_text())
    command = config["build"]["command"]
    assert command.index("build.py check") < command.index("build.py build")
    assert config["build"]["publish"] == "_site"
    headers = {rule["for"]: rule["values"] for rule in config["headers"]}
    assert headers == {"/static/*": {"Cache-Control": "public, max-age=31536000, immutable"}}
