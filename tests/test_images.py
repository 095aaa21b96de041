"""The image cache and responsive images, end to end: a real server on 127.0.0.1, ``python build.py``."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from digest.imagecache import ImageCache, decode, ImageError, output_formats, variant_widths
from tests.helpers import ROOT, run_build, write_article
from tests.imageserver import bomb_png, serve_images


class ImgCollector(HTMLParser):
    """Every <img> and <source> with its attributes, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.imgs: list[dict[str, str | None]] = []
        self.sources: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.imgs.append(dict(attrs))
        elif tag == "source":
            self.sources.append(dict(attrs))


def parse(path: Path) -> ImgCollector:
    collector = ImgCollector()
    collector.feed(path.read_text(encoding="utf-8"))
    return collector


def body(path: Path) -> str:
    """The page's <body>: what a reader's browser loads (head sharing tags are for link-preview crawlers)."""
    return path.read_text(encoding="utf-8").split("<body>", 1)[1]


def snapshot(folder: Path, skip: str) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.relative_to(folder).as_posix().startswith(skip)}


def make_project(root: Path, base: str) -> Path:
    shutil.copytree(ROOT / "templates", root / "templates")
    shutil.copytree(ROOT / "static", root / "static")
    # related_count 3: the sidebar shows exactly a1's three related stories, no similar-article fill.
    (root / "site.yaml").write_text("title: Image Test\nbase_url: https://example.org/digest/\nrelated_count: 3\n")
    content = root / "content"
    story = {"provider": {"name": "Picture Post", "domain": "picture.example"}}
    write_article(content, "a1.md", title="Photo story", webUrl="https://picture.example/1",
                  publishedDateTime="2024-05-06T10:00:00Z",
                  images=[{"url": f"{base}/missing.jpg"}, {"url": f"{base}/photo.jpg", "alt": "A harbour at dusk"}],
                  related=[{"title": "Diagram elsewhere", "webUrl": "https://other.example/d",
                            "images": [{"url": f"{base}/diagram.png"}]},
                           {"title": "Slow elsewhere", "webUrl": "https://other.example/s",
                            "images": [{"url": f"{base}/slow.jpg"}]},
                           {"title": "Sneaky elsewhere", "webUrl": "https://other.example/r",
                            "images": [{"url": f"{base}/sneaky.jpg"}]}], **story)
    write_article(content, "a2.md", title="Tiny picture", webUrl="https://picture.example/2",
                  publishedDateTime="2024-05-05T10:00:00Z", images=[{"url": f"{base}/tiny.webp"}], **story)
    write_article(content, "a3.md", title="Fake picture", webUrl="https://picture.example/3",
                  publishedDateTime="2024-05-04T10:00:00Z", images=[{"url": f"{base}/fake.jpg"}], **story)
    write_article(content, "a4.md", title="Bomb picture", webUrl="https://picture.example/4",
                  publishedDateTime="2024-05-03T10:00:00Z", images=[{"url": f"{base}/bomb.png"}], **story)
    write_article(content, "a5.md", title="No picture", webUrl="https://picture.example/5",
                  publishedDateTime="2024-05-02T10:00:00Z", **story)
    write_article(content, "a6.md", title="Wide picture", webUrl="https://picture.example/6",
                  publishedDateTime="2024-05-01T10:00:00Z", images=[{"url": f"{base}/wide.webp"}], **story)
    return root


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    """One `images` run against the test server, shared by the tests that read its results."""
    with serve_images() as server:
        project = make_project(tmp_path_factory.mktemp("images"), server.base)
        before = snapshot(project, ".cache/")
        result = run_build("images", "--jobs", "3", "--timeout", "1", cwd=project)
        yield project, server, result, before


def cache_entries(project: Path):
    return ImageCache(project / ".cache" / "images").load()


def test_images_caches_good_images_and_explains_each_failure(cached):
    project, server, result, before = cached
    assert result.returncode == 0, result.stderr
    entries = cache_entries(project)
    good = {url.rsplit("/", 1)[1] for url, e in entries.items() if e.ok}
    assert good == {"photo.jpg", "diagram.png", "tiny.webp", "wide.webp"}
    reasons = {url.rsplit("/", 1)[1]: e.reason for url, e in entries.items() if not e.ok}
    assert reasons["missing.jpg"].startswith("HTTP 404")
    assert "not an image" in reasons["fake.jpg"]
    assert "decompression bomb" in reasons["bomb.png"]
    assert "timed out" in reasons["slow.jpg"]
    assert "redirect to a non-http(s) URL refused" in reasons["sneaky.jpg"]
    for name, reason in reasons.items():
        assert f"failed: {server.url(name)}: {reason}" in result.stdout
    assert all(agent.startswith("news-digest/") for agent in server.user_agents)


