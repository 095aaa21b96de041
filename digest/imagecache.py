"""The local image cache: fetch each remote image once, check it, make resized WebP/AVIF copies.

``python build.py images`` fills the cache; the build only reads its manifest and copies
the variant files it needs, so a build never touches the network and a warm rebuild does
no image work. Readers then load images from the digest itself, and publishers never learn
who reads it.

Layout of the cache folder (default ``.cache/images/``)::

    manifest.json                       url -> outcome (size and variants, or the failure reason)
    originals/<key>                     the downloaded bytes, kept to remake variants without refetching
    variants/<key>-<width>.<hash>.webp  resized copies; the name holds a hash of the file's bytes

``<key>`` is a hash of the URL, so nothing from content ever becomes a path.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import urllib.request

    from PIL import Image

from . import __version__
from .content import safe_url

WIDTHS = (320, 640, 960, 1280)
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 8000 x 5000 photo; anything bigger is refused before it is decoded
TIMEOUT = 15.0
USER_AGENT = f"news-digest/{__version__} (static-site image cache; fetches each image once)"
DECODABLE = {"JPEG", "PNG", "WEBP", "GIF", "AVIF"}
MANIFEST_VERSION = 1
_ENCODE = {"webp": ("WEBP", {"quality": 80, "method": 4}), "avif": ("AVIF", {"quality": 60, "speed": 8})}


def output_formats() -> tuple[str, ...]:
    """Variant formats this Pillow can write: always WebP, AVIF too where the library has it."""
    from PIL import features  # Pillow is imported only where images are made: a build that finds nothing changed never pays for it

    return ("avif", "webp") if features.check("avif") else ("webp",)


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:32]


def variant_widths(width: int) -> tuple[int, ...]:
    """Target widths for an original ``width`` px wide: the standard steps below it, plus its own
    width when that is under the largest step, so nothing is ever upscaled."""
    steps = {w for w in WIDTHS if w < width}
    steps.add(min(width, WIDTHS[-1]))
    return tuple(sorted(steps))


@dataclass(frozen=True, slots=True)
class Variant:
    width: int
    height: int
    format: str  # "webp" or "avif"
    file: str  # a name inside variants/


@dataclass(frozen=True, slots=True)
class Entry:
    """What the cache knows about one URL: a good image with its variants, or why it failed."""

    url: str
    ok: bool
    reason: str = ""
    width: int = 0
    height: int = 0
    bytes: int = 0  # size of the original
    variants: tuple[Variant, ...] = ()

    def to_json(self) -> dict:
        data = asdict(self)
        data["variants"] = [asdict(v) for v in self.variants]
        return data

    @staticmethod
    def from_json(data: dict) -> Entry:
        variants = tuple(Variant(**v) for v in data.get("variants", ()))
        return Entry(**{**data, "variants": variants})


class ImageError(Exception):
    """One image could not be cached; the message is the reason shown to the user."""


class ImageCache:
    """The cache folder. Reading is cheap (one JSON file); only :meth:`fetch` does network or image work."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.manifest_path = root / "manifest.json"
        self.originals = root / "originals"
        self.variants = root / "variants"

    def load(self) -> dict[str, Entry]:
        """The manifest, or nothing when it is missing, unreadable or from another version."""
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            if data.get("version") != MANIFEST_VERSION:
                return {}
            return {url: Entry.from_json(raw) for url, raw in data["images"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}

    def save(self, entries: Mapping[str, Entry]) -> None:
        """Write the manifest atomically, sorted, so an interrupted run never leaves half a file."""
        self.root.mkdir(parents=True, exist_ok=True)
        data = {"version": MANIFEST_VERSION, "images": {url: entries[url].to_json() for url in sorted(entries)}}
        _write_atomic(self.manifest_path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))

    def is_complete(self, entry: Entry, formats: tuple[str, ...]) -> bool:
        """True when every variant this Pillow can make exists: nothing left to do for this URL."""
        if not entry.ok:
            return False
        wanted = {(w, f) for w in variant_widths(entry.width) for f in formats}
        have = {(v.width, v.format) for v in entry.variants if (self.variants / v.file).is_file()}
        return wanted <= have

    def fetch(self, url: str, formats: tuple[str, ...], timeout: float = TIMEOUT, max_bytes: int = MAX_BYTES) -> Entry:
        """Download (or reuse the kept original), check and convert one image; never raises."""
        try:
            original = self.originals / url_key(url)
            data = original.read_bytes() if original.is_file() else download(url, timeout, max_bytes)
            image = decode(data)
            _write_atomic(original, data)
            variants = self._make_variants(url_key(url), image, formats)
            return Entry(url, True, width=image.width, height=image.height, bytes=len(data), variants=variants)
        except ImageError as exc:
            return Entry(url, False, reason=str(exc))

    def _make_variants(self, key: str, image: Image.Image, formats: tuple[str, ...]) -> tuple[Variant, ...]:
        from PIL import Image

        variants = []
        for width in variant_widths(image.width):
            height = max(1, round(image.height * width / image.width))
            resized = image if width == image.width else image.resize((width, height), Image.Resampling.LANCZOS)
            for fmt in formats:
                name, options = _ENCODE[fmt]
                buffer = io.BytesIO()
                resized.save(buffer, name, **options)  # no exif= argument: camera metadata is dropped
                data = buffer.getvalue()
                file = f"{key}-{width}.{hashlib.sha256(data).hexdigest()[:12]}.{fmt}"
                _write_atomic(self.variants / file, data)
                variants.append(Variant(width, height, fmt, file))
        return tuple(variants)


