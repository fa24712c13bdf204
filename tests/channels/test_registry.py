"""Finding a network's adapter: Siar's own networks without reading every installed
distribution's entry points, any other through the entry-point group (the third-party
adapter of tests/thirdparty/ shows that path end to end)."""

from __future__ import annotations

import tomllib
from importlib.metadata import distribution
from pathlib import Path

import pytest

from channels import registry
from channels.base import Channel
from channels.errors import UnknownChannel

ROOT = Path(__file__).resolve().parents[2]


def test_the_built_in_networks_are_the_entry_points_pyproject_declares() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "project"]["entry-points"][registry.GROUP]
    assert declared == registry.BUILT_IN
    installed = {ep.name: ep.value for ep in distribution("siar").entry_points
                 if ep.group == registry.GROUP}
    assert installed == registry.BUILT_IN


@pytest.mark.parametrize("network", sorted(registry.BUILT_IN))
def test_a_built_in_network_loads_the_class_its_entry_point_names(network: str) -> None:
    cls = registry.load(network)
    assert cls is registry.available()[network].load()  # type: ignore[attr-defined]
    assert issubclass(cls, Channel) and cls.network == network


def test_a_built_in_network_is_found_without_reading_the_entry_points() -> None:
    registry.available.cache_clear()
    try:
        assert registry.is_installed("mastodon")
        assert registry.lookup("mastodon").network == "mastodon"
        assert registry.available.cache_info().misses == 0
        assert not registry.is_installed("no-such-network")  # an unknown name reads them
        assert registry.available.cache_info().misses == 1
    finally:
        registry.available.cache_clear()


def test_an_unknown_network_is_composed_with_the_channel_defaults_and_cannot_load() -> None:
    assert registry.lookup("no-such-network") is Channel
    with pytest.raises(UnknownChannel, match=r"known networks: .*mastodon"):
        registry.load("no-such-network")
