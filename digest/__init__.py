"""news-digest: a static site generator for folders of news-article files."""

__version__ = "0.1.0"
