"""Front matter read without the YAML parser reads exactly as the parser reads it.

Plain ``key: value`` lines and one-line ``[a, b]`` lists are taken without the parser; for
anything else the parser decides. Whatever the front matter, the keys and values (or the
error) are those of the release's YAML loader.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from scheduler import front_matter
from scheduler.errors import ReleaseError

_TOKENS = [
    "Rilis", "bench-000001", "Lapas", "Pangkalpinang", "Kalapas:", "Kalapas: Kami", "10:00",
    "10.00", "2026-12-10", "2026-12-14T02:47:57.430386+00:00", "besok", "WIB", "+30 menit",
    "yes", "No", "on", "OFF", "true", "~", "null", "Null", "1_000", "0x1F", "017", ".5",
    "1e3", "1.5e+3", ".inf", "+1", "-1", "-", "- a", "?", ":", "a:", "#tag", "C#", "a #b",
    "'q'", "'", '"q"', '"', "it's", "[a]", "[a, b]", "[]", "[ ]", "[a,]", "[a, [b]]",
    "{a: b}", "]", "}", ",", "&x", "*x", "!x", "|", ">", "%", "@ditjenpas", "`", "<<", "=",
    "\u00a0", "\t", "“kami”", "Rp5.000", "https://lapas.example.go.id/berita?id=17&x=1",
    "ꦲꦏ", "🇮🇩", "\u2028", "\x85", "\ufeff", "é", "e\u0301", "  ",
]
_VALUE = st.lists(st.sampled_from(_TOKENS), min_size=0, max_size=4).map(" ".join)
_ITEMS = st.lists(st.lists(st.sampled_from([*_TOKENS, "akun-001", "x", "mastodon"]),
                           min_size=0, max_size=2).map(" ".join),
                  max_size=4).map(lambda items: "[" + ", ".join(items) + "]")
_KEYS = ["title", "at", "channels", "summary", "link", "hashtags", "language", "yes", "on",
         "null", "x1", "_k", "2a", "<<", "key with space", "Title", " title", "-a"]
_LINE = st.one_of(
    st.builds(lambda key, gap, value: f"{key}:{gap}{value}", st.sampled_from(_KEYS),
              st.sampled_from([" ", "  ", "", "\t"]), st.one_of(_VALUE, _ITEMS)),
    st.sampled_from(["", "# komentar", "  lanjutan", "- a", "---", "..."]),
)
_PLAIN = ["Rilis", "bench-000001", "Lapas", "10:00", "2026-12-14T02:47:57.430386+00:00",
          "https://lapas.example.go.id/berita?id=17&x=1", "“kami”", "ꦲꦏ", "it's", "Rp5.000",
          "é", "Tim", "Nusa", "Yogyakarta", "on-line", "a]", "x,y"]
# mostly what releases hold, a doubtful token now and then
_MOSTLY_PLAIN_VALUE = st.lists(st.sampled_from(_PLAIN * 12 + _TOKENS), min_size=1,
                               max_size=4).map(" ".join)
_MOSTLY_PLAIN_LINE = st.builds(
    lambda key, value: f"{key}: {value}",
    st.sampled_from(["title", "at", "summary", "link", "language"] * 6 + _KEYS),
    st.one_of(_MOSTLY_PLAIN_VALUE, _MOSTLY_PLAIN_VALUE, st.sampled_from(_TOKENS), st.lists(
        st.sampled_from(_PLAIN * 6 + _TOKENS), max_size=3).map(
            lambda items: "[" + ", ".join(items) + "]")))
_PAIR = st.builds(lambda key, value: f"{key}: {value}",
                  st.sampled_from(["path", "alt", "focus", "yes", "2a", "Alt"] * 3 + _KEYS),
                  st.one_of(_MOSTLY_PLAIN_VALUE, _VALUE, _ITEMS))
#: one entry of a block list: the text after its dash, then lines of more keys, each with
#: how far in it is written relative to the dash (2 is a mapping's next key)
_ENTRY = st.tuples(st.one_of(_PAIR, _MOSTLY_PLAIN_VALUE, _VALUE),
                   st.lists(st.tuples(st.sampled_from([2, 2, 2, 2, 1, 3, 4, 0]),
                                      st.one_of(_PAIR, _VALUE)), max_size=2))


def _block_list(key: str, indent: int, dash: str, entries: list[Any]) -> str:
    lines = [f"{key}:"]
    for head, more in entries:
        lines.append(" " * indent + dash + head)
        lines += [" " * (indent + shift) + text for shift, text in more]
    return "\n".join(lines)


_BLOCK_LIST = st.builds(_block_list, st.sampled_from(["images", "channels", "yes", "videos"]),
                        st.sampled_from([2, 2, 0, 1, 4]),
                        st.sampled_from(["- "] * 6 + ["-  ", "-"]), st.lists(_ENTRY, max_size=3))
_FRONT = st.one_of(st.lists(_LINE, min_size=1, max_size=6),
                   st.lists(_MOSTLY_PLAIN_LINE, min_size=1, max_size=6),
                   st.lists(st.one_of(_MOSTLY_PLAIN_LINE, _BLOCK_LIST, _LINE), min_size=1,
                            max_size=4)).map("\n".join)


_PLAIN_PAIR = st.builds(lambda key, value: f"{key}: {value}",
                        st.sampled_from(["path", "alt", "focus", "title"]),
                        st.one_of(*[st.lists(st.sampled_from(_PLAIN), min_size=1, max_size=3)
                                    .map(" ".join)] * 3, _MOSTLY_PLAIN_VALUE))
_PLAIN_ENTRY = st.tuples(st.one_of(_PLAIN_PAIR, _PLAIN_PAIR, _MOSTLY_PLAIN_VALUE),
                         st.lists(st.tuples(st.sampled_from([2] * 8 + [0, 1, 3, 4]),
                                            _PLAIN_PAIR), max_size=2))
# mostly what a release's photos look like, a doubtful indent or value now and then
_MOSTLY_PLAIN_LIST = st.builds(_block_list, st.sampled_from(["images", "videos", "channels"]),
                               st.sampled_from([2] * 6 + [0, 4, 1]),
                               st.sampled_from(["- "] * 10 + ["-  "]),
                               st.lists(_PLAIN_ENTRY, min_size=1, max_size=3))
_FRONT_WITH_LISTS = st.lists(st.one_of(_MOSTLY_PLAIN_LINE, _MOSTLY_PLAIN_LIST), min_size=1,
                             max_size=4).map("\n".join)


def _by_the_parser(raw: str) -> Any:
    try:
        return yaml.load(raw, Loader=front_matter._loader())
    except yaml.YAMLError:
        return "error"


@settings(max_examples=2000, deadline=None)
@given(_FRONT)
def test_front_matter_read_without_the_parser_is_what_the_parser_reads(raw: str) -> None:
    simple = front_matter._simple(raw)
    event(("without the parser" if simple is not None else "parser")
          + (", a block list" if any(isinstance(value, list) and value and isinstance(
              value[0], dict) for value in (simple or {}).values()) else ""))
    if simple is not None:
        parsed = _by_the_parser(raw)
        assert simple == parsed
        assert [type(v) for v in simple.values()] == [type(v) for v in parsed.values()]


@settings(max_examples=1000, deadline=None)
@given(_FRONT_WITH_LISTS)
def test_block_lists_read_without_the_parser_are_what_the_parser_reads(raw: str) -> None:
    test_front_matter_read_without_the_parser_is_what_the_parser_reads.hypothesis.inner_test(
        raw)


def _table(resolvers: Mapping[str, Any]) -> dict[str, set[tuple[str, int]]]:
    """first character → (pattern, flags) of each resolver; white space is no part of a
    verbose pattern"""
    return {first: {(re.sub(r"\s+", "", rx.pattern) if rx.flags & re.X else rx.pattern,
                     rx.flags) for rx in (r[1] if isinstance(r, tuple) else r for r in rules)}
            for first, rules in resolvers.items()}


def test_the_plain_lines_path_asks_the_same_resolvers_as_the_loader() -> None:
    """Its copy of the loader's implicit resolvers (so that plain lines need no PyYAML)."""
    assert _table(front_matter._TYPED) == _table(front_matter._loader().yaml_implicit_resolvers)


