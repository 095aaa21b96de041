"""Time story clustering and related-story matching on the synthetic corpus plus injected duplicates.

    python -m benchmarks.stories [--count 10000] [--duplicates 500] [--seed 1]

Writes ``count`` synthetic articles (benchmarks/corpus.py), loads them as a build would, then
adds ``duplicates`` re-worded copies of evenly spaced articles from other providers, one to
five hours later, so clustering has real work to do. Prints the time spent in each step and
how many injected duplicates ended up in a cluster with their original.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from benchmarks.corpus import write_corpus
from digest import clusters, similar
from digest.config import Config
from digest.content import load_articles
from digest.model import Article, Provider
from digest.ranking import story_score
from digest.site import build_site
from digest.tokens import title_tokens


def with_duplicates(articles: tuple[Article, ...], duplicates: int) -> tuple[Article, ...]:
    """The articles plus re-worded copies of every n-th one from another provider, hours later."""
    step = max(1, len(articles) // max(1, duplicates))
    copies = []
    for n, original in enumerate(sorted(articles, key=lambda a: a.web_url)[::step][:duplicates]):
        words = original.title.split()
        words[0] = "Breaking:"  # one word changed, one kept: near-identical, not identical
        domain = f"wire{n % 7}.example.com"
        copies.append(dataclasses.replace(
            original,
            source=f"injected/{n}.md",
            title=" ".join(words),
            web_url=f"https://{domain}/copy-{n}/",
            provider=Provider(f"Wire {n % 7} (synthetic)", domain),
            published=original.published + timedelta(hours=1 + n % 5),
            related=(),
        ))
    return articles + tuple(copies)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--duplicates", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    config = Config()
    with tempfile.TemporaryDirectory() as folder:
        write_corpus(Path(folder), args.count, args.seed)
        loaded = load_articles(Path(folder), config.tz)
    articles = with_duplicates(loaded.articles, args.duplicates)

    site, model_time = timed(lambda: build_site(articles, config))
    posts = site.listed
    tokens, token_time = timed(lambda: {p.article.web_url: title_tokens(p.title) for p in posts})
    newest = site.posts[0].published
    entries = [clusters.Entry(p.article.web_url, tokens[p.article.web_url], p.published.timestamp(),
                              p.provider.domain, story_score(p.article, newest, config)) for p in posts]
    found, cluster_time = timed(
        lambda: clusters.find_clusters(entries, config.cluster_threshold, config.cluster_window_hours * 3600)[0])
    similar_entries = [similar.Entry(p.article.web_url, tokens[p.article.web_url],
                                     frozenset(t.slug for t in p.topics), p.published.timestamp()) for p in posts]

    def related() -> None:
        index = similar.SimilarityIndex(similar_entries)
        for entry in similar_entries:
            index.nearest(entry, config.related_count)

    _, related_time = timed(related)
    injected = {a.web_url for a in articles if a.source.startswith("injected/")}
    joined = sum(1 for group in found if injected & set(group))
    print(f"articles: {len(articles)} ({len(injected)} injected duplicates); times are wall / CPU")
    print(f"title tokens: {token_time}")
    print(f"clustering: {cluster_time}; {len(found)} clusters, {joined} contain an injected duplicate")
    print(f"related (index + {config.related_count} nearest for every article): {related_time}")
    print(f"whole site model (build_site): {model_time}")


T = TypeVar("T")


def timed(work: Callable[[], T]) -> tuple[T, str]:
    """Run ``work``; its result and "wall s / CPU s" (CPU time shows the cost on a busy machine)."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, f"{time.perf_counter() - wall:.3f} s / {time.process_time() - cpu:.3f} s"

if __name__ == "__main__":
    main()
