"""A real local SMTP server (aiosmtpd) to send the e-mail adapter's messages to.

It speaks real ESMTP: EHLO, STARTTLS (or implicit TLS) with a self-signed certificate
generated at test time, AUTH PLAIN/LOGIN (only after TLS, as RFC 4954 servers insist),
MAIL/RCPT/DATA; with ``username=None`` it is a relay that takes no login (and offers none
without TLS). Accepted messages are kept in :attr:`FakeSMTP.messages`. Faults follow
RFC 5321 reply classes: :meth:`answer_data_with` replaces the reply to DATA's final dot
(4xx transient, 5xx permanent), :meth:`drop_after_data` keeps the message but cuts the
connection before replying, :meth:`stall_after_data` keeps it and replies only after a
while (both the in-doubt case), :meth:`refuse_recipient` refuses RCPT.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost that clients can trust as their CA file."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    stem = f"smtp-{certificate.serial_number:x}"  # one pair per server: never overwritten
    cert_path, key_path = directory / f"{stem}-cert.pem", directory / f"{stem}-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


class _Handler:
    def __init__(self, server: FakeSMTP) -> None:
        self.fake = server

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        reply = self.fake.refused_recipients.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.fake.lock:
            reply = self.fake.data_replies.pop(0) if self.fake.data_replies else None
        if reply and reply != "drop" and not reply.startswith("stall "):
            return reply
        self.fake.messages.append(ReceivedMail(str(envelope.mail_from), list(envelope.rcpt_tos),
                                               bytes(envelope.original_content or b"")))
        if reply and reply.startswith("stall "):
            # queued; the "250" comes after the client stopped waiting for it
            await asyncio.sleep(float(reply.split()[1]))
        if reply == "drop":
            # queued, then the line goes dead before "250": the client cannot know
            assert server.transport is not None
            server.transport.abort()
        return "250 2.0.0 OK queued"


class FakeSMTP:
    def __init__(self, cert_dir: Path, *, security: str = "starttls",
                 username: str | None = "humas@lapas.example.go.id",
                 password: str | None = "sandi-rahasia-42") -> None:
        self.security = security
        self.username, self.password = username, password
        self.messages: list[ReceivedMail] = []
        self.data_replies: list[str] = []
        self.refused_recipients: dict[str, str] = {}
        self.logins: list[str] = []
        self.lock = threading.Lock()
        self.cert_path, key_path = self_signed_certificate(cert_dir)
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(self.cert_path, key_path)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        smtp_options: dict[str, Any] = {
            "authenticator": self._authenticate,
            "auth_required": username is not None,
            # implicit TLS is invisible to aiosmtpd, which would then hide AUTH; a relay
            # without login (username None) offers no AUTH on a plain connection at all
            "auth_require_tls": security == "starttls" or username is None,
        }
        if security == "starttls":
            smtp_options.update(tls_context=tls, require_starttls=True)
        controller_options: dict[str, Any] = {}
        if security == "tls":
            controller_options["ssl_context"] = tls
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port,
                                     server_hostname="localhost",
                                     **controller_options, **smtp_options)

    # --- faults ------------------------------------------------------------------------
    def answer_data_with(self, reply: str) -> None:
        """The next DATA gets ``reply`` (e.g. ``451 4.3.0 Try again later``) instead of 250."""
        self.data_replies.append(reply)

    def drop_after_data(self) -> None:
        self.data_replies.append("drop")

    def stall_after_data(self, seconds: float) -> None:
        """The next message is queued and its ``250`` sent only ``seconds`` later."""
        self.data_replies.append(f"stall {seconds}")

    def refuse_recipient(self, address: str, reply: str) -> None:
        self.refused_recipients[address] = reply

    def reset(self) -> None:
        with self.lock:
            self.messages.clear()
            self.data_replies.clear()
            self.refused_recipients.clear()
            self.logins.clear()

    # --- lifecycle ---------------------------------------------------------------------
    def start(self) -> FakeSMTP:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> FakeSMTP:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        if (login, password) == (self.username, self.password):
            self.logins.append(login)
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)
