"""A channel is one home: the composer applies what each channel declares, and knows no
network by name."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from channels import registry
from channels.base import Channel
from channels.rules import Counting, PostRules, Unit
from scheduler.compose import compose
from scheduler.settings import AccountSettings
from scheduler.text.counting import measure_for
from tests.composer.conftest import make_release, make_settings

ROOT = Path(__file__).resolve().parents[2]
#: the composer's modules, and the alerts: generic machinery that takes every rule from
#: the channel
GENERIC = [ROOT / "scheduler" / "compose.py", ROOT / "scheduler" / "preview.py",
           ROOT / "scheduler" / "notify.py", ROOT / "scheduler" / "capacity.py",
           *sorted((ROOT / "scheduler" / "text").glob("*.py"))]
_BRANCH = re.compile(r"(?<!for )\b(?:network|channel)\s*(?:[!=]=|(?:not\s+)?in\b)")


@pytest.mark.parametrize("module", GENERIC, ids=lambda path: path.name)
def test_no_composer_module_branches_on_the_network(module: Path) -> None:
    branches = [f"{module.name}:{number}: {line.strip()}"
                for number, line in enumerate(module.read_text().splitlines(), start=1)
                if _BRANCH.search(line)]
    assert branches == []


@pytest.mark.parametrize("network", registry.networks())
def test_every_built_in_channel_has_its_template_and_docs_page(network: str) -> None:
    channel = registry.load(network)
    assert (ROOT / "templates" / (channel.template or f"{network}.j2")).is_file()
    if network != "console":  # the console writes to the terminal: nothing to set up
        assert channel.docs == f"docs/channels/{network}.md"
        assert (ROOT / channel.docs).is_file()
    assert channel.display_name


def test_every_hook_of_the_base_class_says_what_it_is_for() -> None:
    hooks = [name for name, member in vars(Channel).items()
             if not name.startswith("_") and callable(getattr(Channel, name))]
    assert "compose_extra" in hooks and "publish" in hooks
    assert [name for name in hooks if not inspect.getdoc(getattr(Channel, name))] == []


def test_a_network_without_an_adapter_gets_the_base_classs_defaults() -> None:
    body = "Kalimat pertama yang panjang. " * 200
    account = AccountSettings(name="lain", network="belum-terpasang")
    settings = make_settings(accounts=[account])

    variant = compose(make_release(body, hashtags=["Lapas"]), account, settings)

    assert variant.limit is None and len(variant.parts) == 1
    assert variant.length == [len(variant.parts[0])]
    assert "#HumasBergerakBersama #Lapas" in variant.parts[0]
    assert variant.extra == {}


def test_a_declared_counting_is_applied_as_written() -> None:
    bytes_with_short_links = measure_for(Counting(Unit.UTF8_BYTES, url_length=10))
    assert bytes_with_short_links("café https://example.go.id/berita/panjang") == 6 + 10
    graphemes_after_html = measure_for(Counting(Unit.GRAPHEMES, after_html=True))
    assert graphemes_after_html("<b>🇮🇩</b> &amp;") == 3


def test_rules_that_contradict_themselves_are_refused_when_declared() -> None:
    with pytest.raises(ValueError, match="twitter-text"):
        Counting(Unit.TWITTER_WEIGHTED, url_length=23)
    with pytest.raises(ValueError, match="emoji_as_bytes"):
        PostRules(counting=Counting(Unit.GRAPHEMES, emoji_as_bytes=True))


def test_reading_every_channels_rules_loads_no_http_or_image_library():
    # the composer imports every adapter module for its rules; `siar preview` must not
    # pay for requests, urllib3, Pillow or tweepy, which only publishing uses
    import subprocess
    import sys

    code = ("import sys\nfrom channels import registry\n"
            "rules = [registry.load(n).post_rules for n in registry.networks()]\n"
            "print(sorted(m for m in ('requests', 'urllib3', 'PIL', 'tweepy') "
            "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "[]"
