"""LinkedIn adapter against a strict fake of the versioned Posts and Images APIs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.base import AccountConfig, AuthFailed, InDoubt, NotSent, Published, Rejected
from channels.linkedin import DEFAULT_VERSION, LinkedInChannel, seconds_until_daily_reset
from channels.variant import Media
from tests.channels.helpers import assert_no_secret, make_delivery
from tests.fakes.linkedin import LinkedInFake
from tests.fakes.server import Fault

TOKEN = "AQVlinkedintoken123"
SECRETS = {"access_token": TOKEN}
AUTHOR = "urn:li:organization:2414183"
# as the composer escapes it: reserved characters carry a backslash, hashtags stay
TEXT = r"Rakor Agen Informasi \(24/9\) di Jakarta - Humas \_Lapas\_ #HumasBergerakBersama"


@pytest.fixture(scope="module")
def server() -> Iterator[LinkedInFake]:
    with LinkedInFake(token=TOKEN, author=AUTHOR) as running:
        yield running  # type: ignore[misc]


@pytest.fixture
def fake(server: LinkedInFake) -> LinkedInFake:
    server.reset()
    return server


def channel_for(url: str, **options: object) -> LinkedInChannel:
    account = AccountConfig(name="li-lapas", network="linkedin", base_url=url,
                            options={"author": AUTHOR, "read_timeout": 0.5, **options})
    return LinkedInChannel(account, SECRETS)


@pytest.fixture
def channel(fake: LinkedInFake) -> Iterator[LinkedInChannel]:
    adapter = channel_for(fake.url)
    yield adapter
    adapter.close()


def post(text: str = TEXT, **kw: object):
    return make_delivery(text, channel="linkedin", **kw)


# --- publishing ------------------------------------------------------------------------


def test_a_post_is_created_with_the_version_headers_and_its_urn_comes_from_x_restli_id(
        fake, channel):
    delivery = post()

    outcome = channel.publish(delivery)

    [create] = fake.calls("POST", "/rest/posts")
    assert create.header("Linkedin-Version") == DEFAULT_VERSION
    assert create.header("X-Restli-Protocol-Version") == "2.0.0"
    assert create.header("Authorization") == f"Bearer {TOKEN}"
    assert create.json() == {
        "author": AUTHOR, "commentary": TEXT, "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                         "thirdPartyDistributionChannels": []},
        "lifecycleState": "PUBLISHED", "isReshareDisabledByAuthor": False}
    [created] = fake.posts
    assert outcome == Published(created.urn,
                                f"https://www.linkedin.com/feed/update/{created.urn}/")


def test_the_escaped_commentary_is_sent_verbatim_so_linkedin_keeps_all_of_it(fake, channel):
    channel.publish(post())
    assert fake.posts[0].commentary == TEXT


def test_the_fake_truncates_unescaped_reserved_characters_like_linkedin(fake, channel):
    outcome = channel.publish(post("Rakor (24/9) di Jakarta"))
    assert isinstance(outcome, Published)  # LinkedIn reports success…
    assert fake.posts[0].commentary == "Rakor "  # …and keeps only this


def test_the_api_version_is_an_account_option(fake):
    channel_for(fake.url, linkedin_version="202605").publish(post())
    assert fake.calls("POST")[0].header("Linkedin-Version") == "202605"


def test_a_retired_api_version_is_rejected(fake):
    outcome = channel_for(fake.url, linkedin_version="202301").publish(post())
    assert isinstance(outcome, Rejected) and "NONEXISTENT_VERSION" in outcome.reason


def test_organization_id_makes_the_author_urn(fake):
    account = AccountConfig(name="li", network="linkedin", base_url=fake.url,
                            options={"organization_id": "2414183"})
    assert isinstance(LinkedInChannel(account, SECRETS).publish(post()), Published)


def test_an_image_is_uploaded_through_the_images_api_with_its_alt_text(
        fake, channel, photo_jpeg):
    delivery = post(media=[Media(path=str(photo_jpeg), alt="Kalapas membuka rakor")])

    channel.publish(delivery)

    [init] = fake.calls("POST", "/rest/images")
    assert init.query["action"] == ["initializeUpload"]
    assert init.json() == {"initializeUploadRequest": {"owner": AUTHOR}}
    [put] = fake.calls("PUT")
    image_id = put.path.rsplit("/", 1)[1]
    assert fake.images[image_id][:2] == b"\xff\xd8"
    assert fake.posts[0].content == {"media": {"id": f"urn:li:image:{image_id}",
                                               "altText": "Kalapas membuka rakor"}}


def test_several_images_become_a_multi_image_post(fake, channel, photo_jpeg, png_with_alpha):
    media = [Media(path=str(photo_jpeg), alt="Satu"), Media(path=str(png_with_alpha), alt="Dua")]
    delivery = post(media=media)

    channel.publish(delivery)

    images = fake.posts[0].content["multiImage"]["images"]
    assert [i["altText"] for i in images] == ["Satu", "Dua"]
    assert [i["id"] for i in images] == [i["id"] for i in delivery.state["images"]]


def test_images_uploaded_by_an_earlier_attempt_are_not_uploaded_again(
        fake, channel, photo_jpeg):
    first = post(media=[Media(path=str(photo_jpeg), alt="a")])
    fake.fail_next(status=429, body={"status": 429, "message": "throttled"},
                   path="/rest/posts")
    assert isinstance(channel.publish(first), NotSent)

    channel.publish(post(media=[Media(path=str(photo_jpeg), alt="a")], state=first.state))

    assert len(fake.calls("PUT")) == 1 and len(fake.posts) == 1


def test_a_link_without_images_becomes_an_article_card(fake, channel):
    channel.publish(post(link="https://lapas.example.go.id/rakor", title="Rakor Humas"))
    assert fake.posts[0].content == {"article": {"source": "https://lapas.example.go.id/rakor",
                                                 "title": "Rakor Humas"}}


def test_several_parts_become_one_post_because_linkedin_has_no_threads(fake, channel):
    channel.publish(post(["Bagian satu.", "Bagian dua."]))
    assert fake.posts[0].commentary == "Bagian satu.\n\nBagian dua."


# --- error mapping ---------------------------------------------------------------------


def test_a_bare_429_waits_until_the_daily_reset_at_midnight_utc(fake, channel):
    fake.fail_next(status=429, body={"status": 429, "message": "Resource level throttle"})
    before = seconds_until_daily_reset()
    outcome = channel.publish(post())
    assert isinstance(outcome, NotSent) and outcome.rate_limited
    assert before - 5 <= outcome.retry_after <= before


def test_the_429_wait_can_be_configured(fake):
    fake.fail_next(status=429, body="")
    outcome = channel_for(fake.url, rate_limit_wait=900).publish(post())
    assert isinstance(outcome, NotSent) and outcome.retry_after == 900


@given(st.datetimes(timezones=st.just(UTC)))
def test_the_daily_reset_is_always_within_the_next_24_hours(now):
    wait = seconds_until_daily_reset(now)
    assert 0 < wait <= 86_400
    assert (now + timedelta(seconds=wait)).time() == datetime.min.time()


def test_an_invalid_token_is_auth_failed(fake):
    account = AccountConfig(name="li", network="linkedin", base_url=fake.url,
                            options={"author": AUTHOR})
    outcome = LinkedInChannel(account, {"access_token": "AQVexpired999"}).publish(post())
    assert isinstance(outcome, AuthFailed) and "INVALID_ACCESS_TOKEN" in outcome.reason
    assert_no_secret(outcome, ["AQVexpired999"])


def test_a_missing_permission_for_the_organization_is_auth_failed(fake):
    outcome = channel_for(fake.url, author="urn:li:organization:1").publish(post())
    assert isinstance(outcome, AuthFailed) and "ACCESS_DENIED" in outcome.reason


def test_a_server_error_while_uploading_an_image_is_not_sent(fake, channel, photo_jpeg):
    fake.fail_next(status=503, body="", path="/rest/images")
    outcome = channel.publish(post(media=[Media(path=str(photo_jpeg))]))
    assert isinstance(outcome, NotSent) and fake.posts == []


def test_a_duplicate_after_a_create_in_doubt_names_the_post_that_exists(fake, channel):
    delivery = post()
    fake.fail_next(Fault(apply=True, drop=True, path="/rest/posts"))
    assert isinstance(channel.publish(delivery), InDoubt)

    outcome = channel.publish(post())

    [created] = fake.posts
    assert outcome == Published(created.urn,
                                f"https://www.linkedin.com/feed/update/{created.urn}/")


# --- probe -----------------------------------------------------------------------------


def test_probe_finds_a_post_whose_answer_was_lost(fake, channel):
    delivery = post()
    fake.fail_next(Fault(apply=True, status=504, body="", path="/rest/posts"))
    assert isinstance(channel.publish(delivery), InDoubt)

    [created] = fake.posts
    assert channel.probe(delivery) == Published(
        created.urn, f"https://www.linkedin.com/feed/update/{created.urn}/")
    [lookup] = fake.calls("GET", "/rest/posts")
    assert lookup.query["q"] == ["author"] and lookup.query["author"] == [AUTHOR]


def test_probe_cannot_tell_without_the_scope_to_read_posts(fake, channel):
    fake.can_read_posts = False
    assert channel.probe(post()) is None


# --- check and secrets -----------------------------------------------------------------


def test_check_names_the_member_behind_the_token(fake, channel):
    result = channel.check()
    assert result.ok and result.identity == "Humas Lapas Pangkalpinang"


def test_check_with_a_bad_token_fails(fake):
    account = AccountConfig(name="li", network="linkedin", base_url=fake.url)
    assert not LinkedInChannel(account, {"access_token": "AQVbad0000"}).check().ok


def test_no_secret_appears_in_outcomes_or_dry_run(fake, channel, photo_jpeg):
    fake.fail_next(status=422, body={"message": f"token {TOKEN} rejected"})
    outcome = channel.publish(post())
    assert isinstance(outcome, Rejected)
    dry = LinkedInChannel(AccountConfig(name="li", network="linkedin"), {})
    requests_ = dry.dry_run_requests(post(media=[Media(path=str(photo_jpeg), alt="a")]))
    assert requests_[-1]["url"] == "https://api.linkedin.com/rest/posts"
    assert requests_[-1]["headers"]["Linkedin-Version"] == DEFAULT_VERSION
    assert_no_secret([outcome, requests_, channel.check()], SECRETS)


