"""What "nothing injected" means for a built page, checked with the standard library's HTML parser."""

from __future__ import annotations

from html.parser import HTMLParser

DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
URL_ATTRIBUTES = {"href", "src", "srcset", "action", "formaction", "poster", "data", "xlink:href"}


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("type") != "application/ld+json" and not (
            attributes.get("src") or ""
        ).startswith("/"):
            self.problems.append(f"script element: {attrs}")
        if tag in {"iframe", "object", "embed", "frame", "base", "form"} and not _site_search_form(tag, attributes):
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"event handler attribute {name}={value!r}")
            if name == "style":
                self.problems.append(f"style attribute {value!r}")
            if name in URL_ATTRIBUTES and value:
                folded = "".join(value.split()).lower()
                if folded.startswith(DANGEROUS_SCHEMES) or any(
                    part.strip().lower().startswith(DANGEROUS_SCHEMES) for part in value.split(",")
                ):
                    self.problems.append(f"dangerous URL {name}={value!r}")


def _site_search_form(tag: str, attributes: dict[str, str | None]) -> bool:
    """The theme's own header search box: a GET form to the site's /search/ page."""
    action = attributes.get("action") or ""
    return (tag == "form" and attributes.get("role") == "search" and attributes.get("method") == "get"
            and action.startswith("/") and action.endswith("/search/"))


def injection_problems(html: str) -> list[str]:
    """Every script, handler, inline style, embedding element or dangerous URL in the page."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.problems
