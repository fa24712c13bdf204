"""Threads adapter against a strict fake of graph.threads.net."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from channels.base import AccountConfig, AuthFailed, InDoubt, NotSent, Published, Rejected
from channels.threads import ThreadsChannel, TokenRefresh
from channels.variant import Media
from tests.channels.helpers import assert_no_secret, make_delivery
from tests.fakes.meta import expired_token_fault, server_error_fault
from tests.fakes.photos import photo_url
from tests.fakes.threads import ThreadsFake, threads_length

TOKEN = "THAAtoken123"
SECRETS = {"access_token": TOKEN}
USER = "26072145678901234"
PARTS = ["Rakor Agen Informasi dan Publikasi Pemasyarakatan (1/3)",
         "Kalapas Hidayat hadir bersama Humas Lapas (2/3)",
         "Selengkapnya di laman kami. (3/3)"]
PHOTO = Media(path="/data/kegiatan.jpg", alt="Kalapas membuka rakor",
              url=photo_url("wp-content/uploads/kegiatan.jpg"))


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadsFake]:
    with ThreadsFake(token=TOKEN, user_id=USER) as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def fake(server: ThreadsFake) -> ThreadsFake:
    server.reset()
    server.token = TOKEN
    return server


def channel_for(url: str, **options: object) -> ThreadsChannel:
    account = AccountConfig(name="threads-lapas", network="threads", base_url=url,
                            options={"user_id": USER, "read_timeout": 0.5,
                                     "poll_interval": 0.01, "poll_timeout": 2, **options})
    return ThreadsChannel(account, SECRETS)


@pytest.fixture
def channel(fake: ThreadsFake) -> Iterator[ThreadsChannel]:
    adapter = channel_for(fake.url)
    yield adapter
    adapter.close()


def thread(parts=PARTS, **kw: object):
    return make_delivery(list(parts), channel="threads", **kw)


# --- publishing ------------------------------------------------------------------------


def test_a_text_post_is_a_container_then_threads_publish_on_the_versioned_host(
        fake, channel):
    outcome = channel.publish(thread(PARTS[:1]))

    create, publish = fake.calls("POST")
    assert create.path == f"/v1.0/{USER}/threads"
    # Threads documents the token as the access_token parameter, in the form body here
    assert create.form() == {"media_type": ["TEXT"], "text": [PARTS[0]],
                             "access_token": [TOKEN]}
    assert create.header("Authorization") is None
    container_id = next(iter(fake.containers))
    assert publish.path == f"/v1.0/{USER}/threads_publish"
    assert publish.form() == {"creation_id": [container_id], "access_token": [TOKEN]}
    [media] = fake.published
    assert outcome == Published(media.id, media.permalink)


def test_the_one_topic_tag_goes_with_the_first_part_only(fake, channel):
    channel.publish(thread(PARTS[:2], topic_tag="HumasBergerakBersama"))

    first, second = fake.published
    assert first.params["topic_tag"] == "HumasBergerakBersama"
    assert "topic_tag" not in second.params


def test_a_thread_is_published_in_order_each_part_replying_to_the_previous(fake, channel):
    delivery = thread()

    outcome = channel.publish(delivery)

    media = fake.published
    assert [m.text for m in media] == PARTS
    assert "reply_to_id" not in media[0].params
    assert [m.params["reply_to_id"] for m in media[1:]] == [media[0].id, media[1].id]
    assert [p.remote_id for p in delivery.reported["parts"]] == [m.id for m in media]
    assert outcome == Published(media[0].id, media[0].permalink)


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.text(alphabet="abcdefghij 🙂", min_size=1, max_size=40)
                      .filter(str.strip), min_size=1, max_size=4))
def test_any_thread_is_a_chain_of_replies_in_part_order(server, parts):
    server.reset()
    server.token = TOKEN
    channel_for(server.url).publish(thread(parts))

    media = server.published
    assert [m.text for m in media] == parts
    assert all(m.params.get("reply_to_id") == prev.id for prev, m in pairwise(media))


def test_a_partial_thread_resumes_without_resending_the_parts_already_published(
        fake, channel):
    first = thread()
    fake.replies_left = 0  # the first part goes out, its reply hits the reply quota
    outcome = channel.publish(first)
    assert isinstance(outcome, NotSent) and outcome.rate_limited
    assert [p.index for p in first.progress] == [0]

    fake.replies_left = None
    retry = thread(progress=first.progress, state=first.state)
    assert isinstance(channel.publish(retry), Published)

    media = fake.published
    assert [m.text for m in media] == PARTS
    assert media[1].params["reply_to_id"] == first.progress[0].remote_id


def test_an_image_post_carries_its_url_and_alt_text(fake, channel):
    channel.publish(thread(PARTS[:1], media=[PHOTO]))

    [media] = fake.published
    assert media.params["media_type"] == "IMAGE"
    assert media.params["image_url"] == PHOTO.url
    assert media.params["alt_text"] == PHOTO.alt


def test_several_images_become_a_carousel_on_the_first_part(fake, channel):
    second = replace(PHOTO, alt="Peserta", url=PHOTO.url.replace("kegiatan", "peserta"))
    delivery = thread(PARTS[:2], media=[PHOTO, second])

    channel.publish(delivery)

    first, reply = fake.published
    assert first.params["media_type"] == "CAROUSEL"
    assert first.children == delivery.state["children"]
    assert [fake.containers[c].params["alt_text"] for c in first.children] == [
        PHOTO.alt, "Peserta"]
    assert reply.params["media_type"] == "TEXT"


def test_an_image_without_a_public_url_is_refused_before_anything_is_sent(fake, channel):
    outcome = channel.publish(thread(media=[Media(path="/data/foto.jpg")]))
    assert isinstance(outcome, Rejected) and "public URL" in outcome.reason
    assert fake.calls() == []


def test_text_over_500_with_emoji_counted_as_utf8_bytes_is_rejected(fake, channel):
    text = "🙂" * 126  # 126 × 4 bytes = 504
    assert threads_length(text) == 504
    outcome = channel.publish(thread([text]))
    assert isinstance(outcome, Rejected) and "500" in outcome.reason


# --- error mapping ---------------------------------------------------------------------


def test_an_expired_token_means_auth_failed(fake, channel):
    fake.fail_next(expired_token_fault())
    assert isinstance(channel.publish(thread()), AuthFailed)


def test_a_server_error_on_threads_publish_is_in_doubt(fake, channel):
    fake.fail_next(server_error_fault(path=r".*/threads_publish"))
    assert isinstance(channel.publish(thread()), InDoubt)


def test_a_check_that_cannot_connect_redacts_the_token_in_its_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    adapter = channel_for(url)
    result = adapter.check()  # a GET: the token travels in its query string
    assert not result.ok and "access_token=***" in result.detail
    assert_no_secret(result, SECRETS)


# --- probe -----------------------------------------------------------------------------


def test_probe_records_a_part_published_in_doubt_and_lets_the_rest_of_the_thread_go(
        fake, channel):
    delivery = thread()
    fake.fail_next(replace(server_error_fault(path=r".*/threads_publish"), apply=True))
    assert isinstance(channel.publish(delivery), InDoubt)

    settled = channel.probe(delivery)

    [media] = fake.published
    assert isinstance(settled, NotSent) and "rest is safe" in settled.reason
    assert delivery.done_part(0).remote_id == media.id
    assert isinstance(channel.publish(thread(progress=delivery.progress,
                                             state=delivery.state)), Published)
    assert [m.text for m in fake.published] == PARTS


# --- token and check -------------------------------------------------------------------


def test_refresh_token_uses_th_refresh_token_and_switches_to_the_new_token(fake, channel):
    refreshed = channel.refresh_token()

    assert isinstance(refreshed, TokenRefresh)
    [call] = fake.calls("GET", "/refresh_access_token")
    assert call.query["grant_type"] == ["th_refresh_token"]
    assert refreshed.access_token == fake.refreshed_token
    assert refreshed.expires_at > datetime.now(UTC) + timedelta(days=59)
    assert fake.refreshed_token not in repr(refreshed)
    assert isinstance(channel.publish(thread(PARTS[:1])), Published)  # with the new token


def test_refresh_with_an_expired_token_is_auth_failed(fake, channel):
    fake.fail_next(expired_token_fault())
    assert isinstance(channel.refresh_token(), AuthFailed)


def test_check_reports_the_user_and_the_token_expiry(fake, channel):
    result = channel.check()
    assert result.ok and result.identity == "lapaspangkalpinang"
    assert result.expires_at == datetime.fromtimestamp(fake.token_expires_at, UTC)
    assert "refresh" not in result.detail


def test_check_urges_a_refresh_when_the_token_expires_within_a_week(fake, channel):
    fake.token_expires_at = int((datetime.now(UTC) + timedelta(days=3)).timestamp())
    result = channel.check()
    assert result.ok and "th_refresh_token" in result.detail


def test_no_secret_appears_in_outcomes_refresh_or_dry_run(fake, channel):
    fake.fail_next(status=400, body={"error": {"message": f"bad {TOKEN}", "code": 100}})
    outcome = channel.publish(thread())
    dry = ThreadsChannel(AccountConfig(name="t", network="threads"), {})
    requests_ = dry.dry_run_requests(thread(media=[PHOTO, PHOTO]))
    assert requests_[0]["url"] == "https://graph.threads.net/v1.0/me/threads"
    assert_no_secret([outcome, requests_, channel.check()], SECRETS)


