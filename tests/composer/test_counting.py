"""Each network counts length its own way."""

from __future__ import annotations

from channels import registry
from scheduler.preview import count_text
from scheduler.text.counting import measure, rules_for


def test_x_counts_urls_as_23_and_emoji_as_2() -> None:
    assert measure("Lihat https://ditjenpas.go.id/berita/panjang-sekali 🇮🇩", "x") == 6 + 23 + 1 + 2


def test_x_counts_bare_domains_as_urls() -> None:
    assert measure("kemenkumham.go.id", "x") == 23


def test_mastodon_counts_graphemes_urls_as_23_and_remote_mentions_as_local() -> None:
    text = "Halo @ditjenpas@mastodon.social https://example.go.id/" + "a" * 50 + " 👨‍👩‍👧‍👦"
    assert measure(text, "mastodon") == len("Halo @ditjenpas ") + 23 + 1 + 1


def test_mastodon_does_not_shorten_bare_domains() -> None:
    assert measure("kemenkumham.go.id", "mastodon") == len("kemenkumham.go.id")


def test_bluesky_counts_graphemes_and_urls_in_full() -> None:
    assert measure("🇮🇩 https://example.go.id/x", "bluesky") == 2 + len("https://example.go.id/x")


def test_bluesky_also_has_a_3000_byte_limit() -> None:
    rules = rules_for("bluesky")
    flags = "🏴\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f" * 120
    assert rules.measure(flags) == 120  # few graphemes …
    assert len(flags.encode()) > 3000  # … but too many bytes
    assert not rules.fits(flags)
    assert rules.fits("😀" * 300)


def test_threads_counts_emoji_by_their_utf8_bytes() -> None:
    assert measure("Halo 👍", "threads") == 5 + 4
    assert measure("Halo 👨‍👩‍👧‍👦", "threads") == 5 + len("👨‍👩‍👧‍👦".encode())


def test_telegram_counts_utf16_units_after_entity_parsing() -> None:
    assert measure("<b>Judul</b> &amp; 😀", "telegram") == len("Judul & ") + 2


def test_limits_follow_the_networks_documentation() -> None:
    rules = {name: registry.load(name).post_rules for name in registry.networks()}
    limits = {name: post.limit for name, post in rules.items()}
    assert limits["x"] == 280 and limits["mastodon"] == 500 and limits["bluesky"] == 300
    assert limits["threads"] == 500 and limits["telegram"] == 4096
    assert limits["instagram"] == 2200 and limits["linkedin"] == 3000
    assert limits["discord"] == 2000 and limits["facebook"] == 63206
    assert rules["telegram"].caption_limit == 1024 and rules["bluesky"].byte_limit == 3000


def test_count_text_reports_every_network_with_fits() -> None:
    rows = count_text("😀" * 150)
    by_network = {row["channel"]: row for row in rows}
    assert by_network["x"] == {"channel": "x", "length": 300, "limit": 280, "fits": False}
    assert by_network["mastodon"]["fits"] and by_network["mastodon"]["length"] == 150


def test_count_text_can_be_limited_to_named_networks() -> None:
    assert [row["channel"] for row in count_text("halo", ["bluesky", "x"])] == ["bluesky", "x"]
