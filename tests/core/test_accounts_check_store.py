"""``siar accounts check`` checks the ``[media]`` store too: a 1×1 image put there,
fetched back from its public URL and deleted — and no key or password printed."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.fakes.s3 import free_port, s3_server
from tests.fakes.wordpress import WordPressFake
from tests.media_hosting.conftest import S3_KEY_ID, S3_SECRET, WP_PASSWORD


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with s3_server() as endpoint:
        yield endpoint


def add_config(workspace, text: str) -> None:
    config = workspace / "siar.toml"
    config.write_text(config.read_text() + text)


def test_the_wordpress_store_is_checked_with_a_round_trip(workspace, siar):
    with WordPressFake(app_password=WP_PASSWORD) as site:
        add_config(workspace, f'\n[media]\nstore = "wordpress:web-lapas"\n\n[[accounts]]\n'
                              f'name = "web-lapas"\nnetwork = "wordpress"\n'
                              f'base_url = "{site.url}"\n')
        (workspace / ".env").write_text("SIAR_SECRET_WEB_LAPAS_USERNAME=humas\n"
                                        f"SIAR_SECRET_WEB_LAPAS_APP_PASSWORD={WP_PASSWORD}\n")

        # (the workspace's other accounts have no secrets: they fail, the store does not)
        result = siar("accounts", "check", "--json")

        row = json.loads(result.out)[-1]
        assert row["account"] == "[media] store" and row["channel"] == "wordpress:web-lapas"
        assert row["ok"] is True and "fetched back" in row["detail"]
        assert site.media == {}  # the test image was deleted
        assert WP_PASSWORD not in result.out + result.err
        assert WP_PASSWORD.replace(" ", "") not in result.out + result.err


def test_the_s3_store_is_checked_and_its_keys_are_never_printed(workspace, siar, s3_endpoint):
    import boto3

    boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                 aws_access_key_id=S3_KEY_ID, aws_secret_access_key=S3_SECRET
                 ).create_bucket(Bucket="humas-check")
    add_config(workspace, f'\n[media]\nstore = "s3"\nbucket = "humas-check"\n'
                          f'endpoint_url = "{s3_endpoint}"\nregion = "us-east-1"\n')
    (workspace / ".env").write_text(f"SIAR_SECRET_MEDIA_ACCESS_KEY_ID={S3_KEY_ID}\n"
                                    f"SIAR_SECRET_MEDIA_SECRET_ACCESS_KEY={S3_SECRET}\n")

    ok = siar("accounts", "check", "console")  # one account: the store is not checked
    result = siar("accounts", "check")

    assert ok.code == 0 and "[media]" not in ok.out
    assert "[media] store (s3)" in result.out and "fetched back" in result.out
    for secret in (S3_SECRET, S3_KEY_ID):
        assert secret not in result.out + result.err


def test_a_siar_store_nobody_serves_fails_the_check_with_the_reason(workspace, siar):
    port = free_port()  # no daemon listens there
    add_config(workspace, f'\n[media]\nstore = "siar"\n'
                          f'public_base_url = "http://127.0.0.1:{port}/siar"\n'
                          f"\n[daemon]\nhttp_port = {port}\n")

    result = siar("accounts", "check")

    assert result.code == 1
    assert "FAILED" in result.out and "cannot be fetched" in result.out
    assert list((workspace / "home" / "public-media").iterdir()) == []
