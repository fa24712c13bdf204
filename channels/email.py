"""E-mail: the release as one multipart message (plain text + HTML) over SMTP.

Options (account table): ``host``, ``port``, ``security`` (``starttls`` — the default,
port 587 —, ``tls`` for implicit TLS on 465, or ``none`` for a trusted local relay),
``from``, ``from_name``, ``to`` and ``bcc`` (an address or a list), ``reply_to``,
``domain`` (right-hand side of the Message-ID; default: the sender's domain) and
``ca_file`` (a CA bundle to trust, e.g. an office relay's own certificate). Secrets
``username`` and ``password`` (``SIAR_SECRET_<ACCOUNT>_USERNAME`` / ``_PASSWORD``) are
used when set; a relay that needs no login gets none.

The Message-ID is derived from the post's publish key, so every attempt of one post
carries the same id and mail clients can fold a rare duplicate. ``email.utils.make_msgid``
is not used because it adds the time, the pid and a random number.

What a failure means (RFC 5321 reply classes): a 4xx reply is transient → ``NotSent``;
a 5xx reply is permanent → ``Rejected``; 535/530 (and friends) → ``AuthFailed``. The
one dangerous moment is after the final ``.`` of DATA: if the connection breaks before
the server's 250, the server may have queued the message → ``InDoubt``. Anything that
breaks earlier aborts the transaction, and the server discards it → ``NotSent``.
"""

from __future__ import annotations

import html
import logging
import smtplib
import ssl
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from channels.base import (
    AccountConfig,
    AuthFailed,
    Channel,
    CheckResult,
    Delivery,
    InDoubt,
    NotSent,
    Outcome,
    Published,
    Rejected,
)
from channels.http import redact
from channels.images import ImageError, prepare_image
from scheduler.errors import ConfigError

log = logging.getLogger(__name__)

SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}
#: replies that mean the credentials (or their absence) are the problem
AUTH_CODES = {530, 534, 535, 538}


def _addresses(value: str | Sequence[str] | None) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [a.strip() for a in value.split(",") if a.strip()]
    return [str(a) for a in value]


class _TrackedSMTP(smtplib.SMTP):
    """Knows whether the end of DATA (``<CRLF>.<CRLF>``) has left the machine."""

    final_dot_sent = False

    def send(self, s: bytes | str) -> None:
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.final_dot_sent = True


class _TrackedSMTPSSL(smtplib.SMTP_SSL):
    final_dot_sent = False

    def send(self, s: bytes | str) -> None:
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.final_dot_sent = True


