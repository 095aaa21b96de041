"""A real HTTP server on 127.0.0.1 (free port) serving test images made with Pillow, and bad ones."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

SLOW_SECONDS = 3.0


def photo(width: int, height: int, fmt: str, mode: str = "RGB") -> bytes:
    """A smooth photo-like picture (gradients in each channel), encoded in ``fmt``."""
    gradient = Image.linear_gradient("L")
    channels = [gradient.resize((width, height)), gradient.rotate(90).resize((width, height)),
                Image.radial_gradient("L").resize((width, height))]
    if mode == "RGBA":
        channels.append(gradient.rotate(45).resize((width, height)))
    buffer = io.BytesIO()
    Image.merge(mode, channels).save(buffer, fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG made by Pillow whose header then claims huge dimensions (a decompression bomb)."""
    data = bytearray(photo(8, 8, "PNG"))
    ihdr = 8 + 8  # signature, then length + "IHDR"
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


@dataclass
class ImageServer:
    base: str
    requests: Counter[str] = field(default_factory=Counter)
    user_agents: set[str] = field(default_factory=set)

    def url(self, path: str) -> str:
        return f"{self.base}/{path}"


def routes() -> dict[str, tuple[int, str, bytes]]:
    return {
        "/photo.jpg": (200, "image/jpeg", photo(1600, 1000, "JPEG")),
        "/diagram.png": (200, "image/png", photo(800, 500, "PNG", "RGBA")),
        "/wide.webp": (200, "image/webp", photo(1000, 600, "WEBP")),
        "/tiny.webp": (200, "image/webp", photo(120, 80, "WEBP")),
        "/bomb.png": (200, "image/png", bomb_png()),
        "/fake.jpg": (200, "image/jpeg", b"this is not a picture, whatever the header says\n" * 20),
        "/slow.jpg": (200, "image/jpeg", photo(400, 300, "JPEG")),
        "/sneaky.jpg": (302, "text/plain", b""),
    }


@contextmanager
def serve_images() -> Iterator[ImageServer]:
    """Start the server on a free port; stop it when the block ends."""
    table = routes()
    server_state: list[ImageServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            state = server_state[0]
            state.requests[self.path] += 1
            state.user_agents.add(self.headers.get("User-Agent", ""))
            if self.path == "/slow.jpg":
                time.sleep(SLOW_SECONDS)
            status, kind, body = table.get(self.path, (404, "text/plain", b"not found"))
            self.send_response(status)
            if status == 302:
                self.send_header("Location", "ftp://127.0.0.1/etc/passwd")
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    server_state.append(ImageServer(f"http://127.0.0.1:{httpd.server_address[1]}"))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state[0]
    finally:
        httpd.shutdown()
        httpd.server_close()
