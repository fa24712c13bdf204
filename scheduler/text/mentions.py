"""Mentions: a release names an organisation once; each network gets its own handle.

The table is ``Settings.mentions``: organisation key → network → handle, e.g.
``{"ditjenpas": {"name": "Ditjen Pemasyarakatan", "x": "@ditjenpas",
"bluesky": "@ditjenpas.bsky.social", "bluesky_did": "did:plc:…",
"linkedin": "urn:li:organization:123"}}``. A network without a handle gets the plain name
(``name``, else the key), never a guessed handle.

A release names organisations in its front matter (``mentions: [ditjenpas]``, written where
the template puts ``mentions``) or in a template with ``{{ mention("ditjenpas") }}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from channels.rules import MentionRules
from scheduler.text.markup import escape_for

_HANDLE = MentionRules()


@dataclass(frozen=True)
class Mention:
    key: str
    #: what is written in the post
    text: str
    #: the handle when the network has one for this organisation
    handle: str | None = None
    #: Bluesky: the DID the mention facet points at
    did: str | None = None


def display_name(key: str, table: dict[str, dict[str, str]]) -> str:
    return table.get(key, {}).get("name") or key


def resolve(key: str, network: str, table: dict[str, dict[str, str]],
            dialect: str = "plain", rules: MentionRules = _HANDLE) -> Mention:
    """How ``network`` writes organisation ``key`` by its channel's ``rules``, escaped for
    ``dialect``."""
    entry = table.get(key, {})
    name = display_name(key, table)
    handle = entry.get(network)
    if not handle or not handle.startswith(rules.handle_prefix):
        return Mention(key, escape_for(dialect, name))
    text = rules.form.format(handle=escape_for(dialect, handle.removeprefix("@")),
                             name=escape_for(dialect, name))
    return Mention(key, text, handle, entry.get(f"{network}_did"))


@dataclass(frozen=True)
class MentionFunction:
    """``mention(key)`` for templates. Hashable, so rendered templates can be remembered."""

    network: str
    dialect: str
    table: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]
    rules: MentionRules = _HANDLE

    @classmethod
    def of(cls, network: str, dialect: str, table: dict[str, dict[str, str]],
           rules: MentionRules = _HANDLE) -> MentionFunction:
        # the same settings' table comes every time: known by identity, trusted only while
        # its content still equals a copy taken then (a table may be changed in place)
        known = _BY_TABLE.get((network, dialect, id(table)))
        if known is not None and known[1].rules is rules and known[0] == table:
            return known[1]
        function = _mention_function(
            network, dialect, tuple((key, tuple(entry.items())) for key, entry in table.items()),
            rules)
        if len(_BY_TABLE) >= 256:
            _BY_TABLE.clear()
        _BY_TABLE[(network, dialect, id(table))] = (
            {key: dict(entry) for key, entry in table.items()}, function)
        return function

    def __hash__(self) -> int:  # used as a cache key on every composition: hash once
        if (cached := self.__dict__.get("_hash")) is None:
            cached = hash((self.network, self.dialect, self.table, self.rules))
            object.__setattr__(self, "_hash", cached)
        return cached

    def __call__(self, key: str) -> str:
        return self.resolve(key).text

    def resolve(self, key: str) -> Mention:
        """How this network writes organisation ``key`` (:func:`resolve`), remembered."""
        return _resolved(self, key)


_BY_TABLE: dict[tuple[str, str, int], tuple[dict[str, dict[str, str]], MentionFunction]] = {}


@lru_cache(maxsize=256)
def _mention_function(network: str, dialect: str,
                      table: tuple[tuple[str, tuple[tuple[str, str], ...]], ...],
                      rules: MentionRules) -> MentionFunction:
    """One object per table and network: its hash, a key of the composer's memos, is then
    computed once."""
    return MentionFunction(network, dialect, table, rules)


@lru_cache(maxsize=1024)
def _resolved(function: MentionFunction, key: str) -> Mention:
    table = {k: dict(entry) for k, entry in function.table}
    return resolve(key, function.network, table, function.dialect, function.rules)


def with_dids(network: str, table: dict[str, dict[str, str]],
              rules: MentionRules = _HANDLE) -> list[Mention]:
    """Every organisation ``network`` can mention by DID (AT Protocol facets)."""
    return [mention for key in table
            if (mention := resolve(key, network, table, rules=rules)).did]
