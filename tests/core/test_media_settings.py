"""``[media]``: where photos are hosted for Instagram and Threads. A table that cannot work
stops Siar with the file, the field and the fix; a good one reaches the adapters."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.errors import ConfigError
from scheduler.settings import load_settings

WORDPRESS = '[[accounts]]\nname = "web-lapas"\nnetwork = "wordpress"\n' \
            'base_url = "https://lapas.example.go.id"\n'
INSTAGRAM = '[[accounts]]\nname = "ig-lapas"\nnetwork = "instagram"\n' \
            'options = { user_id = "1784" }\n'


def write(workspace: Path, toml: str) -> None:
    (workspace / "siar.toml").write_text(toml)


@pytest.mark.parametrize(("toml", "says"), [
    ('[media]\nstore = "wordpress:web"\n' + WORDPRESS,
     ["no WordPress account named 'web'", 'store = "wordpress:NAME"', "web-lapas"]),
    ('[media]\nstore = "wordpress:ig-lapas"\n' + INSTAGRAM,
     ["no WordPress account", 'network = "wordpress"']),
    ('[media]\nstore = "s3"\n', ['needs bucket = "NAME"']),
    ('[media]\nstore = "siar"\n', ['needs public_base_url = "https://']),
    ('[media]\nstore = "siar"\npublic_base_url = "https://humas.example.go.id/siar"\n',
     ["needs [daemon] http_port"]),
    ('[media]\nstore = "dropbox"\n', ['"wordpress:ACCOUNT", "s3" or "siar"']),
    ('[media]\nstore = "s3"\nbucket = "b"\nexpires_seconds = 5\n', ["expires_seconds"]),
])
def test_a_media_table_that_cannot_work_names_the_file_the_field_and_the_fix(
        workspace: Path, toml: str, says: list[str]) -> None:
    write(workspace, toml)

    with pytest.raises(ConfigError) as info:
        load_settings()

    message = str(info.value)
    assert "siar.toml" in message and ("[media]" in message or "media." in message)
    for fragment in says:
        assert fragment in message


def test_an_unknown_key_in_the_media_table_is_refused_with_the_closest_one(workspace):
    write(workspace, '[media]\nstore = "s3"\nbuckit = "humas"\n')

    with pytest.raises(ConfigError, match=r"\[media\] unknown key 'buckit'.*'bucket'"):
        load_settings()


def test_a_bad_media_table_stops_the_cli_with_exit_1_and_no_traceback(workspace, siar):
    write(workspace, '[media]\nstore = "siar"\n')

    result = siar("accounts")

    assert result.code == 1 and "Traceback" not in result.err
    assert "public_base_url" in result.err


def test_with_a_store_the_adapters_know_the_images_will_have_a_url(workspace):
    write(workspace, '[media]\nstore = "wordpress:web-lapas"\nkeep = true\n'
          + WORDPRESS + INSTAGRAM)

    settings = load_settings()

    assert settings.media.keep is True
    config = settings.account("ig-lapas").channel_config()
    assert config.options["media_store"] == "wordpress:web-lapas"
    assert config.options["user_id"] == "1784"


def test_without_a_store_the_accounts_options_are_as_written(workspace):
    write(workspace, INSTAGRAM)

    assert load_settings().account("ig-lapas").channel_config().options == {"user_id": "1784"}


SHIPPED = Path(__file__).parents[2] / "config"


@pytest.mark.parametrize("name", ["demo.toml", "siar.example.toml"])
def test_the_shipped_configs_have_instagram_and_facebook_and_host_their_photos(
        workspace, name: str) -> None:
    settings = load_settings(SHIPPED / name)

    networks = {account.network for account in settings.accounts}
    assert {"instagram", "facebook"} <= networks
    assert str(settings.media.store).startswith("wordpress:")


def test_siar_init_writes_the_photo_the_example_release_names(workspace, siar) -> None:
    assert siar("init", "starter").code == 0

    starter = workspace / "starter"
    assert (starter / "foto-rakor.jpg").is_file()
    preview = siar("--config", str(starter / "siar.toml"), "preview",
                   str(starter / "rilis-contoh.md"), "--json")
    assert preview.code == 0, preview.err
