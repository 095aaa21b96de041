"""Golden test: the bundled sample site, page by page, against tests/golden/sample/.

After an intended change to templates or output, refresh with ``UPDATE_GOLDEN=1 make test``
and review the diff of tests/golden/ before committing.
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

from tests.helpers import ROOT, tree_bytes

EXPECTED = ROOT / "tests" / "golden" / "sample"


def test_sample_site_matches_golden_files(site_builder, tmp_path: Path):
    result, output = site_builder(ROOT / "content", config=ROOT / "site.yaml")
    assert result.errors == ()
    built = {k: v for k, v in tree_bytes(output).items() if not k.startswith(("static/", "pagefind/"))}  # assets, search index
    if os.environ.get("UPDATE_GOLDEN"):
        shutil.rmtree(EXPECTED, ignore_errors=True)
        for rel, data in built.items():
            (EXPECTED / rel).parent.mkdir(parents=True, exist_ok=True)
            (EXPECTED / rel).write_bytes(data)
    expected = tree_bytes(EXPECTED)
    assert sorted(built) == sorted(expected), "pages added or removed (UPDATE_GOLDEN=1 to accept)"
    for rel in sorted(built):
        if built[rel] != expected[rel]:
            diff = "\n".join(difflib.unified_diff(
                expected[rel].decode().splitlines(), built[rel].decode().splitlines(),
                f"expected/{rel}", f"built/{rel}", lineterm="", n=2))
            raise AssertionError(f"{rel} differs (UPDATE_GOLDEN=1 to accept):\n{diff[:4000]}")
