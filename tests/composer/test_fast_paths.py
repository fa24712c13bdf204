"""Fast paths give exactly what the straightforward ways give.

Counting skips its Unicode-class searches for text that cannot need them, URLs are looked
for only in runs with a dot before a letter, and Markdown is converted from one pass over
markdown-it's tokens. Each is compared here with the straightforward computation on
generated release-like text: Indonesian words, emoji, URLs, bare domains, tags, mentions,
Markdown, and characters that join their neighbours (combining marks, ZWJ, CR).
"""

from __future__ import annotations

from pathlib import Path

import regex
from hypothesis import event, given, settings
from hypothesis import strategies as st

from scheduler.text import counting, links, markdown_tree, markup, twitter, urls
from tests.composer.strategies import EMOJI, MARKDOWN, TAGS, URLS, WORDS

ROOT = Path(__file__).resolve().parents[2]
# what may stand next to the text around it
_EDGES = [" ", "  ", "\n", "\n\n", "\t", "\r", "\r\n", "\u0301", "\u200d", "\ufe0f", "🏽",
          "\u0600", "🇮", "\u1100", "\u00a0", "\u3000", "\u2003", "(", ".", "“", "—", "…",
          "@mastodon.social", "@ditjenpas", ".go.id", "://", "/berita"]


_URL_TEXT_FOR_LINKS = st.lists(st.sampled_from(
    WORDS + URLS + _EDGES + ["Jl.Merdeka", "e.g.", "KEMENKUMHAM.GO.ID", "\u212a.id", "ſ.id", "(",
                             ")", "https://", "ftp://x", "Rp5.000", "a@b.id"]),
    max_size=25).map(" ".join)


# --- the shortcuts inside counting -------------------------------------------------------

def _characters(pattern) -> list[str]:
    """Every character of the ranges in ``pattern`` (a ``[...]*`` class)."""
    return [chr(c) for c in range(0x3000 + 1) if pattern.fullmatch(chr(c))]


def test_characters_counted_without_a_grapheme_search_never_join_a_neighbour() -> None:
    never_joining = _characters(counting._NEVER_JOINING)
    assert len(never_joining) > 700
    assert not [c for c in never_joining if counting._JOINING.match(c)]


def test_characters_counted_without_an_emoji_search_are_never_part_of_an_emoji() -> None:
    emoji_part = regex.compile(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3"
                               r"\u200d\ufe0f\p{Emoji_Modifier}\U000e0020-\U000e007f]")
    no_emoji = _characters(twitter.NO_EMOJI)
    assert len(no_emoji) > 700
    assert not [c for c in no_emoji if emoji_part.match(c)]


def test_every_top_level_domain_begins_with_a_letter_after_the_dot() -> None:
    generic, country = urls._tld_lists()
    assert len(generic) + len(country) > 1500
    assert all(urls._DOT_LETTER.match("." + tld) and urls._DOT_LETTER.match("." + tld.upper())
               for tld in generic + country)


