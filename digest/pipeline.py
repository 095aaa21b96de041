"""``build()``: the whole program in one screen, chaining the stages.

load (content) -> model (site) -> plan (pages) -> render -> write (output)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import badges
from .assets import load_assets
from .config import Config, load_config
from .cache import BuildCache, check_outputs
from .content import Listing, Problem, list_articles, load_articles
from .fastrender import Warm
from .feeds import feed_files
from .output import SiteWriter, WriteStats, check_output_dir, recover
from .incremental import PageFingerprints, RenderStats, default_jobs, render_pages
from .pages import plan_articles, plan_pages, search_shards
from .pictures import load_catalog
from .render import Renderer
from .search import (EARLY_WORK, SEARCH_BUNDLE, EarlyIndex, SearchUpdate, deferred_update, find_pagefind, resolve,
                     shards_of, update_index)
from .site import arrange, place_stories
from .theme import DEFAULT_STATIC, DEFAULT_TEMPLATES, layers
from . import unchanged
from .workers import Helper


@dataclass(frozen=True)
class BuildOptions:
    content: Path = Path("content")
    output: Path = Path("_site")
    config: Path | None = None
    templates: Path | None = None  # a folder whose templates override the default theme's
    static: Path | None = None  # a folder whose files are added to, or replace, the default theme's
    drafts: bool = False
    strict: bool = False
    base_url: str | None = None
    write: bool = True  # False for `check`: everything but the writing
    image_cache: Path | None = None  # the `images` cache; None: no local copies (remote images only)
    cache_dir: Path | None = None  # the incremental build cache (the CLI uses .cache/); None: build from scratch
    jobs: int = field(default_factory=default_jobs)  # parse and render workers; output is the same for any number
    defer_search: bool = False  # keep the previous search index; the caller refreshes it (the preview, after reloading)
    keep_warm: bool = False  # return what fast render needs (the preview): BuildResult.warm
    exiting: bool = False  # the process ends right after the build (cli.entry_point): see _LEFT_FOR_EXIT


# What builds with BuildOptions.exiting leave alive: their process ends at once (os._exit), so the
# site model, the plan and the caches, a million objects at 10,000 articles, need not be freed one
# by one first (0.05 s of a one-article edit there, 0.1 s of a cold build).
_LEFT_FOR_EXIT: list[object] = []


@dataclass
class BuildResult:
    problems: tuple[Problem, ...] = ()
    pages: int = 0
    rendered: int = 0  # pages whose template ran; the rest were unchanged and carried over
    parsed: int = 0  # content files parsed; the rest came from the cache
    stats: WriteStats | None = None
    seconds: float = 0.0
    unchanged: bool = False  # no input changed since the last build, whose output is intact: nothing ran
    stale_search: SearchUpdate | None = None  # with defer_search: the shards of the kept index to refresh
    warm: Warm | None = None  # with keep_warm, when the build wrote its output
    config: Config = field(default_factory=Config)

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.warning)


def build(options: BuildOptions) -> BuildResult:
    """Build the site; raises ConfigError, OutputError or a Jinja TemplateError when it cannot."""
    started = time.perf_counter()
    config = load_config(options.config)
    if options.base_url:
        config = config.with_base_url(options.base_url)
    static_folders = layers(options.static, DEFAULT_STATIC)
    badges.check_logos(config.providers, static_folders, options.config)
    if options.write:
        theme_folders = layers(options.templates, DEFAULT_TEMPLATES) + static_folders
        image_cache = [options.image_cache] if options.image_cache else []
        check_output_dir(options.output, [options.content, *theme_folders, *image_cache])
        recover(options.output)  # a build killed while committing: finish it first, even if this one writes nothing
    record = unchanged.record_path(options.cache_dir, options.content, options.output)
    listing = list_articles(options.content)  # one walk, for the no-change check and the load stage
    inputs = _source_key(options, config, listing) if record and options.write else None
    last = unchanged.load(record)
    same_inputs = bool(inputs and last and inputs.same_as(last))
    if same_inputs and last and last.output_intact(options.output):
        if inputs and (restamped := last.restamped(inputs)) is not None:
            unchanged.save(record, restamped)  # files that settled are compared by stamp from now on
        return BuildResult(problems=last.problems, pages=last.pages, config=config, unchanged=True,
                           stats=WriteStats(0, len(last.files), 0), seconds=time.perf_counter() - started)
    unchanged.save(record, None)  # from here on the output may change: the old record no longer vouches for it
    helper, stories, writer = _helper(options), None, None
    try:
        checked = helper.call(check_outputs, options.cache_dir, options.content, options.output,
                              config.timezone) if helper else None
        cache = BuildCache.open(options.cache_dir, options.content, options.output, config.timezone)
        loaded = load_articles(listing, config.tz, drafts=options.drafts, max_file_size=config.max_file_size,
                               parse=cache.parser(config.tz, options.jobs))
        config, pagefind, search_warnings = resolve(config, loaded.articles, options.config)
        stories = place_stories(loaded.articles, config, previous=cache.memos, parallel=options.jobs > 1)
        result = BuildResult(problems=loaded.problems + stories.warnings + tuple(search_warnings), config=config,
                             parsed=len(cache.reparsed))
        badge_css = badges.stylesheet(config.providers)
        assets = load_assets(*static_folders, generated={badges.STYLESHEET: badge_css} if badge_css else None)
        renderer = Renderer(options.templates, config, assets, load_catalog(options.image_cache), options.image_cache,
                            cache_dir=options.cache_dir)
        skip_writing = not options.write or (options.strict and result.errors)
        # With the inputs of the last build, the output is not what it left (or it would have stopped
        # above): the writer sees what is there rather than trusting its record.
        writer = None if skip_writing else SiteWriter(options.output, walk=same_inputs)
        if checked:
            cache.trust(checked.result())
        fingerprints = PageFingerprints(renderer, cache) if writer else None
        articles, early, first = None, None, RenderStats(0, 0, {}, frozenset())
        if pagefind and writer and helper and cache.outputs and not options.defer_search:
            # An edit, with a core to spare: the article pages of the search shards of the articles
            # parsed again are rendered first, and the helper indexes those shards while this process
            # makes the lists and fingerprints the other pages (the preview re-indexes after reloading).
            articles = plan_articles(stories)
            edited = (article.web_url for article in loaded.articles if article.source in cache.reparsed)
            early = EarlyIndex(pagefind, writer, shards_of(articles.shards, edited), helper)
            first = render_pages(early.pages(articles.pages), renderer, writer, cache, options.jobs, fingerprints)
            early.start()
        site = arrange(stories, previous=cache.memos)
        cache.memos = site.memos
        pages = plan_pages(site, articles)
        shards = search_shards(pages)
        # Rendering without a writer checks the templates (`check`); `--strict` with errors renders nothing.
        stats = None
        if writer or not options.write:
            rest = [page for page in pages if page.output_path not in first.fingerprints]
            stats = first + render_pages(rest, renderer, writer, cache, options.jobs, fingerprints)
        for path, data in feed_files(site, pages) + list(assets.files):
            if writer:
                writer.add(path, data)
        cache.save_sources()  # while the search index of an edit is still being made
        if writer:
            for rel_path, source in renderer.pictures.files(site):
                writer.add_file(rel_path, source)
            if pagefind:
                if options.defer_search and writer.keep_folder(SEARCH_BUNDLE):
                    result.stale_search = deferred_update(pagefind, writer, shards)
                else:
                    update_index(pagefind, writer, shards, options.jobs, early)
            result.stats = writer.commit()
            cache.record(options.output, stats.fingerprints if stats else {}, stats.kept if stats else ())
        cache.save()
        if options.keep_warm and result.stats is not None:
            result.warm = Warm.of(config, renderer, pages)
        if inputs and result.stats is not None and result.stale_search is None:
            # The last record vouches for the files this build kept, unless the output was found changed by hand.
            unchanged.save(record, unchanged.LastBuild.of(inputs, result.problems, len(pages), options.output,
                                                          writer.paths if writer else (), cache.outputs,
                                                          writer.changed if writer else (), None if same_inputs else last))
        if options.exiting:
            _LEFT_FOR_EXIT.append((listing, loaded, stories, site, articles, pages, renderer, writer, cache, fingerprints,
                                   stats))
        result.rendered = stats.rendered if stats else 0
        result.pages = len(pages)
        result.seconds = time.perf_counter() - started
    except BaseException:
        if stories:
            stories.cancel()  # the related-story matching of a first build, if it still runs apart
        if helper:
            helper.stop()  # Pagefind must not go on reading a staging folder being removed
        if writer:
            writer.abort()
        raise
    finally:
        if helper:
            helper.stop()
    return result

def _helper(options: BuildOptions) -> Helper | None:
    """A process for the work a build can hand to its second core (see :class:`~digest.workers.Helper`),
    forked while this one is still small: checking the output files the last build left (see
    :func:`~digest.cache.check_outputs`) and indexing the search shards an edit changed (see
    :class:`~digest.search.EarlyIndex`). None with one job, or when there is no output of the last
    build to check, so neither is likely to be needed (a first build renders every page anyway),
    and in the preview (``keep_warm``): its process holds the last build's model, so a fork is never
    small there, and the copy-on-write faults cost each rebuild more than the check saves (0.04 s
    at 10,000 articles)."""
    if (options.jobs <= 1 or not options.write or not options.cache_dir or options.keep_warm
            or not options.output.is_dir()):
        return None
    return Helper((check_outputs, *EARLY_WORK))


def _source_key(options: BuildOptions, config: Config, listing: Listing) -> unchanged.Inputs:
    """What :mod:`digest.unchanged` compares: every input of this build, the worker count aside.

    Image variants and the search binary count by name and stat, not bytes: variant names carry
    their content hash, and the binary is large and changes only with its package.
    """
    pagefind = find_pagefind() if config.search else None
    binary = (str(pagefind), pagefind.stat().st_size, pagefind.stat().st_mtime_ns) if pagefind else None
    manifest: list[Path] = []
    variants: list[str] = []
    if options.image_cache:
        manifest.append(options.image_cache / "manifest.json")
        folder = options.image_cache / "variants"
        variants = sorted(os.listdir(folder)) if folder.is_dir() else []
    settings = (replace(options, jobs=0), options.content.resolve(), options.output.resolve(), config, binary, variants)
    themes = layers(options.templates, DEFAULT_TEMPLATES) + layers(options.static, DEFAULT_STATIC)
    return unchanged.snapshot(settings, listing, themes, manifest)
