"""Small builders shared by the tests: article files and whole sites in temporary folders."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "content" / "000_9f526750b318bb29.txt"
SECURED = "cCzEkQlCDx0BeO4lOs8Q3kRAmPd"  # the start of the seed's private blob


def article_text(body: str = "", **fields: Any) -> str:
    """An article file: the given front-matter fields (JSON is valid YAML) and an optional body."""
    data = {
        "title": "A test story",
        "publishedDateTime": "2024-05-01T10:00:00Z",
        "webUrl": "https://example.com/story",
        "provider": {"name": "Example News", "domain": "example.com"},
        "topics": ["AI"],
    }
    data.update(fields)
    data = {k: v for k, v in data.items() if v is not None}
    lines = ["---"] + [f"{key}: {json.dumps(value, ensure_ascii=False)}" for key, value in data.items()]
    return "\n".join(lines) + "\n---\n" + body


def write_article(folder: Path, name: str, body: str = "", **fields: Any) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(article_text(body, **fields), encoding="utf-8")
    return path


def run_build(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python build.py ARGS`` as a user would (``env`` adds to the environment)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "build.py"), *args],
        cwd=cwd, capture_output=True, text=True, timeout=300, env={**os.environ, **(env or {})},
    )


def tree_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def search_fragments(site: Path, shard: str = "*") -> list[dict]:
    """Pagefind's stored pages in a built site, from every shard or one (gzip, after a 12-byte ``pagefind_dcd`` signature)."""
    return [json.loads(gzip.decompress(p.read_bytes())[len(b"pagefind_dcd"):])
            for p in sorted((site / "pagefind").glob(f"{shard}/fragment/*.pf_fragment"))]
