"""The Slack adapter against a fake incoming webhook."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.base import (
    AccountConfig,
    AuthFailed,
    NotSent,
    PartResult,
    Published,
    Rejected,
)
from channels.slack import SlackChannel, sections
from channels.variant import Media
from tests.channels.helpers import assert_no_secret, make_delivery
from tests.fakes.slack import BOT, TEAM, FakeSlack

TOKEN = "xoxwh-S3cr3tT0kenValue42"
TEXT = "Lapas Kelas I & Bapas: pelatihan kerja <gratis>. #HumasBergerakBersama"
CHANNEL_URL = "https://humas.slack.com/archives/C0HUMAS"


@pytest.fixture(scope="module")
def running_slack() -> Iterator[FakeSlack]:
    with FakeSlack(TOKEN) as fake:
        yield fake  # type: ignore[misc]


@pytest.fixture
def slack(running_slack: FakeSlack) -> FakeSlack:
    running_slack.reset()
    return running_slack


def channel_for(fake: FakeSlack, *, token: str = TOKEN, base_url: str | None = None,
                **options: object) -> SlackChannel:
    account = AccountConfig(name="slack-humas", network="slack", base_url=base_url or fake.url,
                            options={"read_timeout": 0.5, "connect_timeout": 0.5,
                                     "channel_url": CHANNEL_URL, **options})
    return SlackChannel(account, {
        "webhook_url": f"https://hooks.slack.com/services/{TEAM}/{BOT}/{token}"})


def test_a_plain_post_sends_the_composed_mrkdwn_unchanged(slack: FakeSlack) -> None:
    # The composer writes Slack mrkdwn (escaped & < >, <url|label> links); escaping it
    # again here would turn the link into visible "&lt;https://…&gt;" text.
    composed = ("Lapas Kelas I &amp; Bapas: <https://lapas.example.go.id/kerja|pelatihan "
                "kerja> &lt;gratis&gt;. #HumasBergerakBersama")
    delivery = make_delivery(composed)
    outcome = channel_for(slack).publish(delivery)

    (sent,) = slack.calls("POST")
    assert sent.path == f"/services/{TEAM}/{BOT}/{TOKEN}"
    assert sent.json() == {
        "text": composed,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": composed}}],
        "unfurl_links": True, "unfurl_media": True}
    remote_id = SlackChannel.derive_key(delivery.publish_key, "slack", 0)
    assert outcome == Published(remote_id, CHANNEL_URL)


def test_unfurling_can_be_switched_off(slack: FakeSlack) -> None:
    channel_for(slack, unfurl_links=False).publish(make_delivery(TEXT))
    assert slack.messages[0]["unfurl_links"] is False


def test_a_thread_is_one_message_per_part_in_order(slack: FakeSlack) -> None:
    delivery = make_delivery(["satu", "dua", "tiga"])
    channel_for(slack).publish(delivery)
    assert [m["text"] for m in slack.messages] == ["satu", "dua", "tiga"]
    assert [p.index for p in delivery.progress] == [0, 1, 2]


def test_resuming_does_not_resend_done_parts(slack: FakeSlack) -> None:
    done = PartResult(index=0, remote_id="r0", url=CHANNEL_URL)
    outcome = channel_for(slack).publish(make_delivery(["satu", "dua"], progress=[done]))
    assert [m["text"] for m in slack.messages] == ["dua"]
    assert outcome == Published("r0", CHANNEL_URL)


def test_an_image_with_a_public_url_becomes_an_image_block_with_alt_text(
        slack: FakeSlack) -> None:
    media = [Media(path="/srv/foto.jpg", alt="Warga binaan menjahit",
                   url="https://lapas.example.go.id/wp-content/uploads/foto.jpg"),
             Media(path="/srv/lokal.jpg", alt="tanpa URL publik")]
    channel_for(slack).publish(make_delivery(["satu", "dua"], media=media))
    assert slack.messages[0]["blocks"][-1] == {
        "type": "image", "image_url": "https://lapas.example.go.id/wp-content/uploads/foto.jpg",
        "alt_text": "Warga binaan menjahit"}
    assert len(slack.messages[0]["blocks"]) == 2
    assert all(b["type"] == "section" for b in slack.messages[1]["blocks"])


def test_a_long_release_is_split_into_sections_the_fake_accepts(slack: FakeSlack) -> None:
    paragraph = "Kalimat siaran pers yang cukup panjang untuk diuji. " * 20
    text = "\n".join([paragraph] * 8)
    outcome = channel_for(slack).publish(make_delivery(text))
    assert isinstance(outcome, Published)
    assert len(slack.messages[0]["blocks"]) > 1


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=9000))
def test_sections_keep_every_word_and_respect_the_limit(text: str) -> None:
    pieces = sections(text)
    assert all(1 <= len(p) <= 3000 for p in pieces)
    assert "".join(pieces).replace(" ", "").replace("\n", "") == \
        text.strip("\n ").replace(" ", "").replace("\n", "")



def test_429_is_not_sent_with_retry_after(slack: FakeSlack) -> None:
    slack.rate_limit_next(30)
    outcome = channel_for(slack).publish(make_delivery(TEXT))
    assert outcome == NotSent("rate limited by Slack: rate_limited", retry_after=30.0,
                              rate_limited=True, http_status=429)


def test_a_revoked_webhook_is_an_auth_failure(slack: FakeSlack) -> None:
    outcome = channel_for(slack, token="xoxwh-revoked-000").publish(make_delivery(TEXT))
    assert isinstance(outcome, AuthFailed) and "no_service" in outcome.reason


def test_an_archived_channel_is_rejected(slack: FakeSlack) -> None:
    slack.archived = True
    outcome = channel_for(slack).publish(make_delivery(TEXT))
    assert outcome == Rejected("Slack refused the message (410 channel_is_archived)",
                               http_status=410)


def test_an_invalid_payload_is_rejected(slack: FakeSlack) -> None:
    slack.fail_next(status=400, body="invalid_payload")
    assert isinstance(channel_for(slack).publish(make_delivery(TEXT)), Rejected)


def test_check_validates_the_url_without_posting(slack: FakeSlack) -> None:
    assert channel_for(slack).check().ok
    broken = SlackChannel(AccountConfig(name="s", network="slack"),
                          {"webhook_url": "https://example.com/not-a-webhook"})
    assert not broken.check().ok
    assert slack.requests == []


def test_the_token_appears_in_no_outcome_and_no_dry_run(slack: FakeSlack) -> None:
    slack.fail_next(status=500, body=f"echo {TOKEN}")
    assert_no_secret(channel_for(slack).publish(make_delivery(TEXT)), [TOKEN])
    dry = SlackChannel(AccountConfig(name="s", network="slack"), {}).dry_run_requests(
        make_delivery(["satu", "dua"]))
    assert dry[0]["url"] == "https://hooks.slack.com/services/<team>/<bot>/<token>"
    assert [d["json"]["text"] for d in dry] == ["satu", "dua"]
