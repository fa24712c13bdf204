"""The contract every adapter keeps, checked against every built-in network's fake.

One suite over all networks (as APScheduler and huey test every store and every storage
with one shared suite): a refused connection is ``NotSent``; a create that got no answer
is ``InDoubt``; refused credentials are ``AuthFailed`` (the dispatcher then pauses the
account); throttling is ``NotSent`` rate-limited with the network's wait; a server error
means what the adapter documents; a garbled answer to the create leaves it in doubt; a
network that can look a post up finds it or proves it absent, one that cannot says so;
a dry run sends nothing and shows no secret; a prepared video changed since it was
queued is refused before any request. What is particular to one network
stays in its own test file; what each network does its own way is declared in
``contract_networks.py``.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from channels import registry
from channels.base import AuthFailed, Channel, Delivery, InDoubt, NotSent, Published, Rejected
from channels.console import DryRunChannel
from channels.variant import Media
from tests.channels.contract_networks import (
    CONTRACTS,
    Contract,
    Fake,
    contract_clip,
    fresh_delivery,
)
from tests.channels.helpers import Attempt, as_text, assert_no_secret, attempt
from tests.fakes.photos import photo_url
from tests.faults.server import FaultServer

WAIT = 120
# the e-mail fake takes a login without TLS, as a trusted relay may (the adapter is told so)
pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning")


def built_in() -> list[str]:
    """The networks Siar itself registers (a third-party adapter brings its own tests)."""
    return [name for name, entry_point in registry.available().items()
            if entry_point.dist is not None  # type: ignore[attr-defined]
            and entry_point.dist.name == "siar"]  # type: ignore[attr-defined]


def having(check: str) -> list[str]:
    """Built-in networks the case applies to; one without an entry is kept (it fails)."""
    def applies(name: str) -> bool:
        entry = CONTRACTS.get(name)
        return entry is None or {
            "network": entry.start is not None,
            "http": entry.http,
            "throttle": entry.throttle is not None,
            "probe": registry.load(name).can_probe,
            "no probe": not registry.load(name).can_probe,
            "fetches by URL": registry.load(name).fetches_media_by_url,
        }[check]
    return sorted(name for name in built_in() if applies(name))


def contract_of(network: str) -> Contract:
    entry = CONTRACTS.get(network)
    assert entry is not None, (f"network {network!r} has no contract entry: add one to "
                               "tests/channels/contract_networks.py")
    return entry


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, Fake]]:
    """Each network's fake, started when a case first needs it, stopped at the end."""
    running: dict[str, Fake] = {}
    yield running
    for fake in running.values():
        fake.stop()


StartFake = Callable[[Contract], Fake]


@pytest.fixture
def fake_of(fakes: dict[str, Fake], tmp_path_factory: pytest.TempPathFactory) -> StartFake:
    """The network's running fake, with a clean slate."""
    def fake(entry: Contract) -> Fake:
        if entry.network not in fakes:
            assert entry.start is not None
            fakes[entry.network] = entry.start(tmp_path_factory.mktemp(entry.network)).start()
        running = fakes[entry.network]
        running.reset()
        return running
    return fake


@pytest.fixture
def adapters() -> Iterator[list[Channel]]:
    made: list[Channel] = []
    yield made
    for adapter in made:
        adapter.close()


def sent(channel: Channel, delivery: Delivery) -> Attempt:
    """One attempt, as the dispatcher makes it; the adapter answers, it does not raise
    (channels/base.py: every answer maps onto exactly one outcome)."""
    result = attempt(channel, delivery)
    assert not result.raised, f"the {channel.network} adapter raised: {result.outcome}"
    return result


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_every_built_in_network_has_a_contract_entry() -> None:
    assert set(built_in()) == set(CONTRACTS)
    for entry in CONTRACTS.values():
        if entry.start is None:
            assert "network" in entry.not_applicable, entry.network
        if not entry.http and entry.start is not None:
            assert "http" in entry.not_applicable, entry.network
        if entry.throttle is None and entry.start is not None:
            assert "throttle" in entry.not_applicable, entry.network


@pytest.mark.parametrize("network", built_in())
def test_the_adapter_is_found_by_its_entry_point_and_plans_without_secrets(
        network: str) -> None:
    entry = contract_of(network)

    adapter = entry.build("https://humas.example.go.id", {})

    assert type(adapter) is registry.load(network)
    assert adapter.network == network
    assert adapter.dry_run_requests(entry.delivery())  # dry run and preview need no secret


