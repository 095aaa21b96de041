"""The top-stories score: how hot and how good a story is, fading with age.

    score = (top_heat_weight * heat + top_quality_weight * quality) * 0.5 ** (age_hours / top_half_life_hours)

``heat`` and ``quality`` are the article's 0-100 values (a missing value counts as 0).
``age_hours`` is measured from the newest article in the corpus, not from the clock, so the
same content always ranks the same way: the newest story has no decay, one a half-life
older counts half.
"""

from __future__ import annotations

from datetime import datetime

from .config import Config
from .model import Article


def story_score(article: Article, newest: datetime, config: Config) -> float:
    """The article's top-stories score in a corpus whose newest article was published at ``newest``."""
    base = config.top_heat_weight * (article.heat or 0) + config.top_quality_weight * (article.quality or 0)
    age_hours = max(0.0, (newest - article.published).total_seconds() / 3600)
    return base * 0.5 ** (age_hours / config.top_half_life_hours)


def is_listed(article: Article, config: Config) -> bool:
    """Whether lists show the article: ``min_quality`` hides those rated below it (unrated ones stay)."""
    return article.quality is None or article.quality >= config.min_quality