_GRAPHEME_TEXT = st.lists(st.sampled_from(WORDS + EMOJI + _EDGES + ["각", "\u1161", "\u0e33"]),
                          max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(_GRAPHEME_TEXT)
def test_graphemes_are_counted_as_the_unicode_segmentation_counts_them(text) -> None:
    assert counting.graphemes(text) == len(regex.findall(r"\X", text))


_RELEASE_TEXT = st.lists(st.sampled_from(WORDS + EMOJI + URLS + TAGS + _EDGES + [
    "@ditjenpas@mastodon.social", "©", "‼", "1️⃣", "#️⃣"]), max_size=30).map(" ".join)


@settings(max_examples=400, deadline=None)
@given(_RELEASE_TEXT)
def test_threads_and_mastodon_lengths_are_those_of_their_rules_applied_in_full(text) -> None:
    emoji = twitter.EMOJI_SEQUENCE.findall(text)
    assert counting.rules_for("threads").measure(text) == len(text) + sum(
        len(e.encode()) - len(e) for e in emoji)
    countable, position = [], 0
    for start, end in urls.url_spans(text, without_protocol=False):
        countable += [text[position:start], "x" * 23]
        position = end
    countable.append(text[position:])
    assert counting.rules_for("mastodon").measure(text) == len(regex.findall(
        r"\X", counting._REMOTE_MENTION.sub(r"\1", "".join(countable))))


@settings(max_examples=400, deadline=None)
@given(_URL_TEXT_FOR_LINKS)
def test_text_that_find_links_does_not_search_has_no_link_for_the_full_pattern(text) -> None:
    if "://" not in text and not links._DOT_LABEL.search(text):
        assert links.find_links(text) == () and not list(links._LINK.finditer(text))


def _url_spans_with_every_run(text: str, without_protocol: bool) -> list[tuple[int, int]]:
    """The straightforward search: every whitespace-free run with a dot."""
    spans: list[tuple[int, int]] = []
    for run in urls._run_with_dot().finditer(text):
        spans.extend((run.start() + a, run.start() + b)
                     for a, b in urls._spans_in_run(run.group(), without_protocol))
    return spans


_URL_TEXT = st.lists(st.sampled_from(URLS + WORDS + _EDGES + [
    "www.", "t.co/", "Jl.Merdeka", "e.g.", "ditjenpas", ".", ".", "go", "id", "xn--p1ai",
    "日本.jp", "\u2028", "\x0b", "\x85", "\u180e"]), max_size=25).map("".join)


@settings(max_examples=500, deadline=None)
@given(_URL_TEXT, st.booleans())
def test_urls_found_from_dots_before_letters_are_the_urls_of_every_run(text, bare) -> None:
    assert urls.url_spans(text, without_protocol=bare) == _url_spans_with_every_run(text, bare)


# --- Markdown: one pass over markdown-it's tokens instead of its SyntaxTreeNode ------------

_MARKDOWN_LINE = st.lists(st.sampled_from(
    WORDS + EMOJI + URLS + TAGS + MARKDOWN + [
        "**", "*", "_", "~~", "`", "<b>", "</b>", "<div>", "&amp;", "&lt;", "\\*", "![foto](a.jpg)",
        "[tautan][1]", "<https://ditjenpas.go.id>", "|", "{", "@ditjenpas", "  ", "."]),
    max_size=10).map(" ".join)
_MARKDOWN_BLOCK = st.one_of(
    _MARKDOWN_LINE, _MARKDOWN_LINE.map(lambda line: f"## {line}"),
    _MARKDOWN_LINE.map(lambda line: f"> {line}"), _MARKDOWN_LINE.map(lambda line: f"- {line}"),
    _MARKDOWN_LINE.map(lambda line: f"3. {line}\n4. {line}"),
    _MARKDOWN_LINE.map(lambda line: f"- {line}\n  - {line}\n\n  lanjut"),
    _MARKDOWN_LINE.map(lambda line: f"```\n{line}\n```"), st.just("---"),
    _MARKDOWN_LINE.map(lambda line: f"    {line}"), st.just("[1]: https://ditjenpas.go.id"),
    _MARKDOWN_LINE.map(lambda line: f"{line}.\n{line}!"), st.just("<div>\nblok\n</div>"),
)
_MARKDOWN = st.lists(_MARKDOWN_BLOCK, min_size=1, max_size=8).map(
    lambda blocks: "\n\n".join(blocks))


@settings(max_examples=300, deadline=None)
@given(_MARKDOWN)
def test_markdown_converts_as_through_markdown_its_syntax_tree(text) -> None:
    from markdown_it import MarkdownIt
    from markdown_it.tree import SyntaxTreeNode

    full_parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        "strikethrough")  # every rule enabled, as before raw HTML's were left out
    tokens = full_parser.parse(text)
    for dialect, rules in markup._DIALECT.items():
        expected = "\n\n".join(markup._blocks(SyntaxTreeNode(tokens), rules))
        assert markup.convert(text, dialect) == expected
    assert markup.convert(text, "html") == full_parser.renderer.render(
        tokens, full_parser.options, {}).strip()


