"""Hypothesis strategies for release-like text: Indonesian words, emoji, URLs, tags, Markdown."""

from __future__ import annotations

from hypothesis import strategies as st

WORDS = ["Lapas", "Pemasyarakatan", "humas", "rakor", "informasi", "publikasi", "sinergi",
         "warga", "binaan", "Kalapas", "Hidayat", "menegaskan", "bahwa", "dan", "yang", "di",
         "Plt.", "(24/9)", "“kami", "berharap”", "2024", "Rp5.000", "e\u0301", "ꦲꦏ"]
EMOJI = ["🇮🇩", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🎉", "❤️", "🏳️\u200d🌈", "🙏🏾", "1️⃣"]
URLS = ["https://lapas.kemenkumham.go.id/berita/rakor-humas-2024?id=17",
        "https://ditjenpas.go.id", "example.go.id", "kemenkumham.go.id/profil",
        "https://bit.ly/3xYz"]
TAGS = ["#HumasBergerakBersama", "#Pemasyarakatan", "#LapasPangkalpinang"]
MARKDOWN = ["**penting**", "_catatan_", "[situs](https://ditjenpas.go.id)", "`kode`"]

_TOKEN = st.one_of(
    st.sampled_from(WORDS).filter(bool), st.sampled_from(EMOJI), st.sampled_from(URLS),
    st.sampled_from(TAGS), st.sampled_from(MARKDOWN),
)
_ENDING = st.sampled_from([". ", "! ", "? ", ".\n", ".\n\n", ", ", " "])

sentence = st.builds(lambda words, end: " ".join(words) + end,
                     st.lists(_TOKEN, min_size=1, max_size=25), _ENDING)
body = st.lists(sentence, min_size=1, max_size=40).map(lambda s: "".join(s).strip() or "Halo.")
title = st.lists(st.sampled_from(WORDS[:12] + EMOJI[:2]), min_size=1, max_size=10).map(" ".join)


def release_extras(links: list[str]) -> dict[str, st.SearchStrategy]:
    """A release's optional front matter, for ``st.fixed_dictionaries(optional=…)``."""
    return {"hashtags": st.lists(st.sampled_from(["Lapas", "Humas", "Rakor", "Agen"]),
                                 unique=True, max_size=4),
            "link": st.sampled_from(links[:2]),
            "summary": st.sampled_from(["Ringkasan singkat.", "Lapas ikut rakor."]),
            "mentions": st.just(["ditjenpas"])}