class EmailChannel(Channel):
    network = "email"
    optional_secret_fields = ("username", "password")

    def __init__(self, account: AccountConfig, secrets: Mapping[str, str]) -> None:
        super().__init__(account, secrets)
        options = account.options
        self.security = str(options.get("security", "starttls")).lower()
        if self.security not in SECURITY_PORTS:
            raise ConfigError(f"account {account.name!r}: security must be one of "
                             f"{', '.join(SECURITY_PORTS)}, not {self.security!r}")
        from_url = urlsplit(account.base_url) if account.base_url else None
        self.host = str(options.get("host") or (from_url.hostname if from_url else "")
                        or "localhost")
        self.port = int(options.get("port") or (from_url.port if from_url else 0)
                        or SECURITY_PORTS[self.security])
        self.sender = str(options.get("from") or secrets.get("username") or "")
        self.to = _addresses(options.get("to"))
        self.bcc = _addresses(options.get("bcc"))

    # --- the message -----------------------------------------------------------------

    def message_id(self, delivery: Delivery) -> str:
        domain = self.account.options.get("domain") or self.sender.rpartition("@")[2] \
            or "siar.invalid"
        return f"<siar.{self.derive_key(delivery.publish_key, 'email', length=24)}@{domain}>"

    def build_message(self, delivery: Delivery, now: datetime | None = None, *,
                      with_images: bool = True) -> EmailMessage:
        """The complete message; ``with_images=False`` skips reading the image files."""
        variant = delivery.variant
        extra = variant.extra
        text = extra.get("text") or "\n\n".join(variant.parts)
        subject = extra.get("subject") or variant.title or variant.parts[0].split("\n", 1)[0]
        message = EmailMessage()
        message["Subject"] = subject
        name = self.account.options.get("from_name")
        message["From"] = (Address(display_name=name, addr_spec=self.sender) if name
                           else self.sender)
        message["To"] = ", ".join(self.to) if self.to else self.sender
        if self.account.options.get("reply_to"):
            message["Reply-To"] = self.account.options["reply_to"]
        zone = ZoneInfo(self.account.timezone)
        message["Date"] = format_datetime((now or datetime.now(zone)).astimezone(zone))
        message["Message-ID"] = self.message_id(delivery)
        message["Content-Language"] = self.account.options.get("language", "id")
        message.set_content(text)

        images = ([prepare_image(m.path, self.network, alt=m.alt) for m in variant.media]
                  if with_images else [])
        cids = [f"img{n}.{self.derive_key(delivery.publish_key, 'cid', n, length=12)}"
                for n in range(len(images))]
        body_html = extra.get("html") or _paragraphs(text)
        body_html += "".join(f'<p><img src="cid:{cid}" alt="{html.escape(image.alt)}"></p>'
                             for cid, image in zip(cids, images, strict=True))
        message.add_alternative(_document(subject, body_html), subtype="html")
        if images:
            html_part = message.get_payload()[1]  # type: ignore[index]
            for cid, image in zip(cids, images, strict=True):
                maintype, subtype = image.mime.split("/")
                html_part.add_related(image.data, maintype, subtype, cid=f"<{cid}>",
                                      filename=image.filename, disposition="inline")
        return message

    # --- publishing ------------------------------------------------------------------

    def publish(self, delivery: Delivery) -> Outcome:
        if not delivery.variant.parts:
            return Rejected("nothing to send: the variant has no parts")
        if all(delivery.done_part(i) for i in range(len(delivery.variant.parts))):
            first = delivery.done_part(0)
            assert first is not None
            return Published(first.remote_id, first.url)
        if not self.sender:
            return Rejected("no sender: set option 'from' (or secret username)")
        try:
            message = self.build_message(delivery)
        except ImageError as exc:
            return Rejected(f"image refused: {exc}")
        recipients = (self.to or [self.sender]) + self.bcc
        outcome = self._transact(message, recipients)
        if isinstance(outcome, Published):
            for index in range(len(delivery.variant.parts)):
                if not delivery.done_part(index):
                    delivery.part_published(index, outcome.remote_id, outcome.url)
        return outcome

    def _transact(self, message: EmailMessage, recipients: list[str]) -> Outcome:
        smtp: _TrackedSMTP | _TrackedSMTPSSL | None = None
        try:
            smtp = self._connect()
            refused = smtp.send_message(message, from_addr=self.sender, to_addrs=recipients)
            _quit_quietly(smtp)
        except smtplib.SMTPAuthenticationError as exc:
            return AuthFailed(f"SMTP login refused: {self._reply(exc)}")
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            detail = self._clean("; ".join(f"{rcpt}: {code} {text!r}" for rcpt, (code, text)
                                           in exc.recipients.items()))
            if all(400 <= code < 500 for code in codes):
                return NotSent(f"recipients deferred: {detail}")
            return Rejected(f"recipients refused: {detail}")
        except smtplib.SMTPResponseException as exc:
            return self._reply_outcome(exc)
        except smtplib.SMTPNotSupportedError as exc:
            return AuthFailed(f"server does not support what the account needs: "
                              f"{self._clean(str(exc))}")
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # OSError covers refused connections, resets, TLS errors and timeouts.
            if smtp is not None and smtp.final_dot_sent:
                return InDoubt(f"connection lost after the message was handed over, "
                               f"before the server confirmed it: {self._clean(repr(exc))}")
            return NotSent(f"SMTP connection failed before the message was accepted: "
                           f"{self._clean(repr(exc))}")
        finally:
            if smtp is not None:
                smtp.close()  # after an error a polite QUIT could hang a second time
        message_id = str(message["Message-ID"])
        if refused:
            # Accepted for some recipients: the post exists, but staff should know.
            log.warning("account %s: message %s refused for %s", self.account.name,
                        message_id, self._clean(", ".join(refused)))
        return Published(message_id, f"mid:{message_id.strip('<>')}")

    def _connect(self) -> _TrackedSMTP | _TrackedSMTPSSL:
        connect_timeout, read_timeout = self.timeouts
        context = self._tls_context()
        smtp: _TrackedSMTP | _TrackedSMTPSSL
        if self.security == "tls":
            smtp = _TrackedSMTPSSL(self.host, self.port, timeout=connect_timeout,
                                   context=context)
        else:
            smtp = _TrackedSMTP(self.host, self.port, timeout=connect_timeout)
        if smtp.sock is not None:
            smtp.sock.settimeout(read_timeout)
        smtp.timeout = read_timeout
        smtp.ehlo()
        if self.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        username = self.secrets.get("username")
        if username:
            smtp.login(username, self.secrets.get("password", ""))
        return smtp

    def _tls_context(self) -> ssl.SSLContext:
        ca_file = self.account.options.get("ca_file")
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    def _reply_outcome(self, exc: smtplib.SMTPResponseException) -> Outcome:
        reply = self._reply(exc)
        if exc.smtp_code in AUTH_CODES:
            return AuthFailed(f"SMTP server requires other credentials: {reply}")
        if 400 <= exc.smtp_code < 500:
            return NotSent(f"SMTP server deferred the message: {reply}")
        return Rejected(f"SMTP server refused the message: {reply}")

    def _reply(self, exc: smtplib.SMTPResponseException) -> str:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        return self._clean(f"{exc.smtp_code} {text}")

    def _clean(self, text: str) -> str:
        return redact(text, self.secrets.values())

    # --- the rest of the interface ---------------------------------------------------

    def check(self) -> CheckResult:
        identity = self.secrets.get("username") or self.sender or None
        try:
            smtp = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            return CheckResult(ok=False, detail=f"login refused: {self._reply(exc)}",
                               identity=identity)
        except smtplib.SMTPResponseException as exc:
            return CheckResult(ok=False, detail=self._reply(exc), identity=identity)
        except (smtplib.SMTPException, OSError) as exc:
            return CheckResult(ok=False, detail=f"cannot reach {self.host}:{self.port}: "
                                                f"{self._clean(repr(exc))}", identity=identity)
        try:
            code, _ = smtp.noop()
            _quit_quietly(smtp)
        except (smtplib.SMTPException, OSError) as exc:
            smtp.close()
            return CheckResult(ok=False, detail=f"NOOP failed: {self._clean(repr(exc))}",
                               identity=identity)
        login = "logged in" if self.secrets.get("username") else "no login configured"
        return CheckResult(ok=code == 250,
                           detail=f"{self.host}:{self.port} {self.security}, {login}, NOOP {code}",
                           identity=identity)

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        message = self.build_message(delivery, with_images=False)
        headers = {name: str(message[name]) for name in
                   ("From", "To", "Subject", "Date", "Message-ID")}
        return [{"method": "SMTP", "url": f"smtp://{self.host}:{self.port}",
                 "security": self.security, "headers": headers,
                 "recipients": (self.to or [self.sender]) + self.bcc,
                 "images": [{"path": m.path, "alt": m.alt} for m in delivery.variant.media],
                 "data": message.get_body(("plain",)).get_content()}]  # type: ignore[union-attr]


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{html.escape(block).replace(chr(10), '<br>')}</p>"
                   for block in text.split("\n\n") if block.strip())


def _document(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="id"><head><meta charset="utf-8">'
            f"<title>{html.escape(title)}</title></head><body>{body}</body></html>\n")


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
