"""A long headline never blocks a release: the title gives way, never the link or the
campaign hashtag; and when truly nothing fits, only that account is refused, by name."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.compose import compose, compose_each
from scheduler.errors import ComposeError
from scheduler.settings import AccountSettings
from scheduler.text.counting import rules_for
from scheduler.text.fitting import ELLIPSIS
from tests.composer.conftest import CAMPAIGN, NETWORKS, make_release, make_settings

# 233 characters: a real Humas headline, longer than X's whole post with a link and a tag
HEADLINE = ("Lapas Kelas IIA Yogyakarta Gelar Kegiatan Pembinaan Kemandirian Bagi Warga Binaan "
            "Pemasyarakatan Dalam Rangka Memperingati Hari Bakti Pemasyarakatan Ke-62 Tahun "
            "2026 Dengan Tema Pemasyarakatan Pasti Bermanfaat Untuk Masyarakat")
LINK = ("https://lapasjogja.kemenkumham.go.id/berita/2026/12/"
        "pembinaan-kemandirian-warga-binaan-hari-bakti-pemasyarakatan")


def _account(network: str, **options) -> AccountSettings:
    return AccountSettings(name=f"{network}-lapas", network=network, **options)


@pytest.mark.parametrize("long_text", ["thread", "truncate"])
@pytest.mark.parametrize("network", ["x", "bluesky"])
def test_a_headline_too_long_for_the_post_is_shortened_at_a_word_with_a_warning(
        network: str, long_text: str) -> None:
    # a single post (truncate) has room for a title that a thread's marker leaves no room for
    headline = HEADLINE if long_text == "thread" else f"{HEADLINE} Indonesia di Yogyakarta"
    release = make_release("Kegiatan berlangsung di aula.", title=headline, link=LINK)
    variant = compose(release, _account(network, long_text=long_text), make_settings())
    first = variant.parts[0]
    shown = first.split("\n", 1)[0]
    assert shown.endswith(ELLIPSIS) and headline.startswith(shown[:-1])
    assert headline[len(shown) - 1] == " "  # cut between words, not inside one
    assert LINK in first and f"#{CAMPAIGN}" in first
    assert any("title shortened" in warning for warning in variant.warnings)
    assert all(rules_for(network).fits(part, variant.limit) for part in variant.parts)
    assert variant.title == headline  # where a network has a title field, it is whole


def test_a_headline_that_fits_is_never_shortened() -> None:
    release = make_release("Kegiatan berlangsung di aula.", title="Rakor Humas", link=LINK)
    variant = compose(release, _account("x"), make_settings())
    assert variant.parts[0].startswith("Rakor Humas\n")
    assert not any("title" in warning for warning in variant.warnings)


def test_when_nothing_fits_the_error_names_the_file_and_measures_what_it_refuses() -> None:
    settings = make_settings(campaign_hashtags=[f"{CAMPAIGN}{n}" for n in range(14)])
    release = make_release("Isi.", title=HEADLINE, link=LINK)
    with pytest.raises(ComposeError) as error:
        compose(release, _account("x"), settings)
    message = str(error.value)
    assert message.startswith("test.md: account 'x-lapas' (x)")
    measured = int(re.search(r"measure (\d+)", message).group(1))
    assert measured > 280  # the number shown is the one refused, markers included
    assert "fix:" in message


def test_an_account_that_cannot_be_composed_does_not_hide_the_others() -> None:
    settings = make_settings()
    accounts = [_account("mastodon"), _account("x", limit=40), _account("telegram")]
    release = make_release("Isi.", title="Rakor", link=LINK)
    mastodon, x, telegram = compose_each(release, accounts, settings)
    assert isinstance(x, ComposeError) and "'x-lapas'" in str(x)
    assert mastodon.account == "mastodon-lapas" and telegram.account == "telegram-lapas"


_words = st.text(alphabet=st.characters(categories=("Lu", "Ll", "Nd")), min_size=1,
                 max_size=14)


@given(network=st.sampled_from([n for n in NETWORKS if rules_for(n).limit]),
       words=st.lists(_words, min_size=1, max_size=70))
def test_the_title_shown_is_the_whole_title_or_a_head_of_whole_words(network, words) -> None:
    release = make_release("Kegiatan berlangsung di aula.", title=" ".join(words), link=LINK)
    words = release.title.split()  # as the release file was read (Unicode NFC)
    try:
        variant = compose(release, _account(network), make_settings())
    except ComposeError as error:
        assert "test.md" in str(error)
        return
    shortened = [w for w in variant.warnings if "title shortened" in w]
    kept = int(re.search(r"\((\d+) of", shortened[0]).group(1)) if shortened else len(words)
    head = " ".join(words[:kept])
    first = variant.parts[0]
    assert (head in first) if not shortened else (head.rstrip(" ,.;:-–—") + ELLIPSIS) in first