class Case:
    """One network's adapter and fake for one case."""

    def __init__(self, network: str, fake_of: StartFake, adapters: list[Channel]) -> None:
        self.entry = contract_of(network)
        self.fake = fake_of(self.entry) if self.entry.start is not None else None
        self.adapters = adapters

    def channel(self, url: str | None = None, secrets: dict[str, str] | None = None
                ) -> Channel:
        entry = self.entry
        address = url or (entry.address(self.fake) if self.fake is not None else "")
        adapter = entry.build(address, dict(entry.secrets if secrets is None else secrets))
        self.adapters.append(adapter)
        return adapter

    def posts(self) -> int:
        return self.entry.posts(self.fake)


@pytest.fixture
def case(request: pytest.FixtureRequest, fake_of: StartFake, adapters: list[Channel]) -> Case:
    return Case(request.param, fake_of, adapters)


def cases(check: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("case", having(check), indirect=True)


# --- sending ---------------------------------------------------------------------------


@cases("network")
def test_a_refused_connection_is_not_sent(case: Case) -> None:
    url = case.entry.address(case.fake).rsplit(":", 1)[0] + f":{closed_port()}"
    result = sent(case.channel(url), case.entry.delivery())

    assert isinstance(result.outcome, NotSent) and not result.outcome.rate_limited
    assert result.creates == 0
    assert_no_secret(result.outcome, case.entry.hidden())


@cases("network")
def test_no_answer_after_the_create_was_sent_is_in_doubt(case: Case) -> None:
    case.entry.stall_create(case.fake)

    result = sent(case.channel(), case.entry.delivery())

    assert isinstance(result.outcome, InDoubt), result.outcome
    if case.entry.http:
        assert "after sending" in result.outcome.detail
    assert result.creates == 1
    assert case.posts() == 1  # it was applied: exactly why a resend is not safe
    assert_no_secret(result.outcome, case.entry.hidden())


@cases("network")
def test_refused_credentials_are_an_auth_failure(case: Case) -> None:
    right, wrong = case.entry.secrets, dict(case.entry.wrong_secrets)

    result = sent(case.channel(secrets=wrong), case.entry.delivery())

    assert isinstance(result.outcome, AuthFailed), result.outcome
    assert case.posts() == 0
    assert_no_secret(result.outcome, case.entry.hidden(wrong) + case.entry.hidden(right))


@cases("http")
def test_a_401_answer_to_the_create_is_an_auth_failure(case: Case) -> None:
    case.entry.fail_create(case.fake, 401, {"error": "The access token is invalid"})

    result = sent(case.channel(), case.entry.delivery())

    assert isinstance(result.outcome, AuthFailed), result.outcome
    assert result.outcome.http_status == 401


@cases("throttle")
def test_throttling_the_networks_own_way_is_not_sent_with_its_wait(case: Case) -> None:
    assert case.entry.throttle is not None
    case.entry.throttle(case.fake, WAIT)

    result = sent(case.channel(), case.entry.delivery())

    outcome = result.outcome
    assert isinstance(outcome, NotSent) and outcome.rate_limited, outcome
    assert outcome.retry_after is not None and WAIT - 5 <= outcome.retry_after <= WAIT
    assert case.posts() == 0


@pytest.fixture(scope="module")
def throttling() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


@pytest.mark.parametrize("fault", ["rate_limited_seconds", "rate_limited_date"])
@cases("http")
def test_a_429_waits_as_retry_after_says(case: Case, throttling: FaultServer,
                                         fault: str) -> None:
    throttling.fault = fault
    throttling.wait_seconds = WAIT
    throttling.received.clear()

    result = sent(case.channel(throttling.url), case.entry.delivery())

    outcome = result.outcome
    assert isinstance(outcome, NotSent) and outcome.rate_limited, outcome
    assert outcome.retry_after is not None and WAIT - 5 <= outcome.retry_after <= WAIT


@cases("network")
def test_a_server_error_on_the_create_means_what_the_adapter_documents(case: Case) -> None:
    # a careless server echoes what it was sent: no secret may reach the outcome
    echo = " ".join(case.entry.hidden())
    case.entry.fail_create(case.fake, 503, {"error": f"Service Unavailable: {echo}"})

    result = sent(case.channel(), case.entry.delivery())

    assert isinstance(result.outcome, case.entry.server_error_means), result.outcome
    if case.entry.http:
        assert result.outcome.http_status == 503
    assert_no_secret(result.outcome, case.entry.hidden())


@cases("http")
def test_a_garbled_answer_to_the_create_leaves_it_in_doubt(case: Case) -> None:
    case.entry.fail_create(case.fake, 200, b'{"id": "1880000000000000001", "url": ')

    result = sent(case.channel(), case.entry.delivery())

    # a receiver that takes any 2xx as its acceptance (webhook, Slack) has the post
    expected = InDoubt if case.entry.reads_answer else Published
    assert isinstance(result.outcome, expected), result.outcome
    assert result.creates == 1


# --- settling a post in doubt ----------------------------------------------------------


@cases("probe")
def test_probe_finds_a_post_whose_answer_was_lost(case: Case) -> None:
    channel, delivery = case.channel(), case.entry.delivery()
    case.entry.stall_create(case.fake)
    assert isinstance(sent(channel, delivery).outcome, InDoubt)

    settled = channel.probe(delivery)

    assert isinstance(settled, Published), settled
    assert delivery.done_part(0) is not None
    assert settled.remote_id == delivery.done_part(0).remote_id  # type: ignore[union-attr]
    assert case.posts() == 1


@cases("probe")
def test_probe_says_not_sent_when_the_post_is_absent(case: Case) -> None:
    channel, delivery = case.channel(), case.entry.delivery()
    case.entry.drop_create(case.fake)
    assert isinstance(sent(channel, delivery).outcome, InDoubt)
    case.entry.absent(case.fake, delivery)
    before = case.posts()

    settled = channel.probe(delivery)

    assert isinstance(settled, NotSent), settled
    assert case.posts() == before


@cases("no probe")
def test_a_network_that_cannot_look_posts_up_says_it_cannot_tell(case: Case) -> None:
    channel, delivery = case.channel(), case.entry.delivery()
    if case.fake is not None:
        case.entry.stall_create(case.fake)
        assert isinstance(sent(channel, delivery).outcome, InDoubt)
        case.fake.reset()

    assert channel.probe(delivery) is None
    if case.fake is not None:
        assert received_nothing(case.fake)


# --- images fetched by URL ----------------------------------------------------------------


@cases("fetches by URL")
@pytest.mark.parametrize("where", ["unreachable", "not an image"])
def test_an_image_the_network_cannot_fetch_is_refused_and_nothing_is_published(
        case: Case, where: str) -> None:
    url = (photo_url("not-an-image.jpg") if where == "not an image"
           else f"http://127.0.0.1:{closed_port()}/kegiatan.jpg")
    delivery = fresh_delivery(media=[Media(path="/data/rilis/kegiatan.jpg", alt="Kalapas",
                                           url=url)])

    result = sent(case.channel(), delivery)

    assert isinstance(result.outcome, Rejected), result.outcome
    assert result.creates == 0 and case.entry.posts(case.fake) == 0
    assert_no_secret(result.outcome, case.entry.hidden())


# --- the prepared video -------------------------------------------------------------------


def taking_video() -> list[str]:
    return sorted(name for name in built_in() if registry.load(name).video_rules is not None)


@pytest.mark.parametrize("case", taking_video(), indirect=True)
@pytest.mark.parametrize("since", ["edited", "truncated", "removed"])
def test_a_prepared_video_changed_since_it_was_queued_is_refused_before_any_request(
        case: Case, since: str, tmp_path: Path) -> None:
    data = contract_clip().read_bytes()
    sha256 = hashlib.sha256(data).hexdigest()
    stored = tmp_path / "media" / sha256 / "klip.mp4"  # as the media store keeps it
    stored.parent.mkdir(parents=True)
    stored.write_bytes({"edited": data[:-1] + bytes([data[-1] ^ 1]),
                        "truncated": data[:-100], "removed": data}[since])
    if since == "removed":
        stored.unlink()
    delivery = fresh_delivery(
        media=[Media(path=str(stored), kind="video", mime="video/mp4", width=64, height=112,
                     bytes=len(data), sha256=sha256, duration=1.0, alt="Rakor")],
        title="Rakor Agen Informasi", tags=["HumasBergerakBersama"])

    result = sent(case.channel(), delivery)

    assert isinstance(result.outcome, Rejected), result.outcome
    assert "queue the release again" in result.outcome.reason
    assert received_nothing(case.fake)  # not a login, not a token, not a byte


# --- dry run -----------------------------------------------------------------------------


def received_nothing(fake: Fake) -> bool:
    if hasattr(fake, "requests"):
        return fake.requests == []
    return fake.messages == [] and fake.logins == []  # SMTP


@pytest.mark.parametrize("case", built_in(), indirect=True)
def test_a_dry_run_sends_nothing_and_shows_no_secret(case: Case) -> None:
    channel, delivery = case.channel(), case.entry.delivery()

    planned = channel.dry_run_requests(delivery)
    outcome = DryRunChannel(channel).publish(delivery)

    assert isinstance(outcome, Published)
    assert planned
    assert_no_secret([planned, delivery.state["dry_run_requests"]], case.entry.hidden())
    assert_no_secret(as_text(outcome), case.entry.hidden())
    if case.fake is not None:
        assert received_nothing(case.fake)

