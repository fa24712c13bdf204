"""One account that cannot take a release is named with the file; the others still show."""

from __future__ import annotations

import json
from pathlib import Path

from tests.core.conftest import row_counts


def _squeeze_x(workspace: Path) -> None:
    """X limited to 40 characters: title, link and campaign hashtag can never fit."""
    config = workspace / "siar.toml"
    config.write_text(config.read_text().replace('network = "x"\n',
                                                 'network = "x"\nlimit = 40\n'))


def test_preview_shows_every_other_account_and_names_the_file_and_account(workspace: Path,
                                                                           siar) -> None:
    _squeeze_x(workspace)
    result = siar("preview", "rilis.md")
    assert result.code == 1
    assert "mastodon-lapas" in result.out and "telegram-lapas" in result.out
    message = " ".join(result.err.split())
    assert "rilis.md: account 'x-lapas' (x)" in message and "fix:" in message


def test_preview_json_lists_the_account_that_cannot_fit_beside_the_variants(workspace: Path,
                                                                           siar) -> None:
    _squeeze_x(workspace)
    result = siar("preview", "rilis.md", "--json")
    data = json.loads(result.out)
    assert result.code == 1
    assert {v["account"] for v in data["variants"]} == {"console", "mastodon-lapas",
                                                        "telegram-lapas"}
    [error] = data["errors"]
    assert error["account"] == "x-lapas" and error["channel"] == "x"
    assert "over the limit of 40" in error["error"] and error["fix"]


def test_preview_json_has_an_empty_error_list_when_every_account_fits(workspace: Path,
                                                                     siar) -> None:
    result = siar("preview", "rilis.md", "--json")
    assert result.code == 0 and json.loads(result.out)["errors"] == []


def test_add_refuses_the_release_naming_file_and_account_and_writes_nothing(workspace: Path,
                                                                            siar) -> None:
    _squeeze_x(workspace)
    before = row_counts(workspace)
    result = siar("add", "rilis.md")
    message = " ".join(result.err.split())
    assert result.code == 1 and "rilis.md: account 'x-lapas' (x)" in message
    assert row_counts(workspace) == before
