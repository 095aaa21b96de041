"""Deterministic synthetic corpus in the reference article's shape, for benchmarks, demos and tests.

Every URL is on example.com / example.org and every article says it is synthetic, so a
generated site can never be mistaken for real news.

    python -m benchmarks.corpus OUT_DIR --count 1000 [--seed 1]
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

TOPICS = ["AI", "Computer Vision", "Robotics", "Chips", "Privacy", "Cloud", "Security", "Startups"]
WORDS = (
    "model camera city police court chip robot cloud privacy data startup funding regulator law "
    "vision network sensor market deal study report lab school hospital drone car phone app "
    "standard policy ban test launch record growth risk safety research team users growth"
).split()
VERBS = "calls for|unveils|questions|bans|funds|tests|delays|expands|warns about|approves".split("|")
START = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _headline(rng: random.Random) -> str:
    words = rng.sample(WORDS, 5)
    return f"{words[0].title()} {words[1]} {rng.choice(VERBS)} {words[2]} {words[3]} {words[4]} (synthetic)"


def _story(seed: int, index: int, indent: str) -> list[str]:
    """The YAML lines of story ``index``: the same whether it is an article or someone's related story."""
    rng = random.Random(f"{seed}:{index}")
    when = START + timedelta(minutes=index * 9 + rng.randint(0, 8))  # about 160 articles a day
    provider = rng.randrange(60)
    domain = f"provider{provider}.example.com"
    url = f"https://{domain}/{when:%Y/%m/%d}/story-{index}/"
    return [
        f"{indent}title: {_quote(_headline(rng))}",
        f"{indent}excerpt: {_quote('Synthetic excerpt: ' + ' '.join(rng.choices(WORDS, k=24)) + '.')}",
        f"{indent}publishedDateTime: {when:%Y-%m-%dT%H:%M:%SZ}",
        f"{indent}webUrl: {_quote(url)}",
        f"{indent}ampWebUrl: {_quote(url + 'amp/')}",
        f"{indent}type: article",
        f"{indent}provider:",
        f"{indent}  name: Provider {provider} (synthetic)",
        f"{indent}  domain: {domain}",
        f"{indent}quality: {rng.randint(20, 95)}",
        f"{indent}images:",
        f"{indent}  - url: {_quote(f'https://images.example.org/{index}.jpg')}",
        f"{indent}    width: {rng.choice([800, 1024, 1200, 1600])}",
        f"{indent}    height: {rng.choice([533, 651, 800, 900])}",
        f"{indent}    isCached: {str(rng.random() < 0.8).lower()}",
    ]


def article_file(index: int, count: int, seed: int = 1) -> str:
    """The text of synthetic article ``index`` out of ``count`` (its related stories are other articles)."""
    rng = random.Random(f"{seed}:extra:{index}")
    lines = ["---", "category: news", *_story(seed, index, ""), f"heat: {rng.randint(0, 100)}", "published: true"]
    lines += ["topics:", *(f"  - {t}" for t in rng.sample(TOPICS, rng.randint(1, 3)))]
    related = [rng.randrange(count) for _ in range(rng.randint(0, 3))]
    if related:
        lines.append("related:")
        for other in related:
            story = _story(seed, other, "    ")
            lines += ["  - " + story[0].lstrip(), *story[1:]]
    lines += [f"secured: {_quote('SYNTHETIC-SECRET-' + format(rng.getrandbits(64), 'x'))}", "---", ""]
    return "\n".join(lines)


def write_corpus(folder: Path, count: int, seed: int = 1) -> list[Path]:
    """Write ``count`` article files into ``folder`` (spread over sub-folders of 1,000)."""
    paths = []
    for index in range(count):
        path = folder / f"{index // 1000:03d}" / f"{index:06d}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(article_file(index, count, seed), encoding="utf-8")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    write_corpus(args.folder, args.count, args.seed)
    print(f"wrote {args.count} synthetic articles into {args.folder}")


if __name__ == "__main__":
    main()
