"""The e-mail adapter against a real local SMTP server (aiosmtpd)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.base import (
    AccountConfig,
    AuthFailed,
    InDoubt,
    NotSent,
    PartResult,
    Published,
    Rejected,
    watch_sends,
)
from channels.email import EmailChannel
from channels.variant import Media
from scheduler.compose import compose
from scheduler.errors import ConfigError
from scheduler.settings import AccountSettings
from tests.channels.helpers import assert_no_secret, make_delivery, make_variant
from tests.composer.conftest import make_release, make_settings
from tests.fakes.smtp import FakeSMTP

# Implicit TLS is invisible to aiosmtpd, so its AUTH-without-TLS warning is a false alarm.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning")

USERNAME = "humas@lapas.example.go.id"
PASSWORD = "sandi-rahasia-42"
SECRETS = {"username": USERNAME, "password": PASSWORD}
TEXT = "Lapas Kelas I menggelar pelatihan kerja bagi warga binaan.\n\n#HumasBergerakBersama"
TO = ["redaksi@koran.example.id", "humas@kanwil.example.go.id"]
BCC = ["arsip@lapas.example.go.id"]


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("smtp")


@pytest.fixture(scope="module")
def running_smtp(cert_dir: Path) -> Iterator[FakeSMTP]:
    with FakeSMTP(cert_dir, username=USERNAME, password=PASSWORD) as server:
        yield server


@pytest.fixture
def smtp(running_smtp: FakeSMTP) -> FakeSMTP:
    running_smtp.reset()
    return running_smtp


def body_of(message: EmailMessage, subtype: str) -> str:
    """A body part's text as written, without the CRLF line ends of the wire."""
    part = message.get_body((subtype,))
    assert part is not None
    return part.get_content().replace("\r\n", "\n").strip()


def channel_for(server: FakeSMTP, *, secrets: dict[str, str] | None = None,
                **options: object) -> EmailChannel:
    account = AccountConfig(name="surel-humas", network="email", options={
        "host": "127.0.0.1", "port": server.port, "security": server.security,
        "ca_file": str(server.cert_path), "from": USERNAME, "from_name": "Humas Lapas",
        "to": TO, "bcc": BCC, "domain": "lapas.example.go.id",
        # generous: no test here waits for a timeout, and on a loaded host the fake's
        # TLS handshake took longer than half a second (not sent instead of refused)
        "connect_timeout": 10.0, "read_timeout": 10.0, **options})
    return EmailChannel(account, SECRETS if secrets is None else secrets)


def test_a_release_goes_out_as_text_and_html_to_every_recipient_over_starttls(
        smtp: FakeSMTP) -> None:
    delivery = make_delivery(TEXT, subject="Siaran Pers: Pelatihan Kerja",
                             html="<p>Lapas Kelas I menggelar <b>pelatihan</b>.</p>")
    outcome = channel_for(smtp).publish(delivery)

    (mail,) = smtp.messages
    assert smtp.logins == [USERNAME]
    assert mail.mail_from == USERNAME
    assert mail.rcpt_tos == TO + BCC
    message = mail.message
    assert message["Subject"] == "Siaran Pers: Pelatihan Kerja"
    assert message["From"] == f"Humas Lapas <{USERNAME}>"
    assert message["To"] == ", ".join(TO)
    assert message["Bcc"] is None  # blind copies stay blind
    assert body_of(message, "plain") == TEXT
    assert "<b>pelatihan</b>" in body_of(message, "html")
    message_id = message["Message-ID"]
    assert outcome == Published(message_id, f"mid:{message_id.strip('<>')}")
    assert [p.index for p in delivery.progress] == [0]


def test_the_message_id_is_the_same_on_every_attempt_of_a_post(smtp: FakeSMTP) -> None:
    channel = channel_for(smtp)
    channel.publish(make_delivery(TEXT, attempt=1))
    channel.publish(make_delivery(TEXT, attempt=2))
    first, second = (m.message["Message-ID"] for m in smtp.messages)
    assert first == second
    assert first.endswith("@lapas.example.go.id>")


