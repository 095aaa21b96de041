"""Benchmark: cold build, no-change rebuild, one-article edit, one-template edit, preview edit, at 1k/10k(/100k) articles.

Each build runs ``python build.py build`` in a child process, as a user would; the time is the
wall clock around it (and, since the machine may be busy, the CPU seconds
of the child and its workers), and the peak memory is the child's ``ru_maxrss`` (the rusage struct that
``resource.getrusage`` reports, taken per child with ``os.wait4``: with ``--jobs`` > 1 it is the
largest of the build process and its render workers, not their sum). Every scenario runs
``--runs`` times and reports the median. Prints one table and writes it as JSON. Each cold run is
followed by the same build without the search index and, when ``hugo`` is on PATH, by a cold
build of the same corpus with Hugo (``benchmarks/hugo.py``), then by Pagefind indexing Hugo's
output, as a Hugo site gets its search. Last, the live preview's editing loop is timed
(``benchmarks/preview.py``).

Cold builds start from a file system with no mass deletion behind them, as one in CI does after
a fresh clone: each cold run, ours and Hugo's, writes into folders of its own, removed only
after the size's last scenario, and before the first cold run the bench flushes the
file system and waits ``--settle`` seconds. Without that, the figures measure the previous run's
``rm -rf`` more than the build: ext4 without a journal (this project's benchmark machine) does
not reuse a deleted inode for 60 s after its inode table is written back, 300 s before, and
every file it then creates is allocated by scanning past all of them (``recently_deleted()`` in
``fs/ext4/ialloc.c``). Creating 10,000 folders with a file each took 12.7 s there right after
deleting as many, and 2.0 s after a sync and a 65 s wait.

    python -m benchmarks.bench [--sizes 1000 10000] [--huge] [--runs 3] [--cold-runs N] [--jobs N] [--settle S]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.corpus import write_corpus
from benchmarks.hugo import write_site as write_hugo_site
from benchmarks.preview import time_preview
from digest.search import find_pagefind

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
WORK = ROOT / "benchmarks" / ".work"  # generated corpora and outputs; git-ignored, safe to delete
SCENARIOS = ("cold", "cold, no search", "no change", "one article edited", "one template edited")
HUGO = shutil.which("hugo")  # optional: the same corpus through a minimal Hugo site, for a side-by-side ratio
HUGO_SCENARIO = "hugo cold"
HUGO_SEARCH_SCENARIO = "hugo + pagefind cold"  # Hugo's build, then Pagefind over its output
COLD = "cold"  # under a project: one folder per cold run, kept until the size's last scenario
SETTLE_SECONDS = 65.0  # ext4's RECENTCY_MIN (60 s, once the inode table is written back), and a margin
# The preview's editing loop (benchmarks/preview.py): save -> the edited page served, and -> the full rebuild done.
PREVIEW_SCENARIOS = ("preview: edit shown", "preview: edit built")


Sample = tuple[float, float, int, float]  # one run: wall seconds, peak MiB, pages rendered, CPU seconds


@dataclass(frozen=True)
class Row:
    articles: int
    scenario: str
    median_s: float
    min_s: float
    max_s: float
    cpu_s: float  # median CPU seconds (user + system) of the build and its workers: robust to a busy machine
    peak_mib: float
    rendered: int  # pages rendered by the last run
    runs: int


def _run(project: Path, jobs: int | None, *options: str) -> Sample:
    """One ``build.py build`` in ``project``: wall seconds, peak MiB of the child, pages rendered, CPU seconds."""
    command = [sys.executable, str(ROOT / "build.py"), "build", "--config", str(ROOT / "site.yaml"), *options]
    if jobs:
        command += ["--jobs", str(jobs)]
    seconds, peak, cpu, stdout = _measure(command, project)
    rendered = re.search(rb"\((\d+) rendered", stdout)
    return seconds, peak, int(rendered.group(1)) if rendered else 0, cpu


def _run_hugo(project: Path, folder: Path) -> tuple[Sample, Sample | None]:
    """One cold ``hugo`` build of the same corpus (``benchmarks/hugo.py``) into ``folder``, and the
    same followed by Pagefind's CLI over its output (None without Pagefind); pages are the HTML
    files Hugo wrote."""
    site = write_hugo_site(project / "hugo", project / "content")
    public = folder / "hugo"
    seconds, peak, cpu, _ = _measure(["hugo", "--quiet", "--source", str(site), "--destination", str(public),
                                      "--cacheDir", str(folder / "hugo_cache")], project)
    hugo = (seconds, peak, sum(1 for _ in public.rglob("*.html")), cpu)
    pagefind = find_pagefind()
    if pagefind is None:
        return hugo, None
    indexed = _measure([str(pagefind), "--site", str(public), "--quiet"], project)
    return hugo, (seconds + indexed[0], max(peak, indexed[1]), hugo[2], cpu + indexed[2])


def _measure(command: list[str], cwd: Path) -> tuple[float, float, float, bytes]:
    """Run ``command``: wall seconds, peak MiB (``ru_maxrss`` from ``os.wait4``), CPU seconds, stdout."""
    started = time.perf_counter()
    child = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = child.stdout.read(), child.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[0]} failed in {cwd}:\n{stderr.decode()}")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, stdout


def _project(count: int) -> Path:
    """A project folder with ``count`` generated articles and a copy of the theme's templates."""
    project = WORK / f"{count}"
    content = project / "content"
    if not (content / f"{(count - 1) // 1000:03d}" / f"{count - 1:06d}.md").is_file():
        shutil.rmtree(project, ignore_errors=True)
        write_corpus(content, count)
    shutil.rmtree(project / "templates", ignore_errors=True)
    shutil.copytree(ROOT / "templates", project / "templates")
    return project


