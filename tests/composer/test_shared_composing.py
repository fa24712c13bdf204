"""Accounts alike share one composition, and get exactly what composing each alone gives.

``compose_all`` composes once for accounts of the same network, limit, long-text choice and
template when neither the template nor the channel's ``compose_extra`` reads the account's
name; each of the others gets a copy named for it. Whatever the release and the accounts,
the variants are byte for byte those of composing every account on its own.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels import registry
from channels.base import Channel
from channels.composing import Draft, Release
from scheduler.compose import compose, compose_all
from scheduler.settings import AccountSettings
from tests.composer import strategies
from tests.composer.conftest import (
    LINKS,
    NETWORKS,
    composed_or_error,
    make_release,
    make_settings,
    write_templates,
)

_TEMPLATES = {
    # uses the account's name: each account's variant is its own
    "named.j2": "{% block post %}{{ title }} ({{ account }})\n\n{{ body }}\n{{ link }}"
                "{% endblock %}",
    # does not: shared
    "short.j2": "{% block post %}{{ title }}\n{{ body }}\n"
                "{{ hashtags | join(' ') }}{% endblock %}",
    # includes another template, which is not looked into: never shared
    "outer.j2": "{% block post %}{% include 'inner.j2' %}\n{{ body }}{% endblock %}",
    "inner.j2": "{{ title }} / {{ account }}",
}


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_templates(tmp_path_factory.mktemp("templates"), _TEMPLATES)




_account = st.fixed_dictionaries({
    "network": st.sampled_from([*NETWORKS[:6], "mastodon", "mastodon", "bluesky", "wordpress"]),
    "limit": st.sampled_from([None, None, 120, 500]),
    "long_text": st.sampled_from(["thread", "truncate"]),
    "template": st.sampled_from([None, None, None, "named.j2", "short.j2", "outer.j2"]),
})

_release = st.fixed_dictionaries(
    {"body": strategies.body, "title": strategies.title},
    optional=strategies.release_extras(LINKS))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(release=_release, accounts=st.lists(_account, min_size=1, max_size=8))
def test_every_account_gets_what_composing_it_alone_gives(templates: Path, release,
                                                          accounts) -> None:
    doc = make_release(release.pop("body"), **release)
    chosen = [AccountSettings(name=f"akun-{i}", **a) for i, a in enumerate(accounts)]
    deployment = make_settings(accounts=chosen, templates_dir=templates)
    assert composed_or_error(lambda: compose_all(doc, chosen, deployment)) == composed_or_error(
        lambda: [compose(doc, account, deployment) for account in chosen])


# --- a channel that counts its compositions, and may read the account's name --------------

class _Counting(Channel):
    """A third-party channel: each composition adds one to ``composed``."""

    composed = 0
    #: whether its extra names the account it was composed for (Draft.account)
    names_account = False

    @classmethod
    def compose_extra(cls, draft: Draft, release: Release) -> dict[str, Any]:
        cls.composed += 1
        return {"for": draft.account} if cls.names_account else {"composition": cls.composed}

    def publish(self, delivery: Any) -> Any:  # never called here
        raise NotImplementedError


class _Naming(_Counting):
    composed = 0
    names_account = True


@pytest.fixture
def third_party(monkeypatch: pytest.MonkeyPatch) -> None:
    """The two channels installed as entry points, as a third-party package would."""
    installed = dict(registry.available())
    for network, name in (("sharing-counting", "_Counting"), ("sharing-naming", "_Naming")):
        installed[network] = EntryPoint(name=network, group=registry.GROUP,
                                        value=f"{__name__}:{name}")
    monkeypatch.setattr(registry, "available", lambda: installed)


def test_accounts_alike_are_composed_once(third_party: None) -> None:
    accounts = [AccountSettings(name=f"akun-{i}", network="sharing-counting") for i in range(5)]
    variants = compose_all(make_release("Isi rilis."), accounts,
                           make_settings(accounts=accounts))
    assert _Counting.composed == 1
    assert [v.account for v in variants] == [f"akun-{i}" for i in range(5)]
    assert {v.extra["composition"] for v in variants} == {1}


def test_a_channel_that_reads_the_account_name_composes_each_account(third_party: None) -> None:
    accounts = [AccountSettings(name=f"akun-{i}", network="sharing-naming") for i in range(3)]
    variants = compose_all(make_release("Isi rilis."), accounts,
                           make_settings(accounts=accounts))
    assert _Naming.composed == 3
    assert [v.extra["for"] for v in variants] == ["akun-0", "akun-1", "akun-2"]


def test_a_template_naming_the_account_gives_each_account_its_own_text(templates: Path) -> None:
    accounts = [AccountSettings(name=f"akun-{i}", network="mastodon", template=template)
                for i, template in enumerate(["named.j2", "named.j2", "outer.j2", "outer.j2"])]
    variants = compose_all(make_release("Isi rilis.", title="Judul"), accounts,
                           make_settings(accounts=accounts, templates_dir=templates))
    heads = ["Judul (akun-0)", "Judul (akun-1)", "Judul / akun-2", "Judul / akun-3"]
    assert all(v.parts[0].startswith(head) for v, head in zip(variants, heads, strict=True))


def test_shared_variants_are_copies(templates: Path) -> None:
    accounts = [AccountSettings(name=f"akun-{i}", network="bluesky") for i in range(2)]
    first, second = compose_all(make_release("Isi https://ditjenpas.go.id rilis."), accounts,
                                make_settings(accounts=accounts))
    first.parts.append("changed")
    first.extra["facets"].append("changed")
    assert second.parts == first.parts[:1] and second.extra["facets"] == first.extra["facets"][:1]
