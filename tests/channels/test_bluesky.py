"""Bluesky adapter against a fake PDS on a real socket."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.base import (
    AccountConfig,
    AuthFailed,
    Delivery,
    InDoubt,
    Media,
    NotSent,
    PartResult,
    Published,
    Rejected,
)
from channels.bluesky import BlueskyChannel, derive_rkey
from scheduler.text.facets import facets as composer_facets
from tests.channels.helpers import make_delivery as delivery_of
from tests.fakes.bluesky import TID_PATTERN, FakeBluesky

HANDLE = "humaslapas.bsky.social"
APP_PASSWORD = "s3cr-etap-ppas-swrd"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeBluesky]:
    with FakeBluesky(handle=HANDLE, app_password=APP_PASSWORD) as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def fake(server: FakeBluesky) -> FakeBluesky:
    server.reset()
    return server


def make_channel(base_url: str, password: str = APP_PASSWORD) -> BlueskyChannel:
    account = AccountConfig(name="lapas_bsky", network="bluesky", base_url=base_url,
                            options={"identifier": HANDLE, "read_timeout": 0.5})
    return BlueskyChannel(account, {"app_password": password})


def make_delivery(*parts: str, key: str = "post-11-key", **fields: Any) -> Delivery:
    return delivery_of(list(parts), channel="bluesky", publish_key=key, **fields)


def link_facet(text: str, fragment: str, uri: str) -> dict[str, object]:
    start = text.encode().index(fragment.encode())
    return {"index": {"byteStart": start, "byteEnd": start + len(fragment.encode())},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}]}


def no_secret_in(fake: FakeBluesky, text: str) -> bool:
    """Neither the app password nor any session token the fake issued appears in text."""
    tokens = fake.access_tokens | fake.refresh_tokens
    return APP_PASSWORD not in text and not any(token in text for token in tokens)


# --- session ---------------------------------------------------------------------------


def test_three_posts_log_in_once(fake: FakeBluesky) -> None:
    channel = make_channel(fake.url)

    for n in range(3):
        assert isinstance(channel.publish(make_delivery(f"post {n}", key=f"k{n}")), Published)

    assert fake.sessions_created == 1
    [login] = fake.calls("POST", "/xrpc/com.atproto.server.createSession")
    assert login.json() == {"identifier": HANDLE, "password": APP_PASSWORD}


def test_an_expired_access_token_is_refreshed_not_logged_in_again(fake: FakeBluesky) -> None:
    channel = make_channel(fake.url)
    channel.publish(make_delivery("pertama", key="a"))
    fake.expire_access_tokens()

    outcome = channel.publish(make_delivery("kedua", key="b"))

    assert isinstance(outcome, Published)
    assert fake.sessions_created == 1
    assert len(fake.calls("POST", "/xrpc/com.atproto.server.refreshSession")) == 1
    assert [r.value["text"] for r in fake.posts()] in (["pertama", "kedua"],
                                                       ["kedua", "pertama"])


def test_a_failed_refresh_is_an_auth_failure_and_the_next_attempt_logs_in(
        fake: FakeBluesky) -> None:
    channel = make_channel(fake.url)
    channel.publish(make_delivery("pertama", key="a"))
    fake.expire_access_tokens()
    fake.revoke_refresh_tokens()

    failed = channel.publish(make_delivery("kedua", key="b"))
    retried = channel.publish(make_delivery("kedua", key="b"))

    assert isinstance(failed, AuthFailed)
    assert no_secret_in(fake, repr(failed))
    assert isinstance(retried, Published)
    assert fake.sessions_created == 2


# --- publishing ------------------------------------------------------------------------


def test_plain_post_creates_a_record_with_our_own_rkey(fake: FakeBluesky) -> None:
    outcome = make_channel(fake.url).publish(make_delivery("Rakor Humas"))

    rkey = derive_rkey("post-11-key", 0)
    uri = f"at://{fake.did}/app.bsky.feed.post/{rkey}"
    assert outcome == Published(uri, f"https://bsky.app/profile/{HANDLE}/post/{rkey}")
    [call] = fake.calls("POST", "/xrpc/com.atproto.repo.createRecord")
    body = call.json()
    assert call.header("Authorization", "").startswith("Bearer ")
    assert {k: body[k] for k in ("repo", "collection", "rkey")} == {
        "repo": fake.did, "collection": "app.bsky.feed.post", "rkey": rkey}
    record = body["record"]
    assert record["$type"] == "app.bsky.feed.post"
    assert record["text"] == "Rakor Humas"
    assert record["langs"] == ["id"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["createdAt"])


def test_facets_are_sent_with_utf8_byte_offsets(fake: FakeBluesky) -> None:
    text = "Rakor “Sinergi” 😀 https://kemenimipas.go.id #HumasBergerakBersama"
    tag_start = text.encode().index(b"#Humas")
    facets = [[link_facet(text, "https://kemenimipas.go.id", "https://kemenimipas.go.id"),
               {"index": {"byteStart": tag_start, "byteEnd": len(text.encode())},
                "features": [{"$type": "app.bsky.richtext.facet#tag",
                              "tag": "HumasBergerakBersama"}]}]]

    outcome = make_channel(fake.url).publish(make_delivery(text, facets=facets))

    assert isinstance(outcome, Published)
    assert fake.posts()[0].value["facets"] == facets[0]


def test_a_facet_counted_in_characters_instead_of_bytes_is_rejected(fake: FakeBluesky) -> None:
    text = "Rakor 😀😀 #Humas"
    wrong = {"index": {"byteStart": text.index("#"), "byteEnd": len(text) + 2},
             "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "Humas"}]}

    outcome = make_channel(fake.url).publish(make_delivery(text, facets=[[wrong]]))

    assert isinstance(outcome, Rejected)
    assert "facets" in outcome.reason


def test_thread_parts_reply_with_root_and_parent_refs(fake: FakeBluesky) -> None:
    delivery = make_delivery("satu", "dua", "tiga")

    outcome = make_channel(fake.url).publish(delivery)

    first, second, third = (fake.records[derive_rkey("post-11-key", i)] for i in range(3))
    assert isinstance(outcome, Published) and outcome.remote_id == first.uri
    assert "reply" not in first.value
    assert second.value["reply"] == {"root": {"uri": first.uri, "cid": first.cid},
                                     "parent": {"uri": first.uri, "cid": first.cid}}
    assert third.value["reply"] == {"root": {"uri": first.uri, "cid": first.cid},
                                    "parent": {"uri": second.uri, "cid": second.cid}}
    assert [p.extra["cid"] for p in delivery.progress] == [first.cid, second.cid, third.cid]


def test_resuming_a_partial_thread_does_not_resend_published_parts(fake: FakeBluesky) -> None:
    channel = make_channel(fake.url)
    channel.publish(make_delivery("satu"))  # an earlier attempt published part 1 only
    root = fake.records[derive_rkey("post-11-key", 0)]
    done = [PartResult(0, root.uri, "https://bsky.app/x", {"cid": root.cid})]

    outcome = channel.publish(make_delivery("satu", "dua", progress=done))

    assert outcome == Published(root.uri, "https://bsky.app/x")
    assert len(fake.calls("POST", "/xrpc/com.atproto.repo.createRecord")) == 2
    second = fake.records[derive_rkey("post-11-key", 1)]
    assert second.value["reply"]["root"] == {"uri": root.uri, "cid": root.cid}


def test_images_are_uploaded_as_blobs_and_embedded_with_alt_text(fake: FakeBluesky,
                                                                 photo: Path) -> None:
    delivery = make_delivery("Foto", media=[Media(str(photo), alt="Kalapas berpidato")])

    outcome = make_channel(fake.url).publish(delivery)

    assert isinstance(outcome, Published)
    [upload] = fake.calls("POST", "/xrpc/com.atproto.repo.uploadBlob")
    assert upload.header("Content-Type") == "image/jpeg"
    assert upload.body.startswith(b"\xff\xd8")
    embed = fake.posts()[0].value["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    [image] = embed["images"]
    assert image["alt"] == "Kalapas berpidato"
    assert image["aspectRatio"] == {"width": 640, "height": 426}
    assert image["image"]["ref"]["$link"] in fake.blobs


def test_a_link_card_is_embedded_when_there_are_no_images(fake: FakeBluesky,
                                                         photo: Path) -> None:
    card = {"uri": "https://lapas.example/rakor", "title": "Rakor Agen Informasi",
            "description": "Rapat koordinasi", "thumb": str(photo)}

    outcome = make_channel(fake.url).publish(make_delivery("Baca", card=card))

    assert isinstance(outcome, Published)
    external = fake.posts()[0].value["embed"]["external"]
    assert external["uri"] == "https://lapas.example/rakor"
    assert external["title"] == "Rakor Agen Informasi"
    assert external["thumb"]["mimeType"] == "image/jpeg"


@given(st.text(min_size=1, max_size=40), st.integers(min_value=0, max_value=24))
def test_derived_record_keys_are_valid_tids_fixed_by_the_publish_key(key: str,
                                                                     part: int) -> None:
    rkey = derive_rkey(key, part)

    assert TID_PATTERN.match(rkey)
    assert rkey == derive_rkey(key, part)
    assert derive_rkey(key, part) < derive_rkey(key, part + 1)


_keys = itertools.count()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(["Rakor", "“Sinergi”", "😀", "é", "#Humas", "#2024",
                                       "https://lapas.example/berita?id=7", "(kp)", "—"]),
                      # at most 8 words: 8 links and their spaces stay within Bluesky's 300
                      # graphemes, which this fake PDS enforces like the real one
                      min_size=1, max_size=8))
def test_the_composers_facets_are_accepted_by_the_pds(server: FakeBluesky,
                                                      words: list[str]) -> None:
    text = " ".join(words)
    delivery = make_delivery(text, key=f"facets-{next(_keys)}", facets=[composer_facets(text)])

    outcome = make_channel(server.url).publish(delivery)

    assert isinstance(outcome, Published), outcome


# --- failures --------------------------------------------------------------------------


def test_timeout_then_probe_finds_the_record_by_its_rkey(fake: FakeBluesky) -> None:
    channel = make_channel(fake.url)
    delivery = make_delivery("mungkin terkirim")
    assert channel.check().ok
    fake.fail_next(delay=1.0, apply=True, path="/xrpc/com.atproto.repo.createRecord")

    doubt = channel.publish(delivery)
    settled = channel.probe(delivery)

    rkey = derive_rkey("post-11-key", 0)
    assert isinstance(doubt, InDoubt)
    assert no_secret_in(fake, repr(doubt))
    assert settled == Published(f"at://{fake.did}/app.bsky.feed.post/{rkey}",
                                f"https://bsky.app/profile/{HANDLE}/post/{rkey}")


def test_a_resend_of_an_applied_record_cannot_duplicate_it(fake: FakeBluesky) -> None:
    channel = make_channel(fake.url)
    channel.publish(make_delivery("sekali"))

    again = channel.publish(make_delivery("sekali"))

    assert isinstance(again, InDoubt)  # the PDS answers 500 for an existing rkey
    assert len(fake.records) == 1


# --- check and dry run -----------------------------------------------------------------


def test_check_logs_in_and_names_the_handle(fake: FakeBluesky) -> None:
    result = make_channel(fake.url).check()

    assert result.ok and result.identity == HANDLE
    assert fake.calls("GET", "/xrpc/com.atproto.server.getSession")


def test_dry_run_shows_the_records_without_secrets(photo: Path) -> None:
    channel = make_channel("https://bsky.social")
    delivery = make_delivery("satu", "dua", media=[Media(str(photo), alt="alt")])

    planned = channel.dry_run_requests(delivery)

    assert [r["url"].rsplit("/", 1)[-1] for r in planned] == [
        "com.atproto.repo.uploadBlob", "com.atproto.repo.createRecord",
        "com.atproto.repo.createRecord"]
    assert planned[1]["json"]["rkey"] == derive_rkey("post-11-key", 0)
    assert planned[1]["json"]["record"]["embed"]["images"][0]["alt"] == "alt"
    assert APP_PASSWORD not in json.dumps(planned)


def test_a_rate_limited_login_is_not_sent_with_the_reset_time(fake: FakeBluesky) -> None:
    fake.rate_limit(300, path="/xrpc/com.atproto.server.createSession")

    outcome = make_channel(fake.url).publish(make_delivery("halo"))

    assert isinstance(outcome, NotSent) and outcome.rate_limited
    assert outcome.retry_after is not None and 295 <= outcome.retry_after <= 300


def test_dry_run_needs_no_secrets_and_no_network() -> None:
    channel = BlueskyChannel(AccountConfig(name="b", network="bluesky",
                                           options={"identifier": HANDLE}), {})

    planned = channel.dry_run_requests(make_delivery("halo"))

    assert planned[0]["url"] == "https://bsky.social/xrpc/com.atproto.repo.createRecord"