def test_images_writes_nothing_outside_the_cache(cached):
    project, _, _, before = cached
    assert snapshot(project, ".cache/") == before
    assert (project / ".cache" / "images" / "manifest.json").is_file()


def test_variants_have_the_right_sizes_and_are_never_upscaled(cached):
    project, server, _, _ = cached
    entries = cache_entries(project)
    variants_dir = project / ".cache" / "images" / "variants"
    expected = {"photo.jpg": (1600, [320, 640, 960, 1280]), "diagram.png": (800, [320, 640, 800]),
                "tiny.webp": (120, [120]), "wide.webp": (1000, [320, 640, 960, 1000])}
    for name, (width, widths) in expected.items():
        entry = entries[server.url(name)]
        assert entry.width == width
        for fmt in output_formats():
            made = sorted((v for v in entry.variants if v.format == fmt), key=lambda v: v.width)
            assert [v.width for v in made] == widths
            for variant in made:
                assert re.fullmatch(rf"[0-9a-f]{{32}}-{variant.width}\.[0-9a-f]{{12}}\.{fmt}", variant.file)
                with Image.open(variants_dir / variant.file) as image:
                    assert image.format == fmt.upper()
                    assert image.size == (variant.width, variant.height)
                    assert image.mode == "RGB"  # transparency flattened: the panel must not show through
                    assert abs(variant.height / variant.width - entry.height / entry.width) < 0.01


def test_second_run_does_no_work_and_failures_wait_for_retry_failed(cached, tmp_path):
    project, server, _, _ = cached
    work = tmp_path / "copy"
    shutil.copytree(project, work)
    cache_before = snapshot(work, "content/")
    requests_before = sum(server.requests.values())
    again = run_build("images", "--timeout", "1", cwd=work)
    assert again.returncode == 0, again.stderr
    assert "0 downloaded, 0 converted, 4 already cached, 5 failed" in again.stdout
    assert "not retried; use --retry-failed" in again.stdout
    assert sum(server.requests.values()) == requests_before
    assert snapshot(work, "content/") == cache_before
    retry = run_build("images", "--timeout", "1", "--retry-failed", cwd=work)
    assert retry.returncode == 0
    retried = {path for path, n in server.requests.items() if n > 1}
    assert retried == {"/missing.jpg", "/fake.jpg", "/bomb.png", "/slow.jpg", "/sneaky.jpg"}


def test_build_serves_local_variants_with_srcset_and_rebuild_does_no_image_work(cached, tmp_path):
    project, server, _, _ = cached
    out = tmp_path / "_site"
    first = run_build("build", "--output", str(out), cwd=project)
    assert first.returncode == 0, first.stderr
    entries = cache_entries(project)
    photo = entries[server.url("photo.jpg")]
    page = next(out.glob("2024/05/06/*/index.html"))
    html = body(page)
    doc = parse(page)
    lead = doc.imgs[0]
    webp = sorted((v for v in photo.variants if v.format == "webp"), key=lambda v: v.width)
    assert lead["srcset"] == ", ".join(f"/digest/images/{v.file} {v.width}w" for v in webp)
    assert lead["src"] == f"/digest/images/{webp[2].file}"  # the 960 px copy: the story slot's plain src
    assert lead["alt"] == "A harbour at dusk"
    assert (lead["width"], lead["height"]) == ("1600", "1000")
    assert lead["fetchpriority"] == "high" and "loading" not in lead
    if "avif" in output_formats():
        assert doc.sources[0]["type"] == "image/avif"
        assert all(f"/digest/images/{v.file}" in doc.sources[0]["srcset"] for v in photo.variants if v.format == "avif")
    assert server.url("photo.jpg") not in html and server.url("missing.jpg") not in html
    for v in photo.variants:
        assert (out / "images" / v.file).read_bytes() == (project / ".cache/images/variants" / v.file).read_bytes()
    thumb = doc.imgs[1]
    assert thumb["src"].startswith("/digest/images/") and thumb["sizes"] == "88px"
    assert thumb["loading"] == "lazy" and thumb["decoding"] == "async"
    assert thumb["alt"] == "Image for: Diagram elsewhere"
    assert (out / thumb["src"].removeprefix("/digest/")).is_file()  # another site's story: its copy is published too
    # The failed thumbnails (slow, sneaky) show only the placeholder panel: no hotlink to a known-bad URL.
    assert len(doc.imgs) == 2 and html.count('class="media media--thumb placeholder') == 3

    inodes = {p: p.stat().st_ino for p in (out / "images").iterdir()}
    cache_times = snapshot(project / ".cache", "")
    # A fresh build cache: every page is rendered again (no "nothing changed" shortcut), yet no image is touched.
    second = run_build("build", "--output", str(out), "--cache", str(tmp_path / "fresh-build-cache"), cwd=project)
    assert second.returncode == 0
    assert " 0 written" in second.stdout.replace("(", " ")
    assert {p: p.stat().st_ino for p in (out / "images").iterdir()} == inodes
    assert snapshot(project / ".cache", "") == cache_times


