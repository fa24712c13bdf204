"""Slack through an incoming webhook: ``POST https://hooks.slack.com/services/T…/B…/…``.

The webhook URL is the credential, kept as the secret ``webhook_url``
(``SIAR_SECRET_<ACCOUNT>_WEBHOOK_URL``); the account's ``base_url`` only replaces its
host, e.g. to point at a test server. Each part becomes one message ``{text, blocks,
unfurl_links}``: ``text`` is the notification fallback, ``blocks`` the same text in
``section`` blocks (≤ 3000 characters each) plus an ``image`` block with ``alt_text``
for every image that has a public URL (incoming webhooks cannot upload files).

Slack answers a plain-text ``ok``. Errors are plain strings too (Slack changelog
2016-05-17, "Improving error conditions for Incoming Webhooks"): 400
``invalid_payload``/``user_not_found``, 403 ``action_prohibited``, 404
``channel_not_found``, 410 ``channel_is_archived``, 500 ``rollup_error``; a revoked or
disabled webhook answers 403 ``invalid_token`` or 404 ``no_service``; 429 carries
``Retry-After``. Incoming webhooks return no message id, so there is nothing to probe.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from channels.base import (
    AccountConfig,
    AuthFailed,
    CheckResult,
    Delivery,
    NotSent,
    Outcome,
    Published,
    Rejected,
)
from channels.http import (
    HttpChannel,
    answered,
    classify_status,
    rate_limit_wait,
    redact,
    request,
)
from channels.i18n import _
from channels.rules import PostRules

if TYPE_CHECKING:  # imported on first use: composing reads only the rules
    import requests

SECTION_LIMIT = 3000
BLOCK_LIMIT = 50
#: answers that mean the webhook itself no longer works: a person must make a new one
REVOKED = {"invalid_token", "no_service", "no_team", "team_disabled"}


def sections(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` characters, at line breaks if possible."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip("\n ")
    if text:
        pieces.append(text)
    return pieces


class SlackChannel(HttpChannel):
    network = "slack"
    display_name = "Slack"
    accent_colour = "#4a154b"
    post_rules = PostRules(limit=4000)
    dialect = "mrkdwn"
    docs = "docs/channels/slack.md"
    secret_fields = ("webhook_url",)
    default_base_url = "https://hooks.slack.com"

    def __init__(self, account: AccountConfig, secrets: Mapping[str, str]) -> None:
        super().__init__(account, secrets)



    @property
    def webhook_endpoint(self) -> str:
        path = urlsplit(self.secrets["webhook_url"]).path
        if not path.startswith("/services/"):
            raise ValueError(_("webhook_url must look like https://hooks.slack.com/services/T/B/X"))
        return self.base_url + path

    @property
    def _secret_values(self) -> list[str]:
        # transport errors quote only the path, which holds the token
        url = self.secrets.get("webhook_url", "")
        return [*self.secrets.values(), urlsplit(url).path.rsplit("/", 1)[-1]]

    # --- publishing ------------------------------------------------------------------

    def publish(self, delivery: Delivery) -> Outcome:
        channel_url = self.account.options.get("channel_url")
        for index in range(len(delivery.variant.parts)):
            if delivery.done_part(index):
                continue
            payload = self.payload(delivery, index)
            answer = request(self.session, "POST", self.webhook_endpoint, json=payload,
                             timeout=self.timeouts, secrets=self._secret_values, create=True)
            if not answered(answer):
                return answer
            failure = self._failure(answer)
            if failure is not None:
                return failure
            # Incoming webhooks return no message id: ours is derived from the post.
            delivery.part_published(index, self.derive_key(delivery.publish_key, "slack", index),
                                    channel_url)
        first = delivery.done_part(0)
        if first is None:
            return Rejected(_("nothing to send: the variant has no parts"))
        return Published(first.remote_id, first.url)

    def payload(self, delivery: Delivery, index: int) -> dict[str, Any]:
        """The JSON body for part ``index``; images go with the first part.

        The composer already wrote Slack mrkdwn (escaped ``& < >``, ``<url|label>``
        links), so the text is sent as composed: escaping it again would break links.
        """
        text = delivery.variant.parts[index]
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": piece}}
            for piece in sections(text)]
        if index == 0:
            blocks += [{"type": "image", "image_url": m.url, "alt_text": m.alt or " "}
                       for m in delivery.variant.media if m.url]
        return {"text": text, "blocks": blocks[:BLOCK_LIMIT],
                "unfurl_links": bool(self.account.options.get("unfurl_links", True)),
                "unfurl_media": True}

    def _failure(self, answer: requests.Response) -> Outcome | None:
        if answer.status_code < 400:
            return None
        code = redact(answer.text.strip()[:200], self._secret_values)
        if code in REVOKED or answer.status_code == 401:
            return AuthFailed(_("Slack refused the webhook ({code}): create a new incoming "
                                "webhook and update the secret webhook_url").format(code=code),
                              http_status=answer.status_code)
        if answer.status_code == 429:
            return NotSent(_("rate limited by Slack: {code}").format(code=code), rate_limited=True,
                           retry_after=rate_limit_wait(answer.headers),
                           http_status=429)
        if answer.status_code in (400, 403, 404, 410):
            return Rejected(_("Slack refused the message ({status} {code})").format(
                status=answer.status_code, code=code), http_status=answer.status_code)
        return classify_status(answer, secrets=self._secret_values)

    # --- the rest of the interface ---------------------------------------------------

    def check(self) -> CheckResult:
        # Any POST to an incoming webhook posts; only the URL's shape can be checked.
        try:
            self.webhook_endpoint  # noqa: B018 - raises for a malformed URL
        except (KeyError, ValueError) as exc:
            return CheckResult(ok=False, detail=f"webhook_url: {exc}")
        return CheckResult(ok=True, detail=_("webhook URL well-formed; Slack offers no check of "
                                             "incoming webhooks without posting"))

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        url = self.base_url + "/services/<team>/<bot>/<token>"
        return [{"method": "POST", "url": url, "part": index,
                 "headers": {"Content-Type": "application/json"},
                 "json": self.payload(delivery, index)}
                for index in range(len(delivery.variant.parts))]