# --- Markdown: plain paragraphs are converted without markdown-it ------------------------

_NEAR_PLAIN = st.lists(st.sampled_from(
    WORDS + EMOJI + URLS + TAGS + [
        "Kegiatan", "berjalan", "lancar.", "A.", "b)", "1.", "2)", "-", "+", "#", ">", "=",
        "---", "===", "|", "!", "?", ":", ";", ",", "(", ")", "%", "$", "^", "{", "}", "'",
        '"', "“", "”", "—", "@ditjenpas", "&", "<", "*", "_", "`", "~", "[", "]", "\\",
        " ", "  ", "\u00a0", "\u2003", "\t", "\n", "\n", "\n", "\n\n", "\n\n\n", "\n \n",
        "\n    ", "\n- ", "\n1. ", "\n# ", "\n> ", "\n=", "\n---", "\u2028", "\x00", "\r"]),
    max_size=40).map(" ".join)
_PLAIN_WORDS = st.lists(st.sampled_from(WORDS + EMOJI + URLS + TAGS + [
    "Kegiatan", "lancar.", "(24/9)", "“kami”", "—", "!", "?", "%", "@ditjenpas", ">", "|",
    "#", '"']), min_size=1, max_size=12).map(" ".join)
_PLAIN_PARAGRAPHS = st.lists(
    st.lists(st.builds(lambda first, rest: f"{first} {rest}",
                       # a line starting otherwise than with a letter now and then
                       st.sampled_from(["Kegiatan", "Lapas", "Warga", "ꦲꦏ", "É"] * 8 + [
                           "1.", "2)", "2026", "-", "+", "#", ">", "=", "---", "—"]),
                       _PLAIN_WORDS),
             min_size=1, max_size=4).map("\n".join),
    min_size=1, max_size=5).map("\n\n".join)


@settings(max_examples=500, deadline=None)
@given(st.one_of(_NEAR_PLAIN, _PLAIN_PARAGRAPHS))
def test_text_converted_without_markdown_it_converts_as_through_it(text) -> None:
    paragraphs = markup._plain_paragraphs(text)
    event("plain paragraphs" if paragraphs is not None else "parsed")
    if paragraphs is None:
        return
    for dialect in markup._DIALECT:
        assert markup._from_plain(paragraphs, dialect) == markup._from_tokens(text, dialect)
    assert markup._from_plain(paragraphs, "html") == markup._from_tokens(text, "html")


def test_a_release_of_plain_paragraphs_is_converted_without_markdown_it() -> None:
    body = ("Kegiatan bench-000001 di Lapas berjalan lancar.\n"
            "Kepala Lapas, Hidayat (24/9), menegaskan: “kami siap!” — 100% hadir.\n\n"
            "Informasi lebih lanjut: https://lapas.example.go.id/berita?id=17 #Humas")
    assert markup._plain_paragraphs(body) is not None
    assert markup.convert(body, "telegram") == markup._from_tokens(body, "telegram")


# --- Markdown: paragraphs, quotes, lists and bold read without markdown-it --------------

_WORDISH = st.sampled_from(
    WORDS + EMOJI + URLS + TAGS + [
        "Kalapas", "berhak", "tahu.", "faktual;", "(24/9)", "“kami”", '"Publik', 'kata,"', "—",
        "**penting**", "**Agen Informasi**", "**dua kata**.", "**x**,", "**1**", "**",
        "**a", "b**", "** a**", "**a **", "**a**b", "a**b**", "**a**!", "**a**)", "***a***",
        "*a*", "_a_", "__a__", "~~a~~", "`a`", "[a](b)", "\\*", "&amp;", "<b>", "!", "?",
        "%", ">", "|", "#", "'", ":", "-", "1.", "2)", "+", "=", "  ", "\u00a0", "\t", "\r"])
