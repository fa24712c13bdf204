"""Every way back to ``retry`` is bounded: an adapter that raises, a probe that proves "not
sent" — each try counted, each wait longer (with jitter), and after ``max_attempts`` the
post fails and staff are told. Real adapters against the fake networks, both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.engine import Engine

from channels.base import Delivery, InDoubt, NotSent, Outcome, Published, Rejected
from channels.variant import Media, Variant
from scheduler import queue
from scheduler.adapters import Adapters
from scheduler.daemon.attempt import Publisher
from scheduler.daemon.events import Recorded
from scheduler.daemon.service import Daemon
from scheduler.daemon.starter import BEGIN_AHEAD, BEGIN_WINDOW
from scheduler.db import session
from scheduler.models import Alert, Attempt, Post, Status
from scheduler.releases import ReleaseDoc
from scheduler.settings import AccountSettings, DaemonSettings, Settings
from scheduler.timeparse import utcnow
from tests.daemon.conftest import make_settings, queue_post
from tests.daemon.draining import run_until_drained
from tests.fakes.counting import CountingChannel, CountingNetwork
from tests.fakes.mastodon import FakeMastodon
from tests.fakes.server import Fault
from tests.fakes.smtp import FakeSMTP

NODE = "node-a"
#: what a misconfigured proxy or a maintenance page answers instead of the API's JSON
MAINTENANCE_PAGE = "<!DOCTYPE html><html><body><h1>We'll be back soon</h1></body></html>"


def stored(engine: Engine, post_id: int) -> Post:
    with session(engine) as s:
        return s.get(Post, post_id)  # type: ignore[return-value]


def log_of(engine: Engine, post_id: int) -> list[Attempt]:
    with session(engine) as s:
        return list(s.scalars(select(Attempt).where(Attempt.post_id == post_id)
                              .order_by(Attempt.id)))


def alerts(engine: Engine) -> list[Alert]:
    # The row is what the daemon stores once per alert (sending is notify's business).
    with session(engine) as s:
        return list(s.scalars(select(Alert).order_by(Alert.created_at)))


# --- an adapter that raises before anything is created -------------------------------------


@pytest.fixture
def mastodon() -> Iterator[FakeMastodon]:
    with FakeMastodon() as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "kegiatan.jpg"
    Image.new("RGB", (800, 600), (30, 110, 60)).save(path, quality=90)
    return path


def mastodon_settings(db_url: str, server: FakeMastodon, monkeypatch: pytest.MonkeyPatch,
                      **daemon: object) -> Settings:
    account = AccountSettings(name="mastodon-lapas", network="mastodon", base_url=server.url)
    monkeypatch.setenv(account.secret_variable("access_token"), server.token)
    return Settings(database_url=db_url, node_name=NODE, accounts=[account],
                    daemon=DaemonSettings(**({"poll_interval": 0.2, "lease_seconds": 5.0,
                                              "heartbeat_seconds": 0.5} | daemon)))


def test_a_media_upload_answered_with_an_html_page_is_retried_a_few_times_then_given_up(
        db_url: str, engine: Engine, mastodon: FakeMastodon, photo: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Seen on a real instance: 218 uploads of the same image in 14 s, forever.
    mastodon.fail_next(Fault(status=200, body=MAINTENANCE_PAGE, path="/api/v2/media",
                             headers={"Content-Type": "text/html; charset=utf-8"}), times=100)
    settings = mastodon_settings(db_url, mastodon, monkeypatch, max_attempts=4,
                                 backoff_base=0.2, backoff_max=10.0)
    text = "Lapas menggelar pelatihan kerja #HumasBergerakBersama"
    variant = Variant(account="mastodon-lapas", channel="mastodon", parts=[text],
                      length=[len(text)], limit=500,
                      media=[Media(path=str(photo), alt="Peserta pelatihan")])
    _, [post] = queue.enqueue(engine, ReleaseDoc(source="t", title="Pelatihan", body="Isi."),
                              [variant], utcnow())

    run_until_drained(Daemon(settings, engine=engine))

    final = stored(engine, post.id)  # type: ignore[arg-type]
    assert final.status == Status.FAILED
    assert "JSONDecodeError" in (final.last_error or "")  # names the error
    assert "before any request that creates the post" in (final.last_error or "")
    tries = [a for a in log_of(engine, post.id) if a.outcome is not None]  # type: ignore[arg-type]
    assert [a.outcome for a in tries] == ["not_sent"] * 4  # never "in doubt"
    assert len(mastodon.calls("POST", "/api/v2/media")) == 4
    assert mastodon.calls("POST", "/api/v1/statuses") == []
    # each wait at least half its ceiling (base · 2^(n-1), full jitter): they grow. An
    # attempt's row starts when it is begun, up to BEGIN_AHEAD (and the window of the posts
    # begun with it) before its time, so a gap between two rows may be that much shorter
    early = BEGIN_AHEAD + BEGIN_WINDOW
    gaps = [(b.started_at - a.started_at).total_seconds() for a, b in pairwise(tries)]
    assert [gap >= 0.2 * 2 ** n / 2 - early for n, gap in enumerate(gaps)] == [True] * 3, gaps
    [alert] = [a for a in alerts(engine) if a.key.startswith("gave-up:")]
    assert "JSONDecodeError" in alert.message and "siar reschedule" in alert.message


# --- a local exception in a non-HTTP adapter (item 12) ----------------------------------------


@pytest.fixture(scope="module")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeSMTP]:
    with FakeSMTP(tmp_path_factory.mktemp("smtp")) as server:
        yield server


def test_an_email_subject_queued_with_a_carriage_return_is_rejected_never_in_doubt(
        db_url: str, engine: Engine, smtp_server: FakeSMTP,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # Queued by a version that did not check subjects (preflight refuses it now).
    account = AccountSettings(name="surel-humas", network="email", options={
        "host": "127.0.0.1", "port": smtp_server.port, "security": smtp_server.security,
        "ca_file": str(smtp_server.cert_path), "from": smtp_server.username,
        "to": ["redaksi@media.example"], "connect_timeout": 1.0, "read_timeout": 1.0})
    monkeypatch.setenv(account.secret_variable("username"), smtp_server.username or "")
    monkeypatch.setenv(account.secret_variable("password"), smtp_server.password or "")
    settings = Settings(database_url=db_url, node_name=NODE, accounts=[account])
    text = "Jam layanan kunjungan berubah."
    variant = Variant(account="surel-humas", channel="email", parts=[text], length=[len(text)],
                      limit=None, extra={"subject": "Jam Layanan\rKunjungan"})
    _, [post] = queue.enqueue(engine, ReleaseDoc(source="t", title="Jam", body="Isi."),
                              [variant], utcnow())
    publisher = Publisher(engine, settings, Adapters(settings), NODE)

    [claim] = queue.claim_due(engine, NODE)
    assert isinstance(publisher.publish(claim), Rejected)
    assert stored(engine, post.id).status == Status.FAILED  # type: ignore[arg-type]
    assert smtp_server.messages == []


class LocallyBrokenChannel(CountingChannel):
    """A network that is not HTTP at all, whose adapter fails before anything leaves (a
    library refusing a value, a file it cannot read)."""

    def publish(self, delivery: Delivery) -> Outcome:
        raise ValueError("header value contains a line break")


def test_an_adapter_failing_before_anything_left_is_not_sent_then_given_up(
        engine: Engine, db_url: str, tokens: object) -> None:
    tokens(["akun-a"])  # type: ignore[operator]
    settings = make_settings(db_url, ["akun-a"], "http://127.0.0.1:9", max_attempts=2,
                             backoff_base=10.0, backoff_max=20.0)
    adapters = Adapters(settings, channel_classes={"counting": LocallyBrokenChannel})
    publisher = Publisher(engine, settings, adapters, NODE)
    post_id = queue_post(engine, "akun-a", utcnow())

    [claim] = queue.claim_due(engine, NODE)
    first = publisher.publish(claim)
    assert isinstance(first, NotSent) and "ValueError" in first.reason
    post = stored(engine, post_id)
    assert post.status == Status.RETRY and post.not_before > utcnow()
    [claim] = queue.claim_due(engine, NODE, now=post.not_before)
    assert isinstance(publisher.publish(claim), NotSent)
    assert stored(engine, post_id).status == Status.FAILED


# --- an exception after the create request left: in doubt, and settled once ------------------


@pytest.fixture
def counting_setup(engine: Engine, network: CountingNetwork, tokens: object,
                   db_url: str) -> tuple[Engine, CountingNetwork, Publisher, list]:
    tokens(["akun-a"])  # type: ignore[operator]
    settings = make_settings(db_url, ["akun-a"], network.url, options={"read_timeout": 0.5},
                             max_attempts=3, backoff_base=10.0, backoff_max=1000.0)
    events: list[Recorded] = []
    adapters = Adapters(settings, channel_classes={"counting": CountingChannel})
    publisher = Publisher(engine, settings, adapters, NODE,
                            on_event=events.append)
    return engine, network, publisher, events


def test_an_adapter_raising_after_the_create_request_left_is_in_doubt_and_probed_once(
        counting_setup: tuple) -> None:
    engine, network, publisher, _ = counting_setup
    # the post is created, then the answer is a page the adapter cannot read
    network.fail_next(Fault(apply=True, status=201, body=MAINTENANCE_PAGE))
    post_id = queue_post(engine, "akun-a", utcnow())
    [claim] = queue.claim_due(engine, NODE)
    assert isinstance(publisher.publish(claim), InDoubt)
    assert stored(engine, post_id).status == Status.UNKNOWN
    assert isinstance(publisher.probe(stored(engine, post_id)), Published)
    assert stored(engine, post_id).status == Status.PUBLISHED
    assert network.total() == 1


# --- a probe that proves "not sent" goes through the same policy ----------------------------


def test_a_probe_proving_not_sent_backs_off_counts_the_try_and_gives_up_with_an_alert(
        counting_setup: tuple) -> None:
    engine, network, publisher, events = counting_setup
    post_id = queue_post(engine, "akun-a", utcnow())
    later = utcnow()
    retries = []  # (when the probe began, the next try it set, when the probe ended)
    for _ in range(3):
        # no answer in time, and the network never applied it: in doubt, then probed
        network.fail_next(Fault(delay=1.0, status=504, body={}))
        [claim] = queue.claim_due(engine, NODE, now=later)
        assert isinstance(publisher.publish(claim), InDoubt)
        began = utcnow()
        assert isinstance(publisher.probe(stored(engine, post_id)), NotSent)
        ended = utcnow()
        post = stored(engine, post_id)
        if post.status != Status.RETRY:
            break
        retries.append((began, post.not_before, ended))
        later = post.not_before
    # backoff_base 10 s, counted from the probe: the first wait in [5, 10] s, the second in
    # [10, 20] s — not "now"
    for (began, next_try, ended), ceiling in zip(retries, (10, 20), strict=True):
        assert began + timedelta(seconds=ceiling / 2) <= next_try, retries
        assert next_try <= ended + timedelta(seconds=ceiling), retries
    post = stored(engine, post_id)
    assert post.status == Status.FAILED
    assert [a.outcome for a in log_of(engine, post_id) if a.outcome.startswith("settled")] \
        == ["settled_retry", "settled_retry", "settled_failed"]
    assert events[-1].counter == "probe_not_sent" and events[-1].give_up
    assert network.total() == 0


def test_rate_limits_do_not_count_as_failed_tries_and_staff_sending_again_restarts_the_count(
        engine: Engine) -> None:
    post_id = queue_post(engine, "akun-a", utcnow())
    moment = utcnow()

    def attempt_ends(outcome: NotSent) -> None:
        nonlocal moment
        [claim] = queue.claim_due(engine, NODE, now=moment)
        queue.begin_publishing(engine, claim, NODE)
        moment += timedelta(seconds=1)
        assert queue.finalize(engine, claim.post_id, claim.attempt, outcome, retry_at=moment)

    for _ in range(4):
        attempt_ends(NotSent("HTTP 429", retry_after=1, rate_limited=True))
    assert queue.failed_tries(engine, post_id) == 0
    attempt_ends(NotSent("connection refused"))
    attempt_ends(NotSent("connection refused"))
    assert queue.failed_tries(engine, post_id) == 2  # although this is attempt 6
    queue.reschedule(engine, [post_id], utcnow())
    assert queue.failed_tries(engine, post_id) == 0
    attempt_ends(NotSent("connection refused"))
    assert queue.failed_tries(engine, post_id) == 1
