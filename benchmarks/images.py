"""Measure the image cache on locally made images: time and disk to cache and convert N images,
and what a card image costs a reader before (the original) and after (our 640 px copy).

    python -m benchmarks.images [--count 200] [--jobs 4] [--keep DIR]

Photo-like test images (gradients, grain, shapes; JPEG at publishers' usual sizes and quality,
a few PNGs) are made with Pillow, served from 127.0.0.1 on a free port, referenced by N
synthetic articles, then ``python build.py images`` runs twice (cold, then warm) and ``build``
twice. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import io
import random
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

from digest.imagecache import ImageCache

ROOT = Path(__file__).resolve().parent.parent
# (width, height, format, quality): what news sites typically serve as a lead image
SHAPES = [(1200, 800, "JPEG", 90), (1024, 651, "JPEG", 85), (1240, 826, "JPEG", 85),
          (1600, 1067, "JPEG", 82), (800, 600, "PNG", 0)]


def _texture(width: int, height: int) -> Image.Image:
    """Noise at several scales added up (a 1/f-like spectrum): detail that compresses like a photo's."""
    texture = None
    for scale in (64, 32, 16, 8, 4):
        layer = Image.effect_noise((width // scale, height // scale), 60).resize((width, height), Image.Resampling.BICUBIC)
        texture = layer if texture is None else Image.blend(texture, layer, 0.5 if scale > 4 else 0.3)
    assert texture is not None
    return texture


def photo_like(rng: random.Random, width: int, height: int) -> Image.Image:
    """Gradients and many soft-edged shapes over a multi-scale texture: compresses roughly like a
    news photo (a flat test card would flatter the resized copies)."""
    base = Image.merge("RGB", [Image.linear_gradient("L").rotate(rng.randrange(360)).resize((width, height))
                              for _ in range(3)])
    draw = ImageDraw.Draw(base)
    for _ in range(400):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randrange(4, width // 6)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x - r, y - r // 2, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    base = base.filter(ImageFilter.GaussianBlur(1.2))
    texture = Image.merge("RGB", [_texture(width, height) for _ in range(3)])
    return Image.blend(base, texture, 0.4)


def make_images(folder: Path, count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    names = []
    for i in range(count):
        width, height, fmt, quality = SHAPES[i % len(SHAPES)]
        name = f"img{i:04d}.{'jpg' if fmt == 'JPEG' else 'png'}"
        buffer = io.BytesIO()
        photo_like(rng, width, height).save(buffer, fmt, **({"quality": quality} if quality else {}))
        (folder / name).write_bytes(buffer.getvalue())
        names.append(name)
    return names


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def write_articles(folder: Path, base: str, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        (folder / f"a{i:04d}.md").write_text(
            "---\n"
            f'title: "Synthetic story {i}"\n'
            f"publishedDateTime: 2024-05-01T{i % 24:02d}:{i % 60:02d}:00Z\n"
            f'webUrl: "https://example.com/story/{i}"\n'
            "provider: {name: Example News, domain: example.com}\n"
            "topics: [AI]\n"
            f'images: [{{url: "{base}/{name}"}}]\n'
            "---\n", encoding="utf-8")


def tree_size(folder: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in folder.rglob(pattern) if p.is_file())


def run(*args: str, cwd: Path) -> tuple[float, str]:
    """Run ``build.py ARGS``; returns wall seconds (with the CPU seconds it used) and its first output line."""
    started, cpu = time.perf_counter(), _child_cpu()
    done = subprocess.run([sys.executable, str(ROOT / "build.py"), *args], cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    wall = time.perf_counter() - started
    return wall, f"{done.stdout.strip().splitlines()[0]}; CPU {_child_cpu() - cpu:.1f}s"


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="images-bench-"))
    served = work / "served"
    served.mkdir(parents=True, exist_ok=True)
    names = make_images(served, args.count)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        write_articles(work / "content", f"http://127.0.0.1:{httpd.server_address[1]}", names)
        cache = work / "cache"
        common = ("--content", str(work / "content"), "--image-cache", str(cache))
        cold, cold_line = run("images", *common, "--jobs", str(args.jobs), cwd=work)
        warm, warm_line = run("images", *common, cwd=work)
        build_cold, build_line = run("build", *common, "--output", str(work / "_site"), cwd=work)
        build_warm, build_warm_line = run("build", *common, "--output", str(work / "_site"), cwd=work)
    finally:
        httpd.shutdown()
    entries = [e for e in ImageCache(cache).load().values() if e.ok]
    originals = sum(e.bytes for e in entries) / len(entries)
    per_format = {}
    for fmt in sorted({v.format for e in entries for v in e.variants}):
        files = [cache / "variants" / v.file for e in entries for v in e.variants if v.format == fmt and v.width == 640]
        per_format[fmt] = sum(f.stat().st_size for f in files) / len(files)
    mib = 1024 * 1024
    print(f"images: {len(names)} served ({tree_size(served) / mib:.1f} MiB), {len(entries)} cached")
    print(f"cold `images` run (download + decode + variants, --jobs {args.jobs}): {cold:.1f}s  [{cold_line}]")
    print(f"warm `images` run: {warm:.2f}s  [{warm_line}]")
    print(f"cache on disk: originals {tree_size(cache / 'originals') / mib:.1f} MiB, "
          f"variants {tree_size(cache / 'variants') / mib:.1f} MiB "
          f"(webp {tree_size(cache / 'variants', '*.webp') / mib:.1f}, avif {tree_size(cache / 'variants', '*.avif') / mib:.1f})")
    print(f"build cold: {build_cold:.2f}s [{build_line}]; warm: {build_warm:.2f}s [{build_warm_line}]")
    print(f"a card image per reader: original {originals / 1024:.0f} KiB on average; "
          + ", ".join(f"640 px {fmt} {size / 1024:.0f} KiB ({size / originals:.0%})" for fmt, size in per_format.items()))
    print(f"work folder: {work}")


if __name__ == "__main__":
    main()
