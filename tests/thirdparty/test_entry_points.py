"""A third-party adapter, installed as its own distribution, is a network like a built-in.

The example distribution in ``siar-channel-example/`` is built into a wheel once for this
module (offline: ``pip wheel --no-index --no-deps --no-build-isolation``, with the hatchling
installed with the test extras) and the wheel is unpacked into a folder of its own — what
an installer does to site-packages. ``importlib.metadata`` finds a distribution by the
``*.dist-info`` folders on ``sys.path``, so that folder on the path (or on ``PYTHONPATH``
of a ``siar`` process) makes the example installed for it alone: the project's
environment is never changed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import pytest

from channels import registry
from channels.base import AccountConfig, Channel, Delivery, Published
from channels.variant import Variant
from channels.webhook import WebhookChannel
from scheduler.errors import UnknownChannel

EXAMPLE_SOURCE = Path(__file__).parent / "siar-channel-example"
DISTRIBUTION = "siar-channel-example"
SIAR = Path(sys.executable).with_name("siar")  # the console script of this environment


@pytest.fixture(scope="module")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the example distribution as an installer lays it out."""
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet",
                    "wheel", "--no-index", "--no-deps", "--no-build-isolation",
                    "--no-cache-dir", "--wheel-dir", str(wheels), str(EXAMPLE_SOURCE)],
                   check=True, timeout=180, capture_output=True)
    [wheel] = wheels.glob("siar_channel_example-*.whl")
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


@pytest.fixture
def installed_example(example_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The example installed for this process only, while the test runs."""
    monkeypatch.syspath_prepend(str(example_site))  # also invalidates the import caches
    registry.available.cache_clear()
    try:
        yield
    finally:
        monkeypatch.undo()
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
    variant = Variant(account="contoh", channel="example", parts=["Bagian satu", "Bagian dua"],
                      length=[11, 10], limit=160)
    delivery = Delivery(post_id=1, attempt=1, variant=variant, publish_key="pk-1",
                        due_at=datetime.now(UTC))

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


def test_the_projects_environment_never_gets_the_example(example_site: Path) -> None:
    with pytest.raises(PackageNotFoundError):
        distribution(DISTRIBUTION)
    site_packages = [Path(p) for p in sys.path if p.endswith("site-packages")]
    assert site_packages
    assert not [hit for folder in site_packages for hit in folder.glob("siar_channel_example*")]


def test_a_network_nobody_installed_is_unknown() -> None:
    with pytest.raises(UnknownChannel, match="no adapter for network 'no-such-network'"):
        registry.load("no-such-network")


# --- through the command line, like a built-in network -----------------------------------

TITLE = "Lapas Pangkalpinang Gelar Rakor"
# "é" and "—" are one character each but two and three UTF-8 bytes: the example counts bytes
BODY = ("Kepala Lapas membuka rapat koordinasi dengan seluruh jajaran pegawai — kegiatan "
        "rutin setiap bulan. Rapat membahas keamanan, pembinaan dan layanan kunjungan café. "
        "Seluruh peserta menyepakati rencana kerja triwulan berikutnya.")


@pytest.fixture
def workspace(tmp_path: Path, example_site: Path) -> tuple[Path, dict[str, str]]:
    """A deployment with one example account, and the environment of its ``siar``."""
    outbox = tmp_path / "outbox.jsonl"
    (tmp_path / "siar.toml").write_text(
        'timezone = "Asia/Jakarta"\n\n[[accounts]]\nname = "contoh"\nnetwork = "example"\n'
        f"options = {{ outbox = {json.dumps(str(outbox))} }}\n", encoding="utf-8")
    (tmp_path / "rilis.md").write_text(f"---\ntitle: {TITLE}\n---\n{BODY}\n", encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("SIAR_")}
    env.update(SIAR_HOME=str(tmp_path / "home"), PYTHONPATH=str(example_site), SIAR_LANG="en")
    return tmp_path, env


def siar(workspace: tuple[Path, dict[str, str]], *args: str) -> subprocess.CompletedProcess:
    folder, env = workspace
    return subprocess.run([str(SIAR), "--config", str(folder / "siar.toml"), *args],
                          cwd=folder, env=env, capture_output=True, text=True, timeout=120)


def test_preview_counts_fits_and_extends_by_the_third_party_channels_own_rules(
        workspace: tuple[Path, dict[str, str]]) -> None:
    result = siar(workspace, "preview", "rilis.md", "--json")

    assert result.returncode == 0, result.stderr
    [variant] = json.loads(result.stdout)["variants"]
    assert variant["channel"] == "example" and variant["limit"] == 160
    # fitted to its limit as the example counts: a thread, every part within 160 bytes
    assert len(variant["parts"]) > 1
    assert variant["length"] == [len(part.encode()) for part in variant["parts"]]
    assert all(length <= 160 for length in variant["length"])
    assert any(len(part) != len(part.encode()) for part in variant["parts"])
    assert "too long for one post: sent as a thread" in " ".join(variant["warnings"])
    # the field its composer hook adds
    assert variant["outbox_header"] == f"{TITLE.upper()} ({len(variant['parts'])})"


def test_count_reports_the_third_party_network_as_it_counts(
        workspace: tuple[Path, dict[str, str]]) -> None:
    result = siar(workspace, "count", "Rapat café —", "--json")

    assert result.returncode == 0, result.stderr
    rows = {row["channel"]: row for row in json.loads(result.stdout)}
    assert rows["example"] == {"channel": "example", "length": len("Rapat café —".encode()),
                               "limit": 160, "fits": True}


def test_the_daemon_publishes_through_the_third_party_channel_what_preview_showed(
        workspace: tuple[Path, dict[str, str]]) -> None:
    preview = json.loads(siar(workspace, "preview", "rilis.md", "--json").stdout)
    [variant] = preview["variants"]

    for args in (("db", "upgrade"), ("add", "rilis.md", "--at", "now"),
                 ("daemon", "--until-drained")):
        result = siar(workspace, *args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)

    outbox = workspace[0] / "outbox.jsonl"
    lines = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert [line["text"] for line in lines] == variant["parts"]
    assert {line["header"] for line in lines} == {variant["outbox_header"]}


def test_a_third_party_network_may_key_utm_and_mentions_though_siar_does_not_ship_it(
        installed_example: None, tmp_path: Path) -> None:
    """The config check looks at Siar's own networks first (``registry.BUILT_IN``, no
    metadata read), and at every installed distribution only for a name not among them."""
    from scheduler.settings import load_settings

    assert "example" not in registry.own_networks()
    config = tmp_path / "siar.toml"
    config.write_text('[utm.example]\nutm_source = "contoh"\n\n[mentions.ditjenpas]\n'
                      'name = "Ditjen"\nexample = "@ditjenpas"\nx = "@ditjenpas"\n',
                      encoding="utf-8")
    assert load_settings(config).utm["example"] == {"utm_source": "contoh"}
