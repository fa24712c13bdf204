"""The SMTP connection the e-mail channel sends over (channels/email.py).

Apart from the channel's module because smtplib (with ssl and the ``email`` package) is
about 10 ms of imports that composing and previewing a release never need: only sending
and ``siar accounts check`` import this module.
"""

from __future__ import annotations

import smtplib

from channels.base import note_create_sent

__all__ = ["TrackedSMTP", "TrackedSMTPSSL", "quit_quietly"]


class TrackedSMTP(smtplib.SMTP):
    """Knows whether the end of DATA (``<CRLF>.<CRLF>``) has left the machine.

    smtplib sends the message and its final dot in one ``send``: from that moment the
    server may queue it, so the attempt's watch is told just before (``note_create_sent``).
    """

    final_dot_sent = False

    def send(self, s: bytes | str) -> None:
        """Send ``s``, telling the attempt's watch first when it ends DATA."""
        final = isinstance(s, bytes) and s.endswith(b"\r\n.\r\n")
        if final:
            note_create_sent()
        super().send(s)
        if final:
            self.final_dot_sent = True


class TrackedSMTPSSL(TrackedSMTP, smtplib.SMTP_SSL):
    """The same over implicit TLS (port 465)."""


def quit_quietly(smtp: smtplib.SMTP) -> None:
    """End the session politely if the server still answers, else just close it."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