@given(key_a=st.text(min_size=1), key_b=st.text(min_size=1))
def test_message_ids_differ_exactly_when_publish_keys_differ(key_a: str, key_b: str) -> None:
    channel = EmailChannel(AccountConfig(name="e", network="email",
                                         options={"from": USERNAME}), {})
    id_a = channel.message_id(make_delivery("x", publish_key=key_a))
    id_b = channel.message_id(make_delivery("x", publish_key=key_b))
    assert (id_a == id_b) == (key_a == key_b)


def test_the_date_header_is_in_the_accounts_time_zone(smtp: FakeSMTP) -> None:
    channel = channel_for(smtp)
    message = channel.build_message(
        make_delivery(TEXT), now=datetime(2026, 11, 28, 9, 0, tzinfo=ZoneInfo("Asia/Jakarta")))
    assert message["Date"] == "Sat, 28 Nov 2026 09:00:00 +0700"


def test_without_extra_fields_subject_comes_from_the_title_and_html_from_the_text(
        smtp: FakeSMTP) -> None:
    channel_for(smtp).publish(make_delivery(["Bagian satu.", "Bagian <dua> & tiga."],
                                            title="Pelatihan Kerja"))
    message = smtp.messages[0].message
    assert message["Subject"] == "Pelatihan Kerja"
    assert body_of(message, "plain") == \
        "Bagian satu.\n\nBagian <dua> & tiga."
    assert "<p>Bagian &lt;dua&gt; &amp; tiga.</p>" in body_of(message, "html")


def test_an_image_is_inline_in_the_html_with_its_alt_text(smtp: FakeSMTP,
                                                          photo_jpeg: Path) -> None:
    media = [Media(path=str(photo_jpeg), alt="Warga binaan \"menjahit\"")]
    channel_for(smtp).publish(make_delivery(TEXT, media=media))
    message = smtp.messages[0].message
    html_body = body_of(message, "html")
    (image,) = [part for part in message.walk() if part.get_content_maintype() == "image"]
    cid = image["Content-ID"].strip("<>")
    assert f'<img src="cid:{cid}" alt="Warga binaan &quot;menjahit&quot;">' in html_body
    assert image.get_content_type() == "image/jpeg"
    assert image.get_filename() == "kegiatan.jpg"


def test_a_post_already_sent_is_not_sent_again(smtp: FakeSMTP) -> None:
    done = PartResult(index=0, remote_id="<x@y>", url="mid:x@y")
    outcome = channel_for(smtp).publish(make_delivery(TEXT, progress=[done]))
    assert outcome == Published("<x@y>", "mid:x@y")
    assert smtp.messages == []


def test_implicit_tls_works(cert_dir: Path) -> None:
    with FakeSMTP(cert_dir, security="tls", username=USERNAME, password=PASSWORD) as server:
        assert isinstance(channel_for(server).publish(make_delivery(TEXT)), Published)
        assert len(server.messages) == 1


def test_a_plain_relay_without_login_works(cert_dir: Path) -> None:
    with FakeSMTP(cert_dir, security="none", username=None) as server:
        outcome = channel_for(server, secrets={}).publish(make_delivery(TEXT))
        assert isinstance(outcome, Published)
        check = channel_for(server, secrets={}).check()
        assert check.ok and "no login configured" in check.detail
        assert check.detail.endswith("sender and 3 recipient(s) accepted (nothing sent)")
        assert len(server.messages) == 1


def test_wrong_password_is_an_auth_failure(smtp: FakeSMTP) -> None:
    secrets = {"username": USERNAME, "password": "salah-sandi-99"}
    outcome = channel_for(smtp, secrets=secrets).publish(make_delivery(TEXT))
    assert isinstance(outcome, AuthFailed) and "535" in outcome.reason
    assert_no_secret(outcome, secrets)
    assert smtp.messages == []