def _reset(project: Path, settle: float) -> None:
    """Remove what earlier runs left, then let the file system settle (see the module's docstring)."""
    for folder in (COLD, "_site", ".cache", "_site_no_search", ".cache_no_search", "hugo/public", "hugo/resources"):
        shutil.rmtree(project / folder, ignore_errors=True)
    os.sync()
    time.sleep(settle)


def _folders(folder: Path) -> tuple[str, ...]:
    """The options of a build into ``folder``: its output and its cache there."""
    return "--output", str(folder / "_site"), "--cache", str(folder / ".cache")


def _no_search_options(project: Path, folder: Path) -> tuple[str, ...]:
    """The same site without the Pagefind index (its own output and cache): what Hugo's figures cover."""
    config = project / "no-search.yaml"
    config.write_text((ROOT / "site.yaml").read_text(encoding="utf-8") + "\nsearch: false\n", encoding="utf-8")
    return "--config", str(config), *_folders(folder / "no-search")


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def bench_size(count: int, runs: int, jobs: int | None, cold_runs: int, settle: float) -> list[Row]:
    project = _project(count)
    article = project / "content" / "000" / "000007.md"
    template = project / "templates" / "article.html"
    original = article.read_text(encoding="utf-8")
    samples: dict[str, list[Sample]] = {name: [] for name in SCENARIOS}
    _reset(project, settle)
    try:
        for run in range(cold_runs):
            folder = project / COLD / str(run)
            samples["cold"].append(_run(project, jobs, *_folders(folder)))
            samples["cold, no search"].append(_run(project, jobs, *_no_search_options(project, folder)))
            if HUGO:
                hugo, with_search = _run_hugo(project, folder)
                samples.setdefault(HUGO_SCENARIO, []).append(hugo)
                if with_search:
                    samples.setdefault(HUGO_SEARCH_SCENARIO, []).append(with_search)
        site = _folders(project / COLD / str(cold_runs - 1))  # the incremental scenarios go on from the last cold build
        for _ in range(runs):
            samples["no change"].append(_run(project, jobs, *site))
        for run in range(runs):
            _edit(article, "title: \"", f"title: \"Edit {run} ")
            samples["one article edited"].append(_run(project, jobs, *site))
        for run in range(runs):
            _edit(template, "</article>", f"</article><!-- edit {run} -->")
            samples["one template edited"].append(_run(project, jobs, *site))
    finally:
        article.write_text(original, encoding="utf-8")
    serve = [sys.executable, str(ROOT / "build.py"), "serve", "--port", "0", "--config", str(ROOT / "site.yaml")]
    preview = time_preview(serve + (["--jobs", str(jobs)] if jobs else []), project, article, runs)
    # Per save there is no CPU figure of its own, and the peak is the server's over the whole session.
    for name, times in zip(PREVIEW_SCENARIOS, (preview.shown, preview.built)):
        samples[name] = [(seconds, preview.peak_mib, preview.rendered, 0.0) for seconds in times]
    rows = []
    for name in samples:
        times = [s[0] for s in samples[name]]
        rows.append(Row(count, name, round(statistics.median(times), 3), round(min(times), 3), round(max(times), 3),
                        round(statistics.median(s[3] for s in samples[name]), 3),
                        round(max(s[1] for s in samples[name]), 1), samples[name][-1][2], len(times)))
    shutil.rmtree(project / COLD, ignore_errors=True)
    return rows


def table(rows: list[Row]) -> str:
    lines = [f"{'articles':>9} | {'scenario':<20} | {'median s':>8} | {'min s':>7} | {'max s':>7} | "
             f"{'cpu s':>7} | {'peak MiB':>8} | {'rendered':>8}"]
    lines.append("-" * len(lines[0]))
    for r in rows:
        lines.append(f"{r.articles:>9,} | {r.scenario:<20} | {r.median_s:>8.2f} | {r.min_s:>7.2f} | {r.max_s:>7.2f} | "
                     f"{r.cpu_s:>7.2f} | {r.peak_mib:>8.0f} | {r.rendered:>8}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="article counts (default: 1000 10000)")
    parser.add_argument("--huge", action="store_true", help="also 100,000 articles (several GB of disk, a long run)")
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario; the median is reported (default: 3)")
    parser.add_argument("--cold-runs", type=int, default=None, help="runs of the cold build (default: --runs)")
    parser.add_argument("--jobs", type=int, default=None, help="passed to build.py --jobs (default: its default)")
    parser.add_argument("--settle", type=float, default=SETTLE_SECONDS,
                        help=f"seconds to wait after removing old outputs, before the cold builds (default: {SETTLE_SECONDS:g})")
    args = parser.parse_args()
    sizes = args.sizes + ([100_000] if args.huge else [])
    load_before = os.getloadavg()
    rows = [row for count in sizes for row in bench_size(count, args.runs, args.jobs, args.cold_runs or args.runs, args.settle)]
    print(table(rows))
    load_after = os.getloadavg()
    print(f"load average before/after: {load_before[0]:.1f} / {load_after[0]:.1f} on {os.cpu_count()} cores")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    result = {
        "when": stamp,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version(), "system": platform.platform(),
                    "load_average_before": load_before, "load_average_after": load_after},
        "jobs": args.jobs,
        "rows": [asdict(r) for r in rows],
    }
    path = RESULTS / f"bench-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