def test_a_content_calendars_front_matter_is_read_without_the_parser() -> None:
    raw = ("title: Rilis bench-000001 di Lapas “Pangkalpinang”\n"
           "at: 2026-12-14T02:47:57.430386+00:00\nchannels: [akun-001, mastodon]\n"
           "hashtags: [HumasBergerakBersama, Pemasyarakatan]\n"
           "link: https://lapas.example.go.id/berita/rakor?id=17")
    assert front_matter._simple(raw) == _by_the_parser(raw)
    assert front_matter.read_front_matter(raw, "rilis.md")["channels"] == ["akun-001", "mastodon"]


def test_a_releases_photos_are_read_without_the_parser() -> None:
    raw = ("title: Rakor Humas\nimages:\n  - path: foto-rakor.jpg\n    alt: Peserta rapat di "
           "depan spanduk\n  - path: kedua.jpg\n    focus: center\nhashtags: [Lapas]")
    assert front_matter._simple(raw) == _by_the_parser(raw) == {
        "title": "Rakor Humas", "hashtags": ["Lapas"], "images": [
            {"path": "foto-rakor.jpg", "alt": "Peserta rapat di depan spanduk"},
            {"path": "kedua.jpg", "focus": "center"}]}


def test_what_it_does_not_take_the_parser_still_reads_or_refuses() -> None:
    assert front_matter._simple("at: 10:00\ntitle: yes") is None
    assert front_matter.read_front_matter("at: 10:00\ntitle: yes", "r.md") == {
        "at": "10:00", "title": True}
    try:
        front_matter.read_front_matter("title: Kalapas: Kami Siap", "r.md")
    except ReleaseError as exc:
        assert 'title: "Kalapas: Kami Siap"' in str(exc)
    else:
        raise AssertionError("a colon inside an unquoted value is refused")