def test_a_5xx_reply_to_data_is_rejected(smtp: FakeSMTP) -> None:
    smtp.answer_data_with("554 5.7.1 Message rejected as spam")
    outcome = channel_for(smtp).publish(make_delivery(TEXT))
    assert isinstance(outcome, Rejected) and "554 5.7.1" in outcome.reason


def test_every_recipient_refused_permanently_is_rejected(smtp: FakeSMTP) -> None:
    for address in TO + BCC:
        smtp.refuse_recipient(address, "550 5.1.1 No such user")
    assert isinstance(channel_for(smtp).publish(make_delivery(TEXT)), Rejected)


def test_every_recipient_deferred_is_not_sent(smtp: FakeSMTP) -> None:
    for address in TO + BCC:
        smtp.refuse_recipient(address, "450 4.2.1 Mailbox busy")
    assert isinstance(channel_for(smtp).publish(make_delivery(TEXT)), NotSent)


def test_one_recipient_refused_still_publishes_to_the_others(smtp: FakeSMTP) -> None:
    smtp.refuse_recipient(BCC[0], "550 5.1.1 No such user")
    assert isinstance(channel_for(smtp).publish(make_delivery(TEXT)), Published)
    assert smtp.messages[0].rcpt_tos == TO


def test_connection_dropped_after_the_final_dot_is_in_doubt(smtp: FakeSMTP) -> None:
    smtp.drop_after_data()
    outcome = channel_for(smtp).publish(make_delivery(TEXT))
    assert isinstance(outcome, InDoubt)
    assert len(smtp.messages) == 1  # the server did queue it


def test_an_untrusted_certificate_is_not_sent(smtp: FakeSMTP) -> None:
    outcome = channel_for(smtp, ca_file=None).publish(make_delivery(TEXT))
    assert isinstance(outcome, NotSent) and "CERTIFICATE_VERIFY_FAILED" in outcome.reason
    assert smtp.logins == []  # the password never went over an unverified connection


def test_check_logs_in_and_sends_noop_without_sending_mail(smtp: FakeSMTP) -> None:
    result = channel_for(smtp).check()
    assert result.ok and result.identity == USERNAME
    assert smtp.logins == [USERNAME] and smtp.messages == []
    bad = channel_for(smtp, secrets={"username": USERNAME, "password": "salah"}).check()
    assert not bad.ok and "535" in bad.detail


def test_check_tries_the_envelope_and_names_the_login_a_server_requires(
        smtp: FakeSMTP) -> None:
    result = channel_for(smtp, secrets={}).check()
    assert not result.ok and "requires a login" in result.detail and "530" in result.detail
    assert "SIAR_SECRET_SUREL_HUMAS_USERNAME" in result.detail
    assert smtp.messages == []


def test_check_names_a_recipient_the_server_refuses(smtp: FakeSMTP) -> None:
    smtp.refuse_recipient(TO[1], "550 5.1.1 No such user")
    result = channel_for(smtp).check()
    assert not result.ok and f"{TO[1]}: 550" in result.detail
    assert smtp.logins == [USERNAME] and smtp.messages == []


def test_check_names_the_password_when_the_login_is_refused(smtp: FakeSMTP) -> None:
    result = channel_for(smtp, secrets={"username": USERNAME, "password": "salah"}).check()
    assert not result.ok and "login refused (535" in result.detail
    assert "SIAR_SECRET_SUREL_HUMAS_PASSWORD" in result.detail


def test_a_login_without_encryption_is_refused_naming_the_account_field_and_fix(
        cert_dir: Path) -> None:
    with FakeSMTP(cert_dir, security="none", username=USERNAME, password=PASSWORD) as server:
        with pytest.raises(ConfigError) as refused:
            channel_for(server)
        message = str(refused.value)
        assert "'surel-humas'" in message and 'security = "none"' in message
        assert "in clear text" in message and "allow_plaintext_login = true" in message
        assert PASSWORD not in message
        assert server.logins == []