def test_small_image_is_not_stretched_and_missing_images_show_the_placeholder(cached, tmp_path):
    project, server, _, _ = cached
    out = tmp_path / "_site"
    assert run_build("build", "--output", str(out), cwd=project).returncode == 0
    tiny = parse(next(out.glob("2024/05/05/*/index.html"))).imgs[0]
    assert "media__img--small" in tiny["class"] and "srcset" not in tiny
    assert (tiny["width"], tiny["height"]) == ("120", "80")
    for day in ("03", "04", "02"):  # bomb, fake text, no image at all
        page = next(out.glob(f"2024/05/{day}/*/index.html"))
        html = page.read_text(encoding="utf-8")
        assert '<span class="media media--story placeholder placeholder--' in html
        assert '<span class="media__mark" aria-hidden="true">P</span>' in html
        assert "<img" not in html.split("<aside")[0]


def test_every_img_on_every_page_has_alt_size_and_one_eager_image_at_most(cached, tmp_path):
    project, _, _, _ = cached
    out = tmp_path / "_site"
    assert run_build("build", "--output", str(out), cwd=project).returncode == 0
    for page in out.rglob("*.html"):
        imgs = parse(page).imgs
        for img in imgs:
            assert img.get("alt"), page
            assert img.get("width") and img.get("height"), page
        eager = [img for img in imgs if img.get("fetchpriority") == "high"]
        assert len(eager) <= 1 and (not eager or imgs[0] is eager[0]), page
        assert all(img.get("loading") == "lazy" and img.get("decoding") == "async" for img in imgs if img not in eager)


@pytest.mark.parametrize("mode", ["remote", "local"])
def test_images_setting_decides_where_readers_fetch_images(cached, tmp_path, mode):
    project, server, _, _ = cached
    work = tmp_path / "p"
    shutil.copytree(project, work)
    (work / "site.yaml").write_text(f"images: {mode}\n")
    write_article(work / "content", "a7.md", title="Uncached", webUrl="https://picture.example/7",
                  publishedDateTime="2024-04-01T10:00:00Z", images=[{"url": "https://cdn.example/never-cached.jpg"}])
    out = tmp_path / "_site"
    assert run_build("build", "--output", str(out), cwd=work).returncode == 0
    home = body(out / "index.html")
    if mode == "remote":
        assert server.url("missing.jpg") in home and "/images/" not in home  # the cache is not consulted and not (out / "images").exists()
        assert "https://cdn.example/never-cached.jpg" in home
    else:
        assert "/images/" in home and server.base not in home
        assert "never-cached" not in home


def test_card_without_image_renders_placeholder(site_builder, tmp_path):
    write_article(tmp_path / "content", "a.md", title="Plain", provider={"name": "Zeta Wire", "domain": "zeta.example"})
    _, out = site_builder(tmp_path / "content")
    home = (out / "index.html").read_text(encoding="utf-8")
    assert re.search(r'<a class="card__media"[^>]*>\s*<span class="media media--card placeholder placeholder--\d+">', home)
    assert '<span class="media__mark" aria-hidden="true">Z</span>' in home
    assert "<img" not in home


def test_variant_widths_never_upscale():
    assert variant_widths(5000) == (320, 640, 960, 1280)
    assert variant_widths(1280) == (320, 640, 960, 1280)
    assert variant_widths(700) == (320, 640, 700)
    assert variant_widths(90) == (90,)


def test_decode_refuses_bombs_and_non_images():
    with pytest.raises(ImageError, match="decompression bomb"):
        decode(bomb_png())
    with pytest.raises(ImageError, match="decompression bomb"):
        decode(bomb_png(9000, 9000))  # under Pillow's own limit, over ours
    with pytest.raises(ImageError, match="not an image"):
        decode(b"GIF89a but not really")


def test_unknown_images_setting_is_a_config_error(tmp_path):
    (tmp_path / "site.yaml").write_text("images: sometimes\n")
    result = run_build("build", "--config", str(tmp_path / "site.yaml"), "--output", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "images must be one of auto, local, remote" in result.stderr
