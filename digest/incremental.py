"""Render only the pages whose inputs changed, on all cores, and keep the cache up to date.

Model and plan always run in full, so every page sees consistent cross-page data; here each
planned page gets a fingerprint of its URL, its recipe and the inputs its context is made from
(the context itself is a pure function of those: see :class:`~digest.pages.Page`), its template
set and the config, and only pages whose fingerprint (or output file) changed are rendered
again. This is generic over whatever :func:`~digest.pages.plan_pages` returns: a new page type
needs nothing here.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Sequence
from contextlib import closing
from itertools import chain
from dataclasses import dataclass
from datetime import date, datetime

from .cache import BuildCache, Fingerprinter
from .output import SiteWriter
from .archive import PeriodRef
from .model import Image
from .pages import Page
from .render import Renderer
from .site import Card, PostLink, StoryLink
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
    kept: frozenset[str]  # output paths of the pages carried over: their files and cache entries stand

    def __add__(self, other: RenderStats) -> RenderStats:
        """The stats of both calls of :func:`render_pages` (over pages apart) of one build."""
        return RenderStats(self.rendered + other.rendered, self.reused + other.reused,
                           self.fingerprints | other.fingerprints, self.kept | other.kept)


class PageFingerprints:
    """Each page's fingerprint (see :func:`fingerprint_page`), for one build: what all its pages share
    (the articles' digests, the renderer's inputs, each template's digest) is worked out once, however
    many times it calls :func:`render_pages`."""

    def __init__(self, renderer: Renderer, cache: BuildCache) -> None:
        # Objects made for one page (its cards, its sidebar's links to stories we do not have, the
        # period refs of an archive page), small values (dates, images) and links that only name a
        # post are hashed within the value that holds them: a digest of their own, kept for other
        # pages, would only cost a nested pickling each. Shared objects (posts, topic refs, the
        # navigation every page shows) stand in by their digest, worked out once per build.
        self._fingerprint = Fingerprinter(inline=(Card, PostLink, StoryLink, PeriodRef, date, datetime, Image))
        cache.seed(self._fingerprint)
        self._inputs = self._fingerprint(*renderer.inputs())
        self._renderer = renderer
        self._templates: dict[str, bytes] = {}

    def __call__(self, page: Page) -> bytes:
        template = self._templates.get(page.template)
        if template is None:
            template = self._templates[page.template] = self._renderer.template_digest(page.template)
        return fingerprint_page(self._fingerprint, self._inputs, template, page)


def render_pages(
    pages: Sequence[Page], renderer: Renderer, writer: SiteWriter | None, cache: BuildCache, jobs: int,
    fingerprints: PageFingerprints | None = None,
) -> RenderStats:
    """Render what changed into ``writer`` (or everything, to check it, when there is no writer).

    A build may call this more than once, over pages apart (an edit renders the pages of its search
    shard first: see the pipeline), with the same ``fingerprints``.
    """
    # The model and the plan outlive this stage unchanged: the cyclic garbage collector need not walk
    # their millions of objects again and again (a full pass costs a tenth of a second at 10,000
    # articles), and forked workers do not copy the memory it would touch.
    gc.freeze()
    try:
        return _render_pages(pages, renderer, writer, cache, jobs,
                             fingerprints or (PageFingerprints(renderer, cache) if writer else None))
    finally:
        gc.unfreeze()  # collectable again, for the next build of a long-running `serve`


_KEPT, _WRITTEN, _UNCHANGED = 0, 1, 2  # what became of a page: carried over, or rendered to new or same bytes


def _render_pages(pages: Sequence[Page], renderer: Renderer, writer: SiteWriter | None, cache: BuildCache, jobs: int,
                  print_of: PageFingerprints | None) -> RenderStats:
    prints: list[bytes] = [b""] * len(pages)
    # Most pages will be carried over (an edit): hashing them here costs less than the workers
    # would, since each would hash most of the model again, and only the pages that changed are
    # then handed out.
    prefilter = writer is not None and _mostly_recorded(pages, cache)

    def build(index: int) -> tuple[bytes, int]:
        """One page's fingerprint, and whether it was carried over or rendered (and staged).

        Runs in a worker when there are several: on a first build or after a template edit,
        fingerprinting is a large part of the work too, and only a fingerprint and a flag go back
        to the parent, never the page's bytes.
        """
        page = pages[index]
        if writer is None or print_of is None:  # `check`: nothing to compare with or to record
            renderer.render(page)
            return b"", _UNCHANGED
        print_ = prints[index] or print_of(page)
        if cache.current(page.output_path, print_, writer.output):
            return print_, _KEPT
        return print_, _WRITTEN if writer.stage(page.output_path, renderer.render(page)) else _UNCHANGED

    rendered = 0
    kept = set()
    todo: Sequence[int] = range(len(pages))
    carried: list[int] = []  # pages found unchanged before any worker starts
    if prefilter:
        todo = []
        for index, page in enumerate(pages):
            prints[index] = print_ = print_of(page)
            (carried if cache.current(page.output_path, print_, writer.output) else todo).append(index)
    # Few pages are done faster in-process than workers start; the output is the same either way.
    parallel = jobs > 1 and len(todo) >= PARALLEL_MIN
    if parallel:
        renderer.compile({pages[index].template for index in todo})  # once here, not once per worker
    results = fork_map(build, todo, jobs) if parallel else ((index, build(index)) for index in todo)
    with closing(results):  # closed at once on an error, so no worker goes on writing
        for index, (prints[index], outcome) in chain(((index, (prints[index], _KEPT)) for index in carried), results):
            rendered += outcome != _KEPT
            if writer and outcome == _KEPT:
                kept.add(pages[index].output_path)
                writer.keep(pages[index].output_path)
            elif writer:
                writer.record(pages[index].output_path, outcome == _WRITTEN)
    fingerprints = {page.output_path: print_ for page, print_ in zip(pages, prints)}
    return RenderStats(rendered=rendered, reused=len(pages) - rendered, fingerprints=fingerprints, kept=frozenset(kept))


def fingerprint_page(fingerprint: Fingerprinter, inputs: bytes, template: bytes, page: Page) -> bytes:
    """What a page's bytes are made from: rendering reads its URL and its context, and the context
    is its recipe (hashed by name: its code is the generator's, which the cache is keyed by) applied
    to its inputs. The sitemap's ``updated`` and ``indexed`` are not rendered."""
    return fingerprint(inputs, template, page.url, page.recipe, page.inputs)


def _mostly_recorded(pages: Sequence[Page], cache: BuildCache) -> bool:
    """Whether the last build recorded at least half of these pages, so that most are likely to be
    carried over: what decides where the fingerprints are worked out (see _render_pages)."""
    recorded = cache.outputs
    return 2 * sum(page.output_path in recorded for page in pages) >= len(pages)