def test_a_trusted_relay_may_take_a_login_without_encryption_when_the_account_says_so(
        cert_dir: Path) -> None:
    with FakeSMTP(cert_dir, security="none", username=USERNAME, password=PASSWORD) as server:
        channel = channel_for(server, allow_plaintext_login=True)
        assert isinstance(channel.publish(make_delivery(TEXT)), Published)
        assert channel.check().ok
        assert server.logins == [USERNAME, USERNAME]


def test_check_says_when_the_server_offers_no_login_at_all(cert_dir: Path) -> None:
    with FakeSMTP(cert_dir, security="none", username=None) as server:
        result = channel_for(server, allow_plaintext_login=True).check()
        assert not result.ok and "offers no login" in result.detail


def test_allow_plaintext_login_must_be_a_boolean(smtp: FakeSMTP) -> None:
    with pytest.raises(ConfigError, match="allow_plaintext_login must be true or false"):
        channel_for(smtp, allow_plaintext_login="yes")


def test_a_header_option_with_a_line_break_is_a_config_error(smtp: FakeSMTP) -> None:
    with pytest.raises(ConfigError, match="option from_name contains a line feed"):
        channel_for(smtp, from_name="Humas\nBcc: semua@example.id")


def test_an_unknown_security_mode_is_a_config_error(smtp: FakeSMTP) -> None:
    with pytest.raises(ConfigError, match="security"):
        channel_for(smtp, security="ssl3")


def test_no_secret_appears_in_outcomes_check_or_dry_run(smtp: FakeSMTP) -> None:
    bad = {"username": USERNAME, "password": "kata-sandi-bocor"}
    assert_no_secret(channel_for(smtp, secrets=bad).publish(make_delivery(TEXT)), bad)
    assert_no_secret(channel_for(smtp, secrets=bad).check(), ["kata-sandi-bocor"])
    dry = channel_for(smtp).dry_run_requests(make_delivery(TEXT, subject="Siaran"))
    assert_no_secret(dry, [PASSWORD])
    assert dry[0]["headers"]["Subject"] == "Siaran"
    assert dry[0]["recipients"] == TO + BCC
    assert smtp.messages == []


def test_dry_run_lists_images_without_reading_them(smtp: FakeSMTP) -> None:
    media = [Media(path="/nowhere/foto.jpg", alt="Kegiatan")]
    dry = channel_for(smtp).dry_run_requests(make_delivery(TEXT, media=media))
    assert dry[0]["images"] == [{"path": "/nowhere/foto.jpg", "alt": "Kegiatan"}]


# --- one HTML document --------------------------------------------------------------------


class _Structure(HTMLParser):
    """How many of each element and declaration a document has, and where images are."""

    def __init__(self, document: str) -> None:
        super().__init__()
        self.declarations: list[str] = []
        self.tags: Counter[str] = Counter()
        self.open: list[str] = []
        self.images_in_body: list[str] = []
        self.images_elsewhere: list[str] = []
        self.feed(document)
        self.close()

    def handle_decl(self, decl: str) -> None:
        self.declarations.append(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        if tag == "img":
            src = dict(attrs).get("src") or ""
            (self.images_in_body if "body" in self.open else self.images_elsewhere).append(src)
        elif tag not in ("meta", "br", "hr", "link"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag):]