def _write_atomic(path: Path, data: bytes) -> None:
    """Write via a temporary file and a rename; a file that already holds these bytes is left alone."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _opener() -> urllib.request.OpenerDirector:
    """An opener that speaks only http(s): no file:, ftp: or data: handlers at all."""
    import urllib.request  # only `images` downloads: a build never pays the ~9 ms of urllib, http.client, ssl, email

    class SafeRedirects(urllib.request.HTTPRedirectHandler):
        """Follow redirects only to other http(s) URLs (never file:, ftp: or anything else)."""

        def redirect_request(self, req, fp, code, msg, headers, newurl):  # type: ignore[no-untyped-def]
            if safe_url(newurl) is None:
                raise ImageError(f"redirect to a non-http(s) URL refused ({code})")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.HTTPHandler(), urllib.request.HTTPSHandler(),
                    SafeRedirects(), urllib.request.HTTPErrorProcessor(), urllib.request.HTTPDefaultErrorHandler()):
        opener.add_handler(handler)
    return opener


def download(url: str, timeout: float, max_bytes: int) -> bytes:
    """The response body, within ``timeout`` seconds in total and ``max_bytes`` bytes, or ImageError."""
    import urllib.error
    import urllib.request  # see _opener

    if safe_url(url) is None:
        raise ImageError("not an http(s) URL")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "image/*"})
    deadline = time.monotonic() + timeout
    try:
        with _opener().open(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise ImageError(f"too large: {int(length)} bytes (limit {max_bytes})")
            chunks, size = [], 0
            while chunk := response.read(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise ImageError(f"too large: more than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise ImageError(f"timed out after {timeout:g}s")
                chunks.append(chunk)
            return b"".join(chunks)
    except urllib.error.HTTPError as exc:
        raise ImageError(f"HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise ImageError(f"timed out after {timeout:g}s") from None
        raise ImageError(f"cannot connect: {exc.reason}") from None
    except TimeoutError:  # socket.timeout is TimeoutError since Python 3.10
        raise ImageError(f"timed out after {timeout:g}s") from None
    except (OSError, ValueError) as exc:  # connection reset, bad status line, malformed URL
        raise ImageError(f"download failed: {exc}") from None


def decode(data: bytes) -> Image.Image:
    """Decode the bytes fully (whatever the server's Content-Type said), refusing bombs and odd formats.

    The returned image is upright (EXIF orientation applied) and RGB, transparency flattened onto
    white: it is shown over the coloured placeholder panel, which must not show through a logo.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))  # raises DecompressionBombError past 2x Pillow's own limit
        if image.format not in DECODABLE:
            raise ImageError(f"unsupported image format {image.format}")
        if image.width * image.height > MAX_PIXELS:
            raise ImageError(f"decompression bomb refused: {image.width}x{image.height} pixels")
        image.load()
        image = ImageOps.exif_transpose(image)
    except Image.DecompressionBombError:
        raise ImageError("decompression bomb refused by Pillow") from None
    except UnidentifiedImageError:
        raise ImageError("not an image (the bytes do not decode as any image format)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"broken image: {exc}") from None
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if not has_alpha:
        return image.convert("RGB")
    flat = Image.new("RGB", image.size, "white")
    flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
    return flat


@dataclass
class RunReport:
    """What one ``images`` run did, for the summary line and the failure list."""

    total: int = 0
    reused: int = 0
    fetched: int = 0
    converted: int = 0  # cached originals whose variants were (re)made
    skipped_failed: int = 0
    failures: list[Entry] = field(default_factory=list)


def image_urls(urls: Iterable[str]) -> list[str]:
    """The distinct http(s) URLs, sorted so runs are reproducible."""
    return sorted({u for u in urls if safe_url(u)})


def fill_cache(
    cache: ImageCache,
    urls: Iterable[str],
    *,
    jobs: int = 4,
    retry_failed: bool = False,
    timeout: float = TIMEOUT,
    max_bytes: int = MAX_BYTES,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> RunReport:
    """Bring the cache up to date for ``urls`` with at most ``jobs`` downloads at a time.

    URLs already complete are not touched; remembered failures are skipped unless
    ``retry_failed``. The manifest is saved even when the run is interrupted.
    """
    entries = cache.load()
    formats = output_formats()
    report = RunReport()
    todo = []
    for url in image_urls(urls):
        report.total += 1
        entry = entries.get(url)
        if entry is not None and cache.is_complete(entry, formats):
            report.reused += 1
        elif entry is not None and not entry.ok and not retry_failed:
            report.skipped_failed += 1
            report.failures.append(entry)
        else:
            todo.append(url)
    done = 0
    progress(done, len(todo))
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures = {}
        for url in todo:
            had_original = (cache.originals / url_key(url)).is_file()
            futures[pool.submit(cache.fetch, url, formats, timeout, max_bytes)] = had_original
        for future in as_completed(futures):
            entry = future.result()
            entries[entry.url] = entry
            if not entry.ok:
                report.failures.append(entry)
            elif futures[future]:
                report.converted += 1
            else:
                report.fetched += 1
            done += 1
            progress(done, len(todo))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        cache.save(entries)
    report.failures.sort(key=lambda e: e.url)
    return report
