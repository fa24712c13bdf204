"""Fitting: threads and truncation cut only between tokens and always fit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.text import fitting
from scheduler.text.counting import rules_for
from tests.composer.strategies import body

_THREAD_NETWORKS = ["x", "mastodon", "bluesky", "threads"]


def _marker_free(part: str) -> str:
    return part.rsplit("\n\n(", 1)[0] if part.endswith(")") else part


def test_sentences_keep_abbreviations_and_lowercase_continuations_together() -> None:
    text = "Plt. Direktur Jenderal hadir. Kalapas Dr. Hidayat berkata: ini penting. lalu pulang."
    assert fitting.sentences(text) == [
        "Plt. Direktur Jenderal hadir. ", "Kalapas Dr. Hidayat berkata: ini penting. lalu pulang."]


def test_a_short_text_is_one_post_without_numbering() -> None:
    assert fitting.thread("Halo.", lambda b: b, lambda s: len(s) <= 10) == ["Halo."]


def test_a_thread_is_numbered_and_the_first_post_is_wrapped() -> None:
    parts = fitting.thread("Satu dua. Tiga empat. Lima enam.", lambda b: f"T\n{b}",
                           lambda s: len(s) <= 22)
    assert parts[0].startswith("T\n") and parts[-1].endswith(f"({len(parts)}/{len(parts)})")


def test_a_sentence_cut_inside_a_thread_is_marked_with_an_ellipsis() -> None:
    parts = fitting.thread("Satu dua tiga empat lima enam tujuh delapan.", lambda b: b,
                           lambda s: len(s) <= 30)
    assert parts[0].startswith("Satu dua") and "…\n\n(1/" in parts[0]


_TITLE = "Judul rilis yang cukup panjang"


def _titled(body: str) -> str:
    return f"{_TITLE}\n{body}".rstrip()


def test_a_first_sentence_with_no_room_beside_the_title_starts_the_second_post_whole() -> None:
    first = "Kepala Lapas hadir dalam rapat koordinasi nasional."  # 51, fits a post alone
    parts = fitting.thread(f"{first} Rapat berlangsung tiga hari.", _titled,
                           lambda s: len(s) <= 70)
    assert parts[0] == f"{_TITLE}\n\n(1/3)"
    assert parts[1] == f"{first}\n\n(2/3)"
    assert not any("…" in part for part in parts)


def test_the_summary_opens_the_thread_when_the_first_sentence_has_no_room_there() -> None:
    first = "Kepala Lapas hadir dalam rapat koordinasi nasional."
    parts = fitting.thread(f"{first} Rapat berlangsung tiga hari.", _titled,
                           lambda s: len(s) <= 70, lead="Humas ikut rakor.")
    assert parts[0] == f"{_TITLE}\nHumas ikut rakor.\n\n(1/3)"
    assert parts[1].startswith(first)


def test_a_summary_too_long_for_the_first_post_is_left_out_not_cut() -> None:
    first = "Kepala Lapas hadir dalam rapat koordinasi nasional."
    parts = fitting.thread(f"{first} Rapat berlangsung tiga hari.", _titled,
                           lambda s: len(s) <= 70, lead="Ringkasan " * 5)
    assert parts[0] == f"{_TITLE}\n\n(1/3)"


def test_only_a_sentence_longer_than_a_whole_post_is_cut() -> None:
    words = " ".join(["kata"] * 30) + "."  # 150 characters: no post holds it
    parts = fitting.thread(words, _titled, lambda s: len(s) <= 70, lead="Ringkas.")
    assert parts[0].startswith(f"{_TITLE}\nkata") and "…\n\n(1/" in parts[0]


def test_truncation_uses_the_summary_rather_than_cut_the_first_sentence() -> None:
    text, cut = fitting.truncate("Satu dua tiga empat lima enam.", _titled,
                                 lambda s: len(s) <= 45, lead="Ringkas saja.")
    assert cut and text == f"{_TITLE}\nRingkas saja."


def test_truncation_ends_with_an_ellipsis_at_a_word_boundary() -> None:
    text, cut = fitting.truncate("Satu dua tiga empat lima.", lambda b: b, lambda s: len(s) <= 12)
    assert cut and text == "Satu dua…"


def test_nothing_fits_raises_does_not_fit() -> None:
    with pytest.raises(fitting.DoesNotFit):
        fitting.truncate("Satu dua.", lambda b: "X" * 20 + b, lambda s: len(s) <= 10)


@settings(max_examples=150, deadline=None)
@given(body, st.sampled_from(_THREAD_NETWORKS), st.integers(60, 500))
def test_every_thread_part_fits_and_no_token_is_lost_or_cut(text, network, limit) -> None:
    rules = rules_for(network)
    head = "JUDUL\n\n"
    try:
        parts = fitting.thread(text, lambda b: head + b, lambda s: rules.fits(s, limit),
                               limit=limit)
    except fitting.DoesNotFit:
        return  # one token (e.g. a long URL on Bluesky) longer than the whole limit
    assert all(rules.fits(part, limit) for part in parts)
    rebuilt = " ".join(_marker_free(p).removeprefix(head).removesuffix(fitting.ELLIPSIS)
                       for p in parts)
    assert rebuilt.split() == text.split()


@settings(max_examples=150, deadline=None)
@given(body, st.sampled_from(["x", "bluesky", "instagram", "discord"]), st.integers(40, 400))
def test_truncated_text_fits_and_is_a_prefix_of_whole_tokens(text, network, limit) -> None:
    rules = rules_for(network)
    try:
        result, cut = fitting.truncate(text, lambda b: b + " LINK",
                                       lambda s: rules.fits(s, limit), limit=limit)
    except fitting.DoesNotFit:
        return
    assert rules.fits(result, limit)
    kept = result.removesuffix(" LINK").removesuffix(fitting.ELLIPSIS).split()
    assert kept == text.split()[:len(kept)]
    assert cut == (kept != text.split())