def test_the_composed_html_goes_out_as_one_document_with_the_images_in_its_body(
        smtp: FakeSMTP, photo_jpeg: Path) -> None:
    doc = make_release("Warga binaan **menjahit** seragam.", base_dir=photo_jpeg.parent,
                       images=[{"path": photo_jpeg.name, "alt": "Menjahit"}])
    variant = compose(doc, AccountSettings(name="surel-humas", network="email"),
                      make_settings())
    assert variant.extra["html"].lstrip().startswith("<!DOCTYPE html>")  # the template's

    channel_for(smtp).publish(make_delivery(variant))

    message = smtp.messages[0].message
    html_part = _Structure(body_of(message, "html"))
    assert [d.lower() for d in html_part.declarations] == ["doctype html"]
    assert (html_part.tags["html"], html_part.tags["head"], html_part.tags["body"]) == (1, 1, 1)
    (image,) = [part for part in message.walk() if part.get_content_maintype() == "image"]
    assert html_part.images_in_body == [f"cid:{image['Content-ID'].strip('<>')}"]
    assert html_part.images_elsewhere == []


def test_html_without_a_document_of_its_own_is_wrapped_into_one(smtp: FakeSMTP,
                                                                 photo_jpeg: Path) -> None:
    media = [Media(path=str(photo_jpeg), alt="Kegiatan")]
    channel_for(smtp).publish(make_delivery(TEXT, html="<p>Isi rilis.</p>", media=media))
    html_part = _Structure(body_of(smtp.messages[0].message, "html"))
    assert len(html_part.declarations) == 1 and html_part.tags["body"] == 1
    assert len(html_part.images_in_body) == 1 and html_part.images_elsewhere == []


# --- a subject is one line -----------------------------------------------------------------


def test_a_subject_with_a_carriage_return_is_refused_before_it_is_queued() -> None:
    channel = EmailChannel(AccountConfig(name="surel-humas", network="email"), {})
    problem = channel.preflight(make_variant(TEXT, subject="Jadwal Kunjungan\rBcc: x@y.id"))
    assert problem is not None
    assert "subject" in problem and "title" in problem
    assert "a carriage return (CR) after 'Jadwal Kunjungan'" in problem
    assert "on one line" in problem


def test_a_post_queued_with_such_a_subject_earlier_is_rejected_not_sent(
        smtp: FakeSMTP) -> None:
    with watch_sends() as watch:
        outcome = channel_for(smtp).publish(make_delivery(TEXT, subject="Jadwal\rKunjungan"))
    assert isinstance(outcome, Rejected) and "carriage return" in outcome.reason
    assert smtp.messages == [] and watch.creates == 0


@given(subject=st.text(min_size=1, max_size=60))
def test_every_subject_preflight_accepts_makes_a_valid_message(subject: str) -> None:
    channel = EmailChannel(AccountConfig(name="e", network="email",
                                         options={"from": USERNAME}), {})
    variant = make_variant(TEXT, subject=subject)
    if channel.preflight(variant) is None:
        message = channel.build_message(make_delivery(variant), with_images=False)
        assert "\n" not in str(message["Subject"]) and "\r" not in str(message["Subject"])
    else:
        assert any(ord(c) < 32 or ord(c) == 127 or 0x80 <= ord(c) < 0xA0
                   or c in "\u2028\u2029" for c in subject)


# --- the send is watched ---------------------------------------------------------------------


def test_the_final_dot_of_data_is_noted_as_the_create(smtp: FakeSMTP) -> None:
    with watch_sends() as sent:
        assert isinstance(channel_for(smtp).publish(make_delivery(TEXT)), Published)
    assert sent.creates == 1 and not sent.create_unsettled

    smtp.drop_after_data()
    with watch_sends() as dropped:
        assert isinstance(channel_for(smtp).publish(make_delivery(TEXT)), InDoubt)
    assert dropped.creates == 1 and dropped.create_unsettled


def test_nothing_is_noted_when_the_transaction_ends_before_data(smtp: FakeSMTP) -> None:
    for address in TO + BCC:
        smtp.refuse_recipient(address, "550 5.1.1 No such user")
    with watch_sends() as watch:
        assert isinstance(channel_for(smtp).publish(make_delivery(TEXT)), Rejected)
    assert watch.creates == 0
