"""Render only the pages whose inputs changed, on all cores, and keep the cache up to date.

Model and plan always run in full, so every page sees consistent cross-page data; here each
planned page gets a fingerprint of its exact context, its template set and the config, and
only pages whose fingerprint (or output file) changed are rendered again. This is generic
over whatever :func:`~digest.pages.plan_pages` returns: a new page type needs nothing here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .cache import BuildCache, Fingerprinter
from .output import SiteWriter
from .pages import Page
from .render import Renderer
from .workers import fork_map

PARALLEL_MIN = 64  # fewer pages than this render faster in-process than a pool starts


def default_jobs() -> int:
    """The cores this process may run on (not the machine's total under a CPU affinity mask)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@dataclass(frozen=True)
class RenderStats:
    rendered: int  # pages whose template ran in this build
    reused: int  # pages carried over from the previous output unrendered
    fingerprints: dict[str, bytes]  # by output path, for BuildCache.record once the output is in place


def render_pages(
    pages: Sequence[Page], renderer: Renderer, writer: SiteWriter | None, cache: BuildCache, jobs: int
) -> RenderStats:
    """Render what changed into ``writer`` (or everything, to check it, when there is no writer)."""
    fingerprint = Fingerprinter()
    cache.seed(fingerprint)
    inputs = fingerprint(*renderer.inputs())
    prints = [fingerprint(inputs, renderer.template_digest(page.template), page) for page in pages]
    todo: list[int] = []
    for index, page in enumerate(pages):
        entry = cache.outputs.get(page.output_path)
        if writer and entry and entry.fingerprint == prints[index] and entry.matches(writer.output / page.output_path):
            writer.keep(page.output_path)
        else:
            todo.append(index)
    for index, data in _render(renderer, pages, todo, jobs):
        if writer:
            writer.add(pages[index].output_path, data)
    fingerprints = {page.output_path: prints[index] for index, page in enumerate(pages)}
    return RenderStats(rendered=len(todo), reused=len(pages) - len(todo), fingerprints=fingerprints)


def _render(renderer: Renderer, pages: Sequence[Page], todo: list[int], jobs: int) -> Iterator[tuple[int, bytes]]:
    """Rendered pages, in plan order when in-process: the bytes are the same whatever the number of workers."""
    if jobs <= 1 or len(todo) < PARALLEL_MIN:
        for index in todo:
            yield index, renderer.render(pages[index])
        return
    yield from fork_map(lambda index: renderer.render(pages[index]), todo, jobs)