_PLAINISH = st.sampled_from(["Kalapas", "berhak", "tahu.", "faktual;", "(24/9)", "“kami”",
                            '"Publik', 'kata,"', "—", "**penting**", "**Agen Informasi**",
                            "**dua kata**.", "**x**,", "**1**", "100%", "Rp5.000", "é", "ꦲꦏ"])
# mostly what releases hold, something doubtful now and then
_MOSTLY_PLAIN = st.builds(lambda first, words, odd: [first, *words, *odd],
                          st.sampled_from(["Kalapas", '"Publik', "**penting**", "“kami”", "é"]),
                          st.lists(_PLAINISH, max_size=8),
                          st.one_of(*[st.just([])] * 8, st.lists(_WORDISH, max_size=1)))
_LITE_LINE = st.one_of(st.lists(_WORDISH, min_size=1, max_size=8), _MOSTLY_PLAIN,
                       _MOSTLY_PLAIN, _MOSTLY_PLAIN).map(" ".join)
_LITE_BLOCK = st.one_of(
    st.lists(_LITE_LINE, min_size=1, max_size=3).map("\n".join),
    st.lists(_LITE_LINE.map(lambda line: f"> {line}"), min_size=1, max_size=3).map("\n".join),
    st.lists(_LITE_LINE.map(lambda line: f"- {line}"), min_size=1, max_size=4).map("\n".join),
    st.builds(lambda a, b: f"{a}\n{b}", _LITE_LINE, st.sampled_from(
        ["- a", "> a", "===", "---", "  a", "1. a", "# a", ">a", "-a", ""])),
)
_LITE = st.lists(_LITE_BLOCK, min_size=1, max_size=6).flatmap(
    lambda blocks: st.lists(st.sampled_from(["\n\n"] * 6 + ["\n\n\n", "\n"]),
                            min_size=len(blocks), max_size=len(blocks)).map(
        lambda breaks: "".join(b + s for b, s in zip(blocks, breaks, strict=True))))


@settings(max_examples=1000, deadline=None)
@given(_LITE)
def test_markdown_read_without_markdown_it_converts_as_through_it(text) -> None:
    tree = markdown_tree.simple(text)
    event("read without markdown-it" if tree is not None else "markdown-it")
    if tree is None:
        return
    for dialect in [*markup._DIALECT, "html"]:
        assert markup._from_tree(tree, dialect) == markup._from_tokens(text, dialect)


def test_the_benchmarks_release_is_converted_without_markdown_it() -> None:
    body = (ROOT / "bench" / "text-release.md").read_text(encoding="utf-8").split("---\n")[2]
    tree = markdown_tree.simple(body)
    assert tree is not None
    assert [block.type for block in tree.children] == [
        "paragraph", "paragraph", "blockquote", "paragraph", "bullet_list", "paragraph"]
    for dialect in [*markup._DIALECT, "html"]:
        assert markup.convert(body, dialect) == markup._from_tokens(body, dialect)


@settings(max_examples=300, deadline=None)
@given(_MARKDOWN_LINE)
def test_reserved_characters_are_escaped_as_one_by_one(text) -> None:
    linkedin = str.maketrans({c: "\\" + c for c in "\\|{}@[]()<>#*_~"})
    discord = str.maketrans({c: "\\" + c for c in "*_~`|"})
    assert markup.linkedin_escape(text) == text.translate(linkedin)
    assert markup.escape_for("discord", text) == "".join(
        part if part.startswith("http") else part.translate(discord)
        for part in regex.split(r"(https?://\S+)", text))


def test_a_mentions_table_changed_in_place_is_seen_by_the_next_composition() -> None:
    from scheduler.text.mentions import MentionFunction

    table = {"ditjenpas": {"x": "@ditjenpas"}}
    assert MentionFunction.of("x", "plain", table)("ditjenpas") == "@ditjenpas"
    assert MentionFunction.of("x", "plain", table) is MentionFunction.of("x", "plain", table)
    table["ditjenpas"]["x"] = "@ditjenpas_ri"
    assert MentionFunction.of("x", "plain", table)("ditjenpas") == "@ditjenpas_ri"
