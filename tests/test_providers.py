"""site.yaml's provider overrides: hex colours, logo files under static/, and where badges use them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from digest.badges import check_logos, stylesheet
from digest.config import Config, ConfigError, config_from_mapping, load_config
from digest.model import Image, Provider, Story
from digest.pictures import Pictures
from digest.site import build_site
from tests.test_site import art


def providers(**settings: dict) -> Config:
    return config_from_mapping({"providers": settings})


def test_colour_is_a_palette_number_or_a_hex_colour():
    config = providers(**{"a.com": {"color": 0}, "b.com": {"color": "#1A5FB4"}, "c.com": {"color": " #f6d32d "}})
    assert [o.color for o in config.providers] == [0, "#1a5fb4", "#f6d32d"]


@pytest.mark.parametrize("color, message", [
    (12, "color must be a badge colour number 0-11 or a hex colour"),
    (True, "color must be"),
    ("#12345", "color must be"),
    ("#1a5fb4ff", "color must be"),
    ("1a5fb4", "color must be"),
    ("blue", "color must be"),
    (None, r'providers\.a\.com\.color is empty: quote a hex colour'),
])
def test_bad_colours_are_config_errors_naming_the_key(color, message):
    with pytest.raises(ConfigError, match=message) as error:
        providers(**{"a.com": {"color": color}})
    assert "providers.a.com.color" in str(error.value)


def test_an_unquoted_hex_colour_in_yaml_is_caught(tmp_path: Path):
    """`color: #1a5fb4` is a YAML comment: the key would silently have no value."""
    path = tmp_path / "site.yaml"
    path.write_text("providers:\n  nypost.com:\n    color: #1a5fb4\n")
    with pytest.raises(ConfigError, match=r"site\.yaml: providers\.nypost\.com\.color is empty: quote"):
        load_config(path)
    path.write_text('providers:\n  nypost.com:\n    color: "#1a5fb4"\n')
    assert load_config(path).providers[0].color == "#1a5fb4"


@pytest.mark.parametrize("logo, message", [
    ("/etc/logo.svg", "not an absolute path or URL"),
    ("C:/logos/logo.svg", "not an absolute path or URL"),
    ("https://nypost.com/logo.svg", "not an absolute path or URL"),
    ("\\\\server\\logo.svg", "not an absolute path or URL"),
    ("../logo.svg", r"must stay inside static/ \(no '\.\.'\)"),
    ("logos/../../secret.svg", "must stay inside static/"),
    ("logos\\..\\..\\secret.svg", "must stay inside static/"),
    ("logos/logo.txt", "must be an image file"),
    ("logos/logo.svg.html", "must be an image file"),
    ("logos/.hidden.svg", "must be a plain path under static/"),
    ("logos//logo.svg", "must be a plain path under static/"),
    ("", "must be the path of an image file"),
    (3, "must be the path of an image file"),
])
def test_logo_paths_that_could_leave_static_are_config_errors(logo, message):
    with pytest.raises(ConfigError, match=message) as error:
        providers(**{"a.com": {"logo": logo}})
    assert "providers.a.com.logo" in str(error.value)


def test_logo_files_must_exist_inside_a_static_folder(tmp_path: Path):
    user, theme = tmp_path / "static", tmp_path / "theme"
    (user / "logos").mkdir(parents=True)
    (theme / "logos").mkdir(parents=True)
    (user / "logos" / "a.svg").write_text("<svg/>")
    (theme / "logos" / "b.png").write_bytes(b"png")
    config = providers(**{"a.com": {"logo": "logos/a.svg"}, "b.com": {"logo": "logos/b.png"}})
    check_logos(config.providers, [user, theme], None)  # either layer may hold a logo
    missing = providers(**{"a.com": {"logo": "logos/missing.svg"}})
    with pytest.raises(ConfigError, match=r"^site\.yaml: providers\.a\.com\.logo: no such file under static/: logos/missing\.svg"):
        check_logos(missing.providers, [user, theme], Path("site.yaml"))
    (user / "logos" / "folder.svg").mkdir()
    with pytest.raises(ConfigError, match="no such file"):
        check_logos(providers(**{"a.com": {"logo": "logos/folder.svg"}}).providers, [user], None)


def test_a_logo_that_links_out_of_static_is_refused(tmp_path: Path):
    static = tmp_path / "static"
    (static / "logos").mkdir(parents=True)
    secret = tmp_path / "secret.svg"
    secret.write_text("<svg/>")
    os.symlink(secret, static / "logos" / "a.svg")
    os.symlink(tmp_path, static / "up")
    for logo in ("logos/a.svg", "up/secret.svg"):
        with pytest.raises(ConfigError, match="resolves to a file outside static/"):
            check_logos(providers(**{"a.com": {"logo": logo}}).providers, [static], None)


def test_the_generated_stylesheet_has_one_rule_per_hex_colour():
    assert stylesheet(providers(**{"a.com": {"color": 3}, "b.com": {"name": "B"}}).providers) is None
    css = stylesheet(providers(**{"a.com": {"color": "#F6D32D"}, "b.com": {"color": "#1a5fb4"},
                                  "c.com": {"color": "#f6d32d"}}).providers).decode()
    rules = [line for line in css.splitlines() if "{" in line]
    assert rules == [
        ".badge__mark--c1a5fb4, .placeholder--c1a5fb4 { --badge: #1a5fb4; --badge-text: #ffffff; }",
        ".badge__mark--cf6d32d, .placeholder--cf6d32d { --badge: #f6d32d; --badge-text: #000000; }",
    ]


def test_overrides_reach_every_badge_and_placeholder_of_the_provider():
    """The provider's own badge, the badge of a related story we do not have (even from an outlet
    without a page here), and the placeholder panel all carry site.yaml's name, colour and logo."""
    config = providers(**{"nypost.com": {"name": "The New York Post", "color": "#1a5fb4", "logo": "logos/nypost.svg"},
                          "wsj.com": {"name": "The Wall Street Journal", "color": 2}})
    same = Story("Same outlet", "https://nypost.com/other", provider=Provider("NY Post", "nypost.com"))
    pageless = Story("No page", "https://wsj.com/x", provider=Provider("WSJ", "wsj.com"))
    stranger = Story("Stranger", "https://other.org/x", provider=Provider("Other", "other.org"))
    ours = art(1, provider=Provider("NYP", "nypost.com"), related=(same, pageless, stranger))
    cityam = art(2, provider=Provider("City A.M.", "cityam.com"), related=(Story(ours.title, ours.web_url),))
    pictured = art(3, provider=Provider("NYP", "nypost.com"), images=(Image("https://nypost.com/a.jpg"),))
    site = build_site((ours, cityam, pictured), config)
    ref = next(p.ref for p in site.providers if p.ref.domain == "nypost.com")
    assert (ref.name, ref.palette, ref.logo, ref.monogram) == ("The New York Post", "c1a5fb4", "logos/nypost.svg", "T")
    same_badge, pageless_badge, other_badge = (link.provider for link in site.related[ours.web_url][:3])
    assert same_badge is ref
    assert (pageless_badge.name, pageless_badge.palette, pageless_badge.slug) == ("The Wall Street Journal", "2", "")
    assert (other_badge.name, other_badge.logo) == ("Other", None)
    assert site.related[cityam.web_url][0].provider is ref  # a related link to our own post: its badge
    pictures = Pictures("remote", {}, None, lambda url: url)
    panel, under_image = (pictures.picture(next(p for p in site.posts if p.article is a)) for a in (ours, pictured))
    assert (panel.src, panel.logo, panel.palette, panel.monogram) == (None, "logos/nypost.svg", "c1a5fb4", "T")
    assert (under_image.src, under_image.logo) == ("https://nypost.com/a.jpg", "logos/nypost.svg")
