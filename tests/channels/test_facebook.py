"""Facebook Page adapter against a strict fake Graph host, and the Graph error rules
(channels/meta.py) that Facebook, Instagram and Threads share."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st

from channels.base import AccountConfig, AuthFailed, InDoubt, NotSent, Published, Rejected
from channels.facebook import FacebookChannel
from channels.meta import DEFAULT_RATE_LIMIT_WAIT, RATE_LIMIT_CODES, classify, usage_wait_seconds
from channels.variant import Media
from tests.channels.helpers import assert_no_secret, make_delivery
from tests.fakes.facebook import FacebookFake
from tests.fakes.meta import (
    business_usage_header,
    expired_token_fault,
    rate_limit_fault,
    server_error_fault,
    spam_block_fault,
)

TOKEN = "EAAPageToken123"
SECRETS = {"access_token": TOKEN}
TEXT = "Rakor Agen Informasi Pemasyarakatan #HumasBergerakBersama"


@pytest.fixture(scope="module")
def server() -> Iterator[FacebookFake]:
    with FacebookFake(token=TOKEN) as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def fake(server: FacebookFake) -> FacebookFake:
    server.reset()
    return server


def channel_for(url: str, **options: object) -> FacebookChannel:
    account = AccountConfig(name="fb-lapas", network="facebook", base_url=url,
                            options={"page_id": "104857600123", "read_timeout": 0.5,
                                     **options})
    return FacebookChannel(account, SECRETS)


@pytest.fixture
def channel(fake: FacebookFake) -> Iterator[FacebookChannel]:
    adapter = channel_for(fake.url)
    yield adapter
    adapter.close()


# --- publishing ------------------------------------------------------------------------


def test_plain_post_goes_to_the_page_feed_with_the_token_in_a_header(fake, channel):
    delivery = make_delivery(TEXT, channel="facebook")

    outcome = channel.publish(delivery)

    [sent] = fake.calls("POST")
    assert sent.path == "/v26.0/104857600123/feed"
    assert sent.form() == {"message": [TEXT]}
    assert sent.header("Authorization") == f"Bearer {TOKEN}"
    assert TOKEN not in sent.path and not sent.query
    post = fake.posts[0]
    assert outcome == Published(post.id, f"https://www.facebook.com/{post.id}")
    assert [p.remote_id for p in delivery.reported["parts"]] == [post.id]


def test_link_is_sent_as_the_link_field_so_facebook_builds_the_card(fake, channel):
    link = "https://lapaspangkalpinang.kemenkumham.go.id/berita/rakor"
    channel.publish(make_delivery(TEXT, channel="facebook", link=link))

    assert fake.posts[0].link == link


def test_several_parts_become_one_message_because_pages_have_no_threads(fake, channel):
    channel.publish(make_delivery(["Bagian satu.", "Bagian dua."], channel="facebook"))

    assert fake.posts[0].message == "Bagian satu.\n\nBagian dua."


def test_graph_version_in_the_path_is_configurable():
    with FacebookFake(token=TOKEN, version="v27.0") as newer:
        adapter = channel_for(newer.url, graph_version="v27.0")
        assert isinstance(adapter.publish(make_delivery(TEXT)), Published)
        assert newer.calls("POST")[0].path == "/v27.0/104857600123/feed"


def test_one_photo_is_posted_through_photos_with_its_alt_text(fake, channel, photo_jpeg):
    media = [Media(path=str(photo_jpeg), alt="Kalapas membuka rakor")]
    outcome = channel.publish(make_delivery(TEXT, channel="facebook", media=media))

    [sent] = fake.calls("POST")
    assert sent.path == "/v26.0/104857600123/photos"
    assert sent.header("Content-Type").startswith("multipart/form-data")
    [photo] = fake.photos.values()
    assert photo.alt == "Kalapas membuka rakor" and photo.published
    assert photo.data[:2] == b"\xff\xd8"
    assert outcome == Published(fake.posts[0].id, f"https://www.facebook.com/{fake.posts[0].id}")
    assert fake.posts[0].message == TEXT


def test_several_photos_are_uploaded_unpublished_then_attached_to_one_feed_post(
        fake, channel, photo_jpeg, png_with_alpha):
    media = [Media(path=str(photo_jpeg), alt="Foto satu"),
             Media(path=str(png_with_alpha), alt="Logo")]
    delivery = make_delivery(TEXT, channel="facebook", media=media)

    outcome = channel.publish(delivery)

    uploads = fake.calls("POST", r".*/photos")
    assert len(uploads) == 2
    assert all(not p.published for p in fake.photos.values())
    assert [p.alt for p in fake.photos.values()] == ["Foto satu", "Logo"]
    [feed] = fake.calls("POST", r".*/feed")
    assert json.loads(feed.form()["attached_media[1]"][0]) == {
        "media_fbid": list(fake.photos)[1]}
    [post] = fake.posts
    assert post.photos == list(fake.photos) and isinstance(outcome, Published)
    assert delivery.state["photo_ids"] == list(fake.photos)


def test_photos_uploaded_by_an_earlier_attempt_are_not_uploaded_again(
        fake, channel, photo_jpeg):
    media = [Media(path=str(photo_jpeg), alt="a"), Media(path=str(photo_jpeg), alt="b")]
    first = make_delivery(TEXT, channel="facebook", media=media)
    fake.fail_next(rate_limit_fault(path=r".*/feed"))
    assert isinstance(channel.publish(first), NotSent)

    retry = make_delivery(TEXT, channel="facebook", media=media, state=first.state)
    assert isinstance(channel.publish(retry), Published)

    assert len(fake.calls("POST", r".*/photos")) == 2
    assert fake.posts[0].photos == first.state["photo_ids"]


def test_a_post_already_published_by_an_earlier_attempt_is_not_sent_again(fake, channel):
    delivery = make_delivery(TEXT, channel="facebook")
    channel.publish(delivery)
    again = make_delivery(TEXT, channel="facebook", progress=delivery.progress)

    assert channel.publish(again) == Published(delivery.progress[0].remote_id,
                                               delivery.progress[0].url)
    assert len(fake.posts) == 1


def test_an_image_that_cannot_be_read_is_rejected_before_anything_is_sent(
        fake, channel, tmp_path: Path):
    broken = tmp_path / "rusak.jpg"
    broken.write_bytes(b"not a jpeg")
    outcome = channel.publish(make_delivery(TEXT, media=[Media(path=str(broken))]))

    assert isinstance(outcome, Rejected) and "rusak.jpg" in outcome.reason
    assert fake.calls() == []


# --- error mapping ---------------------------------------------------------------------


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001])
def test_throttling_codes_mean_not_sent_with_the_business_use_case_wait(fake, channel, code):
    fake.fail_next(rate_limit_fault(code=code, minutes=7))

    outcome = channel.publish(make_delivery(TEXT))

    assert isinstance(outcome, NotSent) and outcome.rate_limited
    assert outcome.retry_after == 7 * 60
    assert fake.posts == []


def test_expired_token_means_auth_failed(fake, channel):
    fake.fail_next(expired_token_fault())
    outcome = channel.publish(make_delivery(TEXT))
    assert isinstance(outcome, AuthFailed) and "190/463" in outcome.reason


def test_spam_block_is_rejected_for_good(fake, channel):
    fake.fail_next(spam_block_fault())
    outcome = channel.publish(make_delivery(TEXT))
    assert isinstance(outcome, Rejected) and "spam" in outcome.reason


def test_a_validation_error_is_rejected(fake, channel):
    outcome = channel.publish(make_delivery("x" * 63_207))
    assert isinstance(outcome, Rejected) and "too long" in outcome.reason


def test_server_error_on_the_create_is_in_doubt(fake, channel):
    fake.fail_next(server_error_fault())
    assert isinstance(channel.publish(make_delivery(TEXT)), InDoubt)


# --- probe -----------------------------------------------------------------------------


def test_probe_cannot_tell_when_the_page_cannot_be_read(fake, channel):
    fake.fail_next(server_error_fault())
    assert channel.probe(make_delivery(TEXT, due_at=datetime.now(UTC))) is None


# --- check and secrets -----------------------------------------------------------------


def test_check_names_the_page_and_the_token_expiry(fake, channel):
    result = channel.check()
    assert result.ok and result.identity == "Lapas Pangkalpinang"
    assert result.expires_at == datetime.fromtimestamp(fake.token_expires_at, UTC)


def test_check_with_an_expired_token_fails(fake, channel):
    fake.fail_next(expired_token_fault())
    result = channel.check()
    assert not result.ok and "expired" in result.detail


def test_no_secret_appears_in_outcomes_or_dry_run(fake, channel, photo_jpeg):
    fake.fail_next(status=400, body={"error": {"message": f"bad token {TOKEN}", "code": 100}})
    outcome = channel.publish(make_delivery(TEXT))
    assert isinstance(outcome, Rejected)
    media = [Media(path=str(photo_jpeg), alt="a"), Media(path=str(photo_jpeg), alt="b")]
    dry = FacebookChannel(AccountConfig(name="fb", network="facebook",
                                        options={"page_id": "1"}), {})
    requests_ = dry.dry_run_requests(make_delivery(TEXT, media=media))
    assert_no_secret([outcome, requests_, channel.check()], SECRETS)
    assert [r["url"].rsplit("/", 1)[1] for r in requests_] == ["photos", "photos", "feed"]
    assert requests_[0]["url"].startswith("https://graph.facebook.com/v26.0/1/")


# --- the shared Graph error rules (channels/meta.py) -----------------------------------


def graph_response(status: int, body: object, headers: dict[str, str] | None = None,
                   method: str = "POST") -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers.update(headers or {})
    response.request = requests.Request(method, "https://graph.facebook.com/x").prepare()
    return response


@given(code=st.sampled_from(sorted(RATE_LIMIT_CODES)), minutes=st.integers(1, 1440),
       status=st.sampled_from([400, 403, 429]))
def test_every_throttling_code_waits_for_the_longest_estimated_regain_time(
        code, minutes, status):
    headers = business_usage_header(minutes)
    outcome = classify(graph_response(status, {"error": {"code": code, "message": "m"}},
                                      headers))
    assert isinstance(outcome, NotSent) and outcome.rate_limited
    assert outcome.retry_after == minutes * 60


@given(code=st.sampled_from(sorted(RATE_LIMIT_CODES)))
def test_throttling_without_an_estimate_waits_a_conservative_default(code):
    outcome = classify(graph_response(400, {"error": {"code": code, "message": "m"}}))
    assert isinstance(outcome, NotSent) and outcome.retry_after == DEFAULT_RATE_LIMIT_WAIT


@given(creating=st.booleans(), code=st.sampled_from([1, 2]))
def test_transient_errors_are_in_doubt_on_a_create_and_not_sent_on_a_read(creating, code):
    outcome = classify(graph_response(500, {"error": {"code": code, "message": "m",
                                                      "is_transient": True}}),
                       creating=creating)
    assert isinstance(outcome, InDoubt if creating else NotSent)


def test_a_bare_429_uses_the_business_use_case_wait():
    outcome = classify(graph_response(429, "", business_usage_header(3)))
    assert isinstance(outcome, NotSent) and outcome.retry_after == 180


def test_success_is_no_outcome():
    assert classify(graph_response(200, {"id": "1"})) is None


@given(st.dictionaries(st.text(min_size=1, max_size=8),
                       st.lists(st.integers(0, 600), min_size=1, max_size=3),
                       min_size=1, max_size=3))
def test_the_longest_estimate_across_businesses_and_entries_wins(usage):
    header = {"X-Business-Use-Case-Usage": json.dumps(
        {business: [{"type": "pages", "estimated_time_to_regain_access": m} for m in minutes]
         for business, minutes in usage.items()})}
    longest = max(m for minutes in usage.values() for m in minutes)
    assert usage_wait_seconds(header) == (longest * 60 if longest else None)
