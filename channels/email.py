"""E-mail: the release as one multipart message (plain text + HTML) over SMTP.

Options (account table): ``host``, ``port``, ``security`` (``starttls`` — the default,
port 587 —, ``tls`` for implicit TLS on 465, or ``none`` for a trusted local relay),
``from``, ``from_name``, ``to`` and ``bcc`` (an address or a list), ``reply_to``,
``domain`` (right-hand side of the Message-ID; default: the sender's domain) and
``ca_file`` (a CA bundle to trust, e.g. an office relay's own certificate). Secrets
``username`` and ``password`` (``SIAR_SECRET_<ACCOUNT>_USERNAME`` / ``_PASSWORD``) are
used when set; a relay that needs no login gets none. A login is never sent in clear:
``security = "none"`` with a username is a configuration error unless the account also
says ``allow_plaintext_login = true`` (a relay on the same machine or a trusted network).

The HTML part is one document: the e-mail template writes a whole one, and the images
(``cid:``) go inside its body; a fragment (another template, or none) is wrapped.

The Message-ID is derived from the post's publish key, so every attempt of one post
carries the same id and mail clients can fold a rare duplicate. ``email.utils.make_msgid``
is not used because it adds the time, the pid and a random number.

What a failure means (RFC 5321 reply classes): a 4xx reply is transient → ``NotSent``;
a 5xx reply is permanent → ``Rejected``; 535/530 (and friends) → ``AuthFailed``. The
one dangerous moment is after the final ``.`` of DATA: if the connection breaks before
the server's 250, the server may have queued the message → ``InDoubt``. Anything that
breaks earlier aborts the transaction, and the server discards it → ``NotSent``. So the
final ``.`` is what :func:`channels.base.note_create_sent` is told about.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
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
    Variant,
)
from channels.composing import Draft, Release
from channels.errors import ConfigError
from channels.http import redact
from channels.i18n import N_, _
from channels.image_host import HostingError, ImageHost, hosted_urls
from channels.rules import MB, ImageRules, VideoRules
from channels.variant import Media

if TYPE_CHECKING:
    import logging
    import smtplib
    import ssl
    from email.message import EmailMessage

    from channels.email_smtp import TrackedSMTP, TrackedSMTPSSL


def _log() -> logging.Logger:
    """This module's logger; logging is imported when a line is logged, which composing
    and previewing (they import every configured adapter) never do."""
    import logging

    return logging.getLogger(__name__)

SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}
#: replies that mean the credentials (or their absence) are the problem
AUTH_CODES = {530, 534, 535, 538}
#: options that end up in a header, where a line break would start another header
HEADER_OPTIONS = ("from", "from_name", "to", "bcc", "reply_to", "domain")
_CONTROL_NAMES = {"\r": N_("a carriage return (CR)"), "\n": N_("a line feed (LF)"),
                  "\t": N_("a tab")}


def control_character(text: str) -> str | None:
    """The first control character (or line/paragraph separator) in ``text``, described
    with where it stands, or ``None``: a header holds one line of printable text."""
    for index, char in enumerate(text):
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            name = (_(_CONTROL_NAMES[char]) if char in _CONTROL_NAMES
                    else _("the control character U+{code:04X}").format(code=ord(char)))
            before = text[max(0, index - 20):index].strip()
            if before:
                return _("{name} after {before!r}").format(name=name, before=before)
            return _("{name} at the start").format(name=name)
    return None


def _addresses(value: str | Sequence[str] | None) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        return [a.strip() for a in value.split(",") if a.strip()]
    return [str(a) for a in value]


class EmailChannel(Channel):
    network = "email"
    display_name = "E-mail"
    accent_colour = "#c5221f"
    html_body = True
    image_rules = ImageRules(max_bytes=5 * MB, max_side=2560)
    #: a video goes as a link (and its cover), attached only when small and the account
    #: allows it (channels/email_video.py); prepared like the webhook's, so one file serves
    video_rules = VideoRules(max_bytes=1000 * MB, max_seconds=float("inf"), cover=True,
                             with_images=True)
    #: the recipient watches the video at the URL the media store gives it
    links_media = True
    image_host: ImageHost | None = None
    docs = "docs/channels/email.md"

    @classmethod
    def compose_extra(cls, draft: Draft, release: Release) -> dict[str, Any]:
        """Subject (the template's ``subject`` block, else the title), the plain text and
        the HTML (its ``html`` block, else the body)."""
        subject, html = draft.block("subject"), draft.block("html")
        return {"subject": release.title if subject is None else subject.replace("\n", " "),
                "text": draft.parts[0], "html": draft.html() if html is None else html}
    optional_secret_fields = ("username", "password")

    def __init__(self, account: AccountConfig, secrets: Mapping[str, str]) -> None:
        super().__init__(account, secrets)
        options = account.options
        self.security = str(options.get("security", "starttls")).lower()
        if self.security not in SECURITY_PORTS:
            raise ConfigError(_("account {account!r}: security must be one of {choices}, not "
                                "{security!r}").format(
                                  account=account.name, choices=', '.join(SECURITY_PORTS),
                                  security=self.security))
        from_url = urlsplit(account.base_url) if account.base_url else None
        self.host = str(options.get("host") or (from_url.hostname if from_url else "")
                        or "localhost")
        self.port = int(options.get("port") or (from_url.port if from_url else 0)
                        or SECURITY_PORTS[self.security])
        self.sender = str(options.get("from") or secrets.get("username") or "")
        self.to = _addresses(options.get("to"))
        self.bcc = _addresses(options.get("bcc"))
        self._check_options(account, secrets)

    def _check_options(self, account: AccountConfig, secrets: Mapping[str, str]) -> None:
        """Refuse what would send a password in clear or break a header."""
        options = account.options
        plaintext_ok = options.get("allow_plaintext_login", False)
        if not isinstance(plaintext_ok, bool):
            raise ConfigError(_("account {account!r}: allow_plaintext_login must be true or "
                                "false, not {plaintext_ok!r}").format(
                                  account=account.name, plaintext_ok=plaintext_ok),
                              hint=_("write allow_plaintext_login = true (without quotes)"))
        if self.security == "none" and secrets.get("username") and not plaintext_ok:
            raise ConfigError(
                _("account {account!r}: security = \"none\" would send the password of "
                  "{username_variable} in clear text").format(
                    account=account.name, username_variable=self._variable('username')),
                hint=_("use security = \"starttls\" (port 587) or \"tls\" (465); for a relay "
                       "without login remove {username_variable} and {password_variable}; only "
                       "for a relay on this machine or a trusted network, add "
                       "allow_plaintext_login = true to the account's options").format(
                         username_variable=self._variable('username'),
                         password_variable=self._variable('password')))
        for name in HEADER_OPTIONS:
            given = options.get(name)
            for value in [given] if isinstance(given, str) else list(given or []):
                if problem := control_character(str(value)):
                    raise ConfigError(
                        _("account {account!r}: option {name} contains {problem}").format(
                            account=account.name, name=name, problem=problem),
                        hint=_("write {name} on one line").format(name=name))

    def _variable(self, field: str) -> str:
        # the environment variable of a secret, as scheduler.settings names it
        return f"SIAR_SECRET_{re.sub(r'[^A-Za-z0-9]', '_', self.account.name).upper()}_" \
               f"{field.upper()}"

    # --- the message -----------------------------------------------------------------

    def message_id(self, delivery: Delivery) -> str:
        domain = self.account.options.get("domain") or self.sender.rpartition("@")[2] \
            or "siar.invalid"
        return f"<siar.{self.derive_key(delivery.publish_key, 'email', length=24)}@{domain}>"

    def build_message(self, delivery: Delivery, now: datetime | None = None, *,
                      with_images: bool = True, video: Media | None = None) -> EmailMessage:
        """The complete message; ``with_images=False`` skips reading the image files;
        ``video``: the post's video with its URL (default: as queued, without one)."""
        from email.headerregistry import Address
        from email.message import EmailMessage
        from email.utils import format_datetime

        from channels.email_html import inline_images, one_document, paragraphs
        from channels.email_video import pictures, video_mail
        from channels.images import prepare_image
        from channels.uploads import video_of
        variant = delivery.variant
        extra = variant.extra
        text = extra.get("text") or "\n\n".join(variant.parts)
        subject = self.subject(variant)
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
        video = video or video_of(variant)
        carried = video_mail(video, variant, self.account.options) if video else None
        message.set_content(f"{text}\n\n{carried.text}\n" if carried else text)

        images = ([prepare_image(m.path, self.network, alt=m.alt)
                   for m in pictures(variant, video)] if with_images else [])
        cids = [f"img{n}.{self.derive_key(delivery.publish_key, 'cid', n, length=12)}"
                for n in range(len(images))]
        # a video's cover (the first image) links to it: never a large attachment
        link = carried.url if carried and carried.url and video and video.cover else None
        inline = inline_images(cids, [image.alt for image in images], link)
        inline += carried.html if carried else ""
        message.add_alternative(one_document(subject, extra.get("html") or paragraphs(text),
                                             inline), subtype="html")
        if images:
            html_part = message.get_payload()[1]  # type: ignore[index]
            for cid, image in zip(cids, images, strict=True):
                maintype, subtype = image.mime.split("/")
                html_part.add_related(image.data, maintype, subtype, cid=f"<{cid}>",
                                      filename=image.filename, disposition="inline")
        if carried and carried.attach and with_images:
            message.add_attachment(Path(video.path).read_bytes(),  # type: ignore[union-attr]
                                   "video", "mp4", filename="video.mp4")
        return message

    @staticmethod
    def subject(variant: Variant) -> str:
        return str(variant.extra.get("subject") or variant.title
                   or variant.parts[0].split("\n", 1)[0])

    def preflight(self, variant: Variant) -> str | None:
        """A subject with a line break or another control character cannot be a header
        (and a CR or LF in one could start another header): refused when queued."""
        if variant.parts and (problem := control_character(self.subject(variant))):
            return (_("the e-mail subject (made from the release's title) contains {problem}; "
                      "write the title on one line, without control characters").format(
                        problem=problem))
        return None

    # --- publishing ------------------------------------------------------------------

    def publish(self, delivery: Delivery) -> Outcome:
        from channels.email_video import linked_video
        from channels.images import ImageError
        from channels.video.checks import refused_video
        if not delivery.variant.parts:
            return Rejected(_("nothing to send: the variant has no parts"))
        if all(delivery.done_part(i) for i in range(len(delivery.variant.parts))):
            first = delivery.done_part(0)
            assert first is not None
            return Published(first.remote_id, first.url)
        if not self.sender:
            return Rejected(_("no sender: set option 'from' (or secret username)"))
        if problem := self.preflight(delivery.variant):
            return Rejected(problem)  # queued before the check existed: it can never go out
        if refused := refused_video(delivery.variant):
            return refused  # changed or removed since it was queued: nothing sent
        try:
            video = linked_video(delivery, self.image_host, self.account.options)
            message = self.build_message(delivery, video=video)
        except ImageError as exc:
            return Rejected(_("image refused: {reason}").format(reason=exc))
        except HostingError as exc:
            return NotSent(_("the media store could not host the video: {reason}").format(
                reason=exc))
        recipients = (self.to or [self.sender]) + self.bcc
        outcome = self._transact(message, recipients)
        if isinstance(outcome, Published):
            for index in range(len(delivery.variant.parts)):
                if not delivery.done_part(index):
                    delivery.part_published(index, outcome.remote_id, outcome.url)
        return outcome

    def _transact(self, message: EmailMessage, recipients: list[str]) -> Outcome:
        import smtplib  # here, not at the top: composing and previewing never send

        from channels.email_smtp import quit_quietly

        smtp: TrackedSMTP | TrackedSMTPSSL | None = None
        try:
            smtp = self._connect()
            refused = smtp.send_message(message, from_addr=self.sender, to_addrs=recipients)
            quit_quietly(smtp)
        except smtplib.SMTPAuthenticationError as exc:
            return AuthFailed(_("SMTP login refused: {reply}").format(reply=self._reply(exc)))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _text in exc.recipients.values()]
            detail = self._clean("; ".join(f"{rcpt}: {code} {text!r}" for rcpt, (code, text)
                                           in exc.recipients.items()))
            if all(400 <= code < 500 for code in codes):
                return NotSent(_("recipients deferred: {detail}").format(detail=detail))
            return Rejected(_("recipients refused: {detail}").format(detail=detail))
        except smtplib.SMTPResponseException as exc:
            return self._reply_outcome(exc)
        except smtplib.SMTPNotSupportedError as exc:
            return AuthFailed(_("server does not support what the account needs: {reason}").format(
                                  reason=self._clean(str(exc))))
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # OSError covers refused connections, resets, TLS errors and timeouts.
            if smtp is not None and smtp.final_dot_sent:
                return InDoubt(_("connection lost after the message was handed over, before the "
                                 "server confirmed it: {reason}").format(
                                   reason=self._clean(repr(exc))))
            return NotSent(_("SMTP connection failed before the message was accepted: "
                             "{reason}").format(reason=self._clean(repr(exc))))
        finally:
            if smtp is not None:
                smtp.close()  # after an error a polite QUIT could hang a second time
        message_id = str(message["Message-ID"])
        if refused:
            # Accepted for some recipients: the post exists, but staff should know.
            _log().warning("account %s: message %s refused for %s", self.account.name,
                        message_id, self._clean(", ".join(refused)))
        return Published(message_id, f"mid:{message_id.strip('<>')}")

    def _connect(self) -> TrackedSMTP | TrackedSMTPSSL:
        from channels.email_smtp import TrackedSMTP, TrackedSMTPSSL

        connect_timeout, read_timeout = self.timeouts
        context = self._tls_context()
        smtp: TrackedSMTP | TrackedSMTPSSL
        if self.security == "tls":
            smtp = TrackedSMTPSSL(self.host, self.port, timeout=connect_timeout,
                                   context=context)
        else:
            smtp = TrackedSMTP(self.host, self.port, timeout=connect_timeout)
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
        import ssl  # with smtplib: only when connecting

        ca_file = self.account.options.get("ca_file")
        return ssl.create_default_context(cafile=str(ca_file) if ca_file else None)

    def _reply_outcome(self, exc: smtplib.SMTPResponseException) -> Outcome:
        reply = self._reply(exc)
        if exc.smtp_code in AUTH_CODES:
            return AuthFailed(_("SMTP server requires other credentials: {reply}").format(
                                  reply=reply))
        if 400 <= exc.smtp_code < 500:
            return NotSent(_("SMTP server deferred the message: {reply}").format(reply=reply))
        return Rejected(_("SMTP server refused the message: {reply}").format(reply=reply))

    def _reply(self, exc: smtplib.SMTPResponseException) -> str:
        return f"{exc.smtp_code} {self._text(exc.smtp_error)}"

    def _clean(self, text: str) -> str:
        return redact(text, self.secrets.values())

    # --- the rest of the interface ---------------------------------------------------

    def check(self) -> CheckResult:
        """Connect, log in when a username is set, and try the envelope without DATA
        (MAIL FROM, RCPT TO each recipient, RSET): a server that wants a login, or
        refuses the sender or a recipient, says so here, and nothing is sent."""
        import smtplib  # with the connection: composing and previewing never check

        from channels.email_smtp import quit_quietly

        identity = self.secrets.get("username") or self.sender or None
        try:
            smtp = self._connect()
        except smtplib.SMTPAuthenticationError as exc:
            return CheckResult(ok=False, identity=identity, detail=(
                _("login refused ({reply}): the password in {password_variable} (or the username "
                  "in {username_variable}) is wrong").format(
                    reply=self._reply(exc), password_variable=self._variable('password'),
                    username_variable=self._variable('username'))))
        except smtplib.SMTPNotSupportedError as exc:
            return CheckResult(ok=False, identity=identity, detail=(
                _("{host}:{port} offers no {value} on this connection ({reason}): check security "
                  "and port").format(
                    host=self.host, port=self.port,
                    value=_("login") if "AUTH" in str(exc) else "TLS",
                    reason=self._clean(str(exc)))))
        except smtplib.SMTPResponseException as exc:
            return CheckResult(ok=False, detail=self._reply(exc), identity=identity)
        except (smtplib.SMTPException, OSError) as exc:
            return CheckResult(ok=False, detail=_("cannot reach {host}:{port}: {reason}").format(
                                                    host=self.host, port=self.port,
                                                    reason=self._clean(repr(exc))),
                               identity=identity)
        try:
            problem = self._try_envelope(smtp)
            quit_quietly(smtp)
        except (smtplib.SMTPException, OSError) as exc:
            smtp.close()
            return CheckResult(ok=False, identity=identity,
                               detail=_("the server broke off: {reason}").format(
                                          reason=self._clean(repr(exc))))
        login = _("logged in") if self.secrets.get("username") else _("no login configured")
        where = f"{self.host}:{self.port} {self.security}, {login}"
        if problem:
            return CheckResult(ok=False, detail=f"{where}: {problem}", identity=identity)
        recipients = len(self.to or [self.sender]) + len(self.bcc)
        return CheckResult(ok=True, identity=identity, detail=(
            _("{where}, sender and {recipients} recipient(s) accepted (nothing sent)").format(
                where=where, recipients=recipients)))

    def _try_envelope(self, smtp: smtplib.SMTP) -> str | None:
        """What is wrong with the envelope, or ``None``; ends with RSET (no DATA)."""
        code, reply = smtp.noop()
        if code != 250:
            return _("NOOP answered {code} {reply}").format(code=code, reply=self._text(reply))
        try:
            code, reply = smtp.mail(self.sender)
            if code in AUTH_CODES:
                return (_("the server requires a login ({code} {reply}): set {username_variable} "
                          "and {password_variable}").format(
                            code=code, reply=self._text(reply),
                            username_variable=self._variable('username'),
                            password_variable=self._variable('password'))
                        if not self.secrets.get("username") else
                        _("the server refuses this login for sending ({code} {reply})").format(
                            code=code, reply=self._text(reply)))
            if code != 250:
                return _("sender {sender} refused: {code} {reply}").format(
                           sender=self.sender, code=code, reply=self._text(reply))
            refused = []
            for recipient in (self.to or [self.sender]) + self.bcc:
                code, reply = smtp.rcpt(recipient)
                if code >= 500:
                    refused.append(f"{recipient}: {code} {self._text(reply)}")
            return _("recipients refused: {refused}").format(
                       refused='; '.join(refused)) if refused else None
        finally:
            smtp.rset()

    def _text(self, reply: bytes | str) -> str:
        text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
        return self._clean(text)

    def dry_run_requests(self, delivery: Delivery) -> list[dict[str, Any]]:
        from channels.email_video import video_mail
        from channels.uploads import video_of
        video = video_of(delivery.variant)
        if video is not None:  # the URL it has, or will have once the store hosts it
            [video] = hosted_urls([video], delivery.state, self.account.options)
            if video.url is None and self.image_host is not None:
                video = replace(video, url="{hosted-url}")
        message = self.build_message(delivery, with_images=False, video=video)
        headers = {name: str(message[name]) for name in
                   ("From", "To", "Subject", "Date", "Message-ID")}
        planned = {"method": "SMTP", "url": f"smtp://{self.host}:{self.port}",
                   "security": self.security, "headers": headers,
                   "recipients": (self.to or [self.sender]) + self.bcc,
                   "images": [{"path": m.path, "alt": m.alt} for m in delivery.variant.media
                              if m.kind != "video"],
                   "data": message.get_body(("plain",)).get_content()}  # type: ignore[union-attr]
        if video:
            planned["video"] = {"path": video.path, **asdict(video_mail(
                video, delivery.variant, self.account.options))}
        return [planned]
