"""Command line: commands, options, exit statuses and error reporting.

Exit status: 0 success; 1 invalid content files (reported, skipped); 2 usage,
configuration, template or output error. Nothing a user can cause prints a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import jinja2

from . import imagecache
from .config import ConfigError, load_config
from .content import iter_problem_lines, load_articles
from .incremental import default_jobs
from .output import OutputError
from .pipeline import BuildOptions, BuildResult, build
from .search import SearchError

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2
DEFAULT_IMAGE_CACHE = Path(".cache/images")


def _add_site_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--content", type=Path, default=Path("content"), help="folder of article files (default: content)")
    parser.add_argument("--config", type=Path, default=None, help="site settings file (default: site.yaml if present)")
    parser.add_argument("--templates", type=Path, default=None,
                        help="folder of templates that override the default theme's (default: templates, if present)")
    parser.add_argument("--drafts", action="store_true", help="include articles with 'published: false'")


def _add_build_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--jobs", type=_positive, default=default_jobs(), metavar="N",
                        help="render on N processes (default: the machine's cores); the output is the same for any N")
    parser.add_argument("--cache", type=Path, default=Path(".cache"), metavar="DIR",
                        help="incremental build cache, safe to delete (default: .cache)")


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text!r}")
    return number


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="build.py",
        description="Build a static news-digest site from a folder of article files.",
        epilog="With no command, 'build' runs with the defaults.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    build_cmd = commands.add_parser("build", help="build the site into the output folder")
    _add_site_options(build_cmd)
    _add_build_options(build_cmd)
    build_cmd.add_argument("--output", type=Path, default=Path("_site"), help="output folder (default: _site)")
    build_cmd.add_argument("--static", type=Path, default=None,
                           help="folder of assets added over the default theme's /static/ (default: static, if present)")
    build_cmd.add_argument("--strict", action="store_true", help="on any invalid content file, exit 1 without touching the output")
    build_cmd.add_argument("--base-url", default=None, help="override base_url from the config")
    build_cmd.add_argument("--image-cache", type=Path, default=DEFAULT_IMAGE_CACHE,
                           help=f"image cache made by 'images' (default: {DEFAULT_IMAGE_CACHE})")
    serve_cmd = commands.add_parser("serve", help="build a live preview, serve it, rebuild and reload on every save")
    _add_site_options(serve_cmd)
    _add_build_options(serve_cmd)
    serve_cmd.add_argument("--static", type=Path, default=None,
                           help="folder of assets added over the default theme's /static/ (default: static, if present)")
    serve_cmd.add_argument("--image-cache", type=Path, default=DEFAULT_IMAGE_CACHE,
                           help=f"image cache made by 'images' (default: {DEFAULT_IMAGE_CACHE})")
    serve_cmd.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    serve_cmd.add_argument("--port", type=int, default=8000,
                           help="port (default: 8000; if taken, the next free one; 0: any free port)")
    serve_cmd.add_argument("--open", action="store_true", help="open the preview in the web browser")
    check_cmd = commands.add_parser("check", help="validate content, config and templates; write nothing")
    _add_site_options(check_cmd)
    _add_build_options(check_cmd)
    images_cmd = commands.add_parser("images", help="download every image into the local cache and make resized copies")
    _add_site_options(images_cmd)
    images_cmd.add_argument("--image-cache", type=Path, default=DEFAULT_IMAGE_CACHE,
                            help=f"cache folder (default: {DEFAULT_IMAGE_CACHE})")
    images_cmd.add_argument("--jobs", type=int, default=4, help="downloads at a time (default: 4)")
    images_cmd.add_argument("--timeout", type=float, default=imagecache.TIMEOUT,
                            help=f"seconds allowed per download (default: {imagecache.TIMEOUT:g})")
    images_cmd.add_argument("--retry-failed", action="store_true", help="try again the URLs that failed before")
    return parser


def _theme_folder(given: Path | None, default: Path) -> Path | None:
    """The folder layered over the default theme: the one given, else ``default`` when it exists."""
    if given is not None:
        return given
    return default if default.is_dir() else None


def _options(args: argparse.Namespace) -> BuildOptions:
    config = args.config
    if config is None and Path("site.yaml").is_file():
        config = Path("site.yaml")
    return BuildOptions(
        content=args.content,
        output=getattr(args, "output", Path("_site")),
        config=config,
        templates=_theme_folder(args.templates, Path("templates")),
        static=_theme_folder(getattr(args, "static", None), Path("static")),
        drafts=args.drafts,
        strict=getattr(args, "strict", False),
        base_url=getattr(args, "base_url", None),
        write=args.command != "check",
        image_cache=getattr(args, "image_cache", None),
        cache_dir=getattr(args, "cache", None),
        jobs=args.jobs if hasattr(args, "cache") else 1,  # `images` has its own --jobs: downloads at a time
    )


def attempt(options: BuildOptions) -> tuple[BuildResult | None, list[str]]:
    """Run one build; the result (None when it could not run) and every problem as a printable line."""
    for name, folder in (("content", options.content), ("templates", options.templates), ("static", options.static)):
        if folder is not None and not folder.is_dir():
            return None, [f"error: {name} folder not found: {folder}"]
    try:
        result = build(options)
    except (ConfigError, OutputError, SearchError) as exc:
        return None, [f"error: {exc}"]
    except jinja2.TemplateSyntaxError as exc:
        return None, [f"{exc.filename or exc.name}:{exc.lineno}: template error: {exc.message}"]
    except jinja2.TemplateError as exc:
        return None, [f"error: template error: {exc}"]
    return result, list(iter_problem_lines(result.problems))


def run(options: BuildOptions) -> tuple[int, BuildResult | None]:
    """Run one build and report on stderr; returns the exit status (and the result when it ran)."""
    result, lines = attempt(options)
    for line in lines:
        print(line, file=sys.stderr)
    if result is None:
        return EXIT_USAGE, None
    return (EXIT_CONTENT if result.errors else EXIT_OK), result


def _progress(done: int, total: int) -> None:
    """One progress line on stderr: redrawn in place on a terminal, every tenth otherwise."""
    if sys.stderr.isatty():
        filled = 30 * done // total if total else 30
        end = "\n" if done == total else ""
        print(f"\rimages [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}", end=end, file=sys.stderr, flush=True)
    elif total and (done == total or done % max(1, total // 10) == 0):
        print(f"images: {done}/{total}", file=sys.stderr, flush=True)


def run_images(args: argparse.Namespace) -> int:
    """The ``images`` command: fill the cache for every article and related image, then report."""
    options = _options(args)
    if not options.content.is_dir():
        print(f"error: content folder not found: {options.content}", file=sys.stderr)
        return EXIT_USAGE
    if args.jobs < 1 or args.timeout <= 0:
        print("error: --jobs and --timeout must be positive", file=sys.stderr)
        return EXIT_USAGE
    try:
        config = load_config(options.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    loaded = load_articles(options.content, config.tz, drafts=options.drafts, max_file_size=config.max_file_size)
    for line in iter_problem_lines(loaded.problems):
        print(line, file=sys.stderr)
    urls = [image.url for article in loaded.articles for image in article.images]
    urls += [story.image.url for article in loaded.articles for story in article.related if story.image]
    try:
        report = imagecache.fill_cache(imagecache.ImageCache(args.image_cache), urls, jobs=args.jobs,
                                       retry_failed=args.retry_failed, timeout=args.timeout, progress=_progress)
    except OSError as exc:
        print(f"error: cannot write the image cache: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"images: {report.total} in {args.image_cache}: {report.fetched} downloaded, {report.converted} converted, "
          f"{report.reused} already cached, {len(report.failures)} failed")
    for entry in report.failures:
        print(f"  failed: {entry.url}: {entry.reason}")
    if report.skipped_failed:
        print(f"  ({report.skipped_failed} failed on an earlier run and were not retried; use --retry-failed)")
    return EXIT_OK


def main(argv: list[str] | None = None, exiting: bool = False) -> int:
    """Run one command; ``exiting``: the process ends right after (see BuildOptions.exiting)."""
    args = make_parser().parse_args(argv)
    if args.command is None:
        args = make_parser().parse_args(["build", *(argv or [])])
    if args.command == "images":
        try:
            return run_images(args)
        except KeyboardInterrupt:
            print("interrupted; what was cached so far is kept", file=sys.stderr)
            return 130
    options = _options(args)
    if args.command == "serve":
        from .serve import ServeOptions, serve  # the server's imports are only paid for when serving

        return serve(ServeOptions(options, host=args.host, port=args.port, open_browser=args.open))
    options = replace(options, exiting=exiting)
    try:
        status, result = run(options)
    except KeyboardInterrupt:
        print("interrupted; the previous site was left as it was", file=sys.stderr)
        return 130
    if result is None:
        return status
    errors = len(result.errors)
    summary = f"{errors} invalid file(s) skipped" if errors else "no problems"
    if not options.write:
        print(f"checked {result.pages} pages: {summary}")
    elif result.stats is None:
        print(f"not built (--strict): {summary}", file=sys.stderr)
    elif result.unchanged:
        print(f"nothing changed since the last build of {options.output} ({result.pages} pages, "
              f"checked in {result.seconds:.2f}s); {summary}")
    else:
        s = result.stats
        print(f"built {result.pages} pages into {options.output} in {result.seconds:.2f}s "
              f"({result.rendered} rendered; files: {s.written} written, {s.unchanged} unchanged, "
              f"{s.removed} removed); {summary}")
    return status


def entry_point() -> NoReturn:
    """``python build.py`` and the ``news-digest`` command: :func:`main`, then exit at once.

    Everything is written and closed by the time ``main`` returns; the interpreter's own teardown
    would then free the site model, the plan and the build cache object by object, and run a last
    full collection over them: 0.1 s of every build at 10,000 articles, for nothing. The build
    leaves them alive for the exit for the same reason (``BuildOptions.exiting``).
    """
    status = main(sys.argv[1:], exiting=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
