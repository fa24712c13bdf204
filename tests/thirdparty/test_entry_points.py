"""A third-party adapter, installed as its own distribution, is found like a built-in.

The example distribution in ``siar-channel-example/`` is pip-installed into the running
environment once for this module (offline: ``--no-index --no-deps
--no-build-isolation``, so the build uses the hatchling already installed with the test
extras) and uninstalled afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from importlib.metadata import distribution
from pathlib import Path

import pytest

from channels import registry
from channels.base import AccountConfig, Channel, Published
from channels.webhook import WebhookChannel
from scheduler.errors import UnknownChannel
from tests.channels.helpers import make_delivery

EXAMPLE_SOURCE = Path(__file__).parent / "siar-channel-example"
DISTRIBUTION = "siar-channel-example"


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet",
                    *args], check=True, timeout=180, capture_output=True)


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Build from a copy: the build must not leave artefacts in the source tree.
    source = tmp_path_factory.mktemp("thirdparty") / "siar-channel-example"
    shutil.copytree(EXAMPLE_SOURCE, source)
    pip("install", "--no-index", "--no-deps", "--no-build-isolation", str(source))
    registry.available.cache_clear()
    try:
        yield
    finally:
        pip("uninstall", "--yes", DISTRIBUTION)
        registry.available.cache_clear()
        for module in [m for m in sys.modules if m.startswith("siar_channel_example")]:
            del sys.modules[module]


def test_the_installed_adapter_is_listed_with_the_built_in_networks(
        installed_example: None) -> None:
    assert {"example", "webhook", "email", "discord"} <= set(registry.networks())


def test_load_finds_the_third_party_class_through_the_same_entry_point_group(
        installed_example: None) -> None:
    example = registry.load("example")
    assert issubclass(example, Channel) and example.network == "example"
    assert example.__module__ == "siar_channel_example"
    entry_point = registry.available()["example"]
    assert entry_point.group == registry.GROUP == registry.available()["webhook"].group
    assert entry_point.dist.name == DISTRIBUTION  # type: ignore[attr-defined]
    assert registry.load("webhook") is WebhookChannel


def test_the_third_party_adapter_publishes_a_delivery(installed_example: None,
                                                      tmp_path: Path) -> None:
    outbox = tmp_path / "outbox.jsonl"
    adapter = registry.load("example")(
        AccountConfig(name="contoh", network="example", options={"outbox": str(outbox)}), {})
    delivery = make_delivery(["Bagian satu", "Bagian dua"], publish_key="pk-1")

    outcome = adapter.publish(delivery)

    assert outcome == Published("pk-1-0", f"{outbox.as_uri()}#pk-1-0")
    lines = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert lines == [{"id": "pk-1-0", "text": "Bagian satu"},
                     {"id": "pk-1-1", "text": "Bagian dua"}]
    assert [p.index for p in delivery.progress] == [0, 1]
    assert adapter.check().ok


def test_the_distribution_metadata_is_that_of_a_separate_package(
        installed_example: None) -> None:
    assert distribution(DISTRIBUTION).version == "1.0.0"


def test_a_network_nobody_installed_is_unknown() -> None:
    with pytest.raises(UnknownChannel, match="no adapter for network 'no-such-network'"):
        registry.load("no-such-network")
