"""X adapter (tweepy underneath) against a fake X API v2 on a real socket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.base import (
    AccountConfig,
    AuthFailed,
    Delivery,
    InDoubt,
    Media,
    PartResult,
    Published,
    Rejected,
)
from channels.x import XChannel, comparable_text
from tests.channels.helpers import make_delivery as delivery_of
from tests.fakes.multipart import parse_form_data
from tests.fakes.x import FakeX

SECRETS = {"api_key": "xvz1evFS4wEEPTGEFPHBog", "api_secret": "kAcSOqF21Fu85e7zjz7ZN2U4ZRhf",
           "access_token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
           "access_token_secret": "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeX]:
    with FakeX(**SECRETS) as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def fake(server: FakeX) -> FakeX:
    server.reset()
    return server


def make_channel(base_url: str, **secrets: str) -> XChannel:
    account = AccountConfig(name="lapas_x", network="x", base_url=base_url,
                            options={"username": "humaslapas", "read_timeout": 0.5})
    return XChannel(account, {**SECRETS, **secrets})


def make_delivery(*parts: str, **fields: Any) -> Delivery:
    return delivery_of(list(parts), channel="x", publish_key="post-5-key", **fields)


def leaks_a_secret(text: str) -> bool:
    return any(value in text for value in SECRETS.values())


# --- publishing ------------------------------------------------------------------------


def test_plain_post_is_a_signed_create_tweet(fake: FakeX) -> None:
    outcome = make_channel(fake.url).publish(make_delivery("Rakor Humas #HumasBergerakBersama"))

    [post] = fake.posts
    assert outcome == Published(post.id, f"https://x.com/humaslapas/status/{post.id}")
    [call] = fake.calls("POST", "/2/tweets")
    assert call.json() == {"text": "Rakor Humas #HumasBergerakBersama"}
    authorization = call.header("Authorization") or ""
    assert authorization.startswith("OAuth ")
    for field in ("oauth_consumer_key", "oauth_nonce", "oauth_signature",
                  "oauth_signature_method=\"HMAC-SHA1\"", "oauth_timestamp", "oauth_token"):
        assert field in authorization
    assert "Siar/" in (call.header("User-Agent") or "")


def test_a_signature_made_with_the_wrong_secret_is_refused(fake: FakeX) -> None:
    outcome = make_channel(fake.url, api_secret="not-the-real-secret").publish(
        make_delivery("halo"))

    assert isinstance(outcome, AuthFailed) and outcome.http_status == 401
    assert fake.posts == []
    assert "not-the-real-secret" not in repr(outcome)


def test_thread_parts_reply_to_the_previous_part_in_order(fake: FakeX) -> None:
    delivery = make_delivery("satu", "dua", "tiga")

    outcome = make_channel(fake.url).publish(delivery)

    first, second, third = fake.posts
    assert [p.text for p in fake.posts] == ["satu", "dua", "tiga"]
    assert (first.in_reply_to, second.in_reply_to, third.in_reply_to) == (None, first.id,
                                                                           second.id)
    assert isinstance(outcome, Published) and outcome.remote_id == first.id
    assert fake.calls("POST", "/2/tweets")[1].json() == {
        "text": "dua", "reply": {"in_reply_to_tweet_id": first.id}}


def test_resuming_a_partial_thread_does_not_resend_published_parts(fake: FakeX) -> None:
    root = fake.add_post("satu")
    done = [PartResult(0, root.id, f"https://x.com/humaslapas/status/{root.id}")]

    outcome = make_channel(fake.url).publish(make_delivery("satu", "dua", progress=done))

    assert outcome == Published(root.id, f"https://x.com/humaslapas/status/{root.id}")
    assert [p.text for p in fake.posts] == ["satu", "dua"]
    assert fake.posts[1].in_reply_to == root.id


def test_a_refused_reply_fails_the_post_but_keeps_the_published_part(fake: FakeX) -> None:
    fake.replies_allowed = False  # the 2026 self-serve rule: replies need a "summons"
    delivery = make_delivery("satu", "dua")

    outcome = make_channel(fake.url).publish(delivery)

    [root] = fake.posts
    assert isinstance(outcome, Rejected) and "not allowed" in outcome.reason
    assert [(p.index, p.remote_id) for p in delivery.progress] == [(0, root.id)]


def test_an_image_goes_through_v2_upload_with_alt_text(fake: FakeX, photo: Path) -> None:
    delivery = make_delivery("Foto rakor", media=[Media(str(photo), alt="Kalapas berpidato")])

    outcome = make_channel(fake.url).publish(delivery)

    assert isinstance(outcome, Published)
    [upload] = fake.calls("POST", "/2/media/upload")
    fields = parse_form_data(upload.header("Content-Type") or "", upload.body)
    assert fields["media_category"].text == "tweet_image"
    [(media_id, media)] = fake.media.items()
    assert media["alt_text"] == "Kalapas berpidato"
    assert fake.calls("POST", "/2/tweets")[0].json() == {
        "text": "Foto rakor", "media": {"media_ids": [media_id]}}


def test_a_duplicate_of_an_old_post_is_rejected(fake: FakeX) -> None:
    fake.add_post("sama persis", created_at=datetime.now(UTC) - timedelta(days=3))

    outcome = make_channel(fake.url).publish(make_delivery("sama persis"))

    assert isinstance(outcome, Rejected) and "duplicate content" in outcome.reason


def test_text_over_280_weighted_characters_is_rejected(fake: FakeX) -> None:
    outcome = make_channel(fake.url).publish(make_delivery("…" * 141))

    assert isinstance(outcome, Rejected) and outcome.http_status == 403


# --- failures --------------------------------------------------------------------------


def test_a_duplicate_answer_after_a_doubtful_attempt_finds_the_applied_post(
        fake: FakeX) -> None:
    channel = make_channel(fake.url)
    delivery = make_delivery("mungkin terkirim & https://lapas.example/rakor")
    fake.fail_next(delay=1.0, apply=True, path="/2/tweets")
    assert isinstance(channel.publish(delivery), InDoubt)

    outcome = channel.publish(delivery)  # X answers 403 duplicate content

    [post] = fake.posts
    assert outcome == Published(post.id, f"https://x.com/humaslapas/status/{post.id}")


# --- probe -----------------------------------------------------------------------------


def test_probe_finds_an_applied_post_among_the_users_recent_posts(fake: FakeX) -> None:
    channel = make_channel(fake.url)
    delivery = make_delivery("Rilis #Humas https://lapas.example/rakor")
    fake.fail_next(delay=1.0, apply=True, path="/2/tweets")
    assert isinstance(channel.publish(delivery), InDoubt)

    outcome = channel.probe(delivery)

    [post] = fake.posts
    assert outcome == Published(post.id, f"https://x.com/humaslapas/status/{post.id}")
    [listing] = fake.calls("GET", f"/2/users/{fake.user_id}/tweets")
    assert "start_time" in listing.query


def test_probe_right_after_sending_gives_no_verdict_on_absence(fake: FakeX) -> None:
    delivery = make_delivery("baru saja")
    delivery.state["x_first_sent"] = {"0": datetime.now(UTC).isoformat()}

    assert make_channel(fake.url).probe(delivery) is None


@given(st.text(alphabet=st.sampled_from("ab &<>#é😀 \n"), min_size=1, max_size=40),
       st.booleans())
def test_posts_are_recognised_in_xs_rendering(text: str, with_media: bool) -> None:
    rendered = (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                + (" https://t.co/abc123" if with_media else ""))

    assert comparable_text(rendered) == comparable_text(text)


# --- check and dry run -----------------------------------------------------------------


def test_check_names_the_authenticated_user(fake: FakeX) -> None:
    result = make_channel(fake.url).check()

    assert result.ok and result.identity == "@humaslapas"


def test_check_with_bad_keys_fails_without_showing_them(fake: FakeX) -> None:
    result = make_channel(fake.url, api_key="bogus-consumer-key").check()

    assert not result.ok and "401" in result.detail
    assert not leaks_a_secret(result.detail)


def test_dry_run_describes_uploads_and_posts_without_secrets(photo: Path) -> None:
    planned = make_channel("https://api.x.com").dry_run_requests(
        make_delivery("satu", "dua", media=[Media(str(photo), alt="alt")]))

    assert [r["url"] for r in planned] == [
        "https://api.x.com/2/media/upload", "https://api.x.com/2/media/metadata",
        "https://api.x.com/2/tweets", "https://api.x.com/2/tweets"]
    assert planned[3]["json"]["reply"] == {"in_reply_to_tweet_id": "<id of part 1>"}
    assert not leaks_a_secret(json.dumps(planned))


def test_dry_run_needs_no_secrets() -> None:
    channel = XChannel(AccountConfig(name="x", network="x"), {})

    assert channel.dry_run_requests(make_delivery("halo"))[0]["json"] == {"text": "halo"}
