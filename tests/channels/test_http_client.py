""":func:`channels.http.request` over real sockets: what each failure means, TLS, proxies,
keep-alive, the deadline while sending and the cap on compressed answers.

A failure before the first byte of the request left is ``NotSent``; after it, ``InDoubt``
for the request that creates the post and ``NotSent`` for any other.
"""

from __future__ import annotations

import contextlib
import datetime
import gzip
import os
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.base import InDoubt, NotSent, Rejected, watch_sends
from channels.http import make_session, request
from tests.faults.server import Received, ScriptedServer, answer

OK = answer("200 OK", b'{"ok": true}')


def replying(raw: bytes) -> Any:
    def script(_: Received, conn: socket.socket) -> bool:
        conn.sendall(raw)
        return True
    return script


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def first_connection(handle: Callable[[socket.socket], None]) -> Iterator[int]:
    """A port whose first connection goes, raw, to ``handle`` on a thread of its own (for
    what :class:`ScriptedServer` cannot do: answer before the request is complete)."""
    listener = socket.create_server(("127.0.0.1", 0))

    def accept() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                handle(conn)

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


def reset(conn: socket.socket) -> None:
    """Abort the connection with an RST, as a crashing proxy would."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


# --- before anything left: not sent -----------------------------------------------------

@pytest.mark.parametrize("create", [True, False])
def test_refused_is_not_sent_and_the_token_in_the_url_is_redacted(create: bool) -> None:
    url = f"http://127.0.0.1:{closed_port()}/bot123456:SECRETTOKEN/sendMessage"
    with watch_sends() as watch:
        outcome = request(make_session(), "POST", url, secrets=["123456:SECRETTOKEN"],
                          json={"text": "hi"}, create=create)
    assert isinstance(outcome, NotSent)
    assert "connection failed" in outcome.reason and "SECRETTOKEN" not in outcome.reason
    assert "/bot***/sendMessage" in outcome.reason
    assert watch.creates == 0  # nothing left: the create was never noted


def test_an_unknown_host_is_not_sent() -> None:
    outcome = request(make_session(), "GET", "http://no-such-host.invalid/x")
    assert isinstance(outcome, NotSent) and "connection failed" in outcome.reason


def test_a_connect_timeout_is_not_sent() -> None:
    """A listener whose accept queue is full drops new SYNs: the connect times out."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        waiting = []
        for _ in range(4):  # fill the accept queue
            client = socket.socket()
            client.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                client.connect(listener.getsockname())
            waiting.append(client)
        port = listener.getsockname()[1]
        outcome = request(make_session(), "POST", f"http://127.0.0.1:{port}/x", json={},
                          timeout=(0.2, 5), create=True)
        for client in waiting:
            client.close()
    assert isinstance(outcome, NotSent) and outcome.reason.startswith("connect timeout")


def test_a_server_that_does_not_speak_tls_is_a_tls_error_not_sent() -> None:
    def plain_http(conn: socket.socket) -> None:
        conn.recv(1024)  # the TLS ClientHello
        conn.sendall(answer("400 Bad Request"))

    with first_connection(plain_http) as port:
        outcome = request(make_session(), "POST", f"https://127.0.0.1:{port}/x", json={},
                          create=True)
    assert isinstance(outcome, NotSent) and outcome.reason.startswith("TLS error")


@pytest.mark.parametrize(("url", "headers"), [
    ("http://exa mple.test:99999/x", {}), ("ftp://example.test/x", {}),
    ("http://127.0.0.1:1/x", {"Authorization": "Bearer s3cret\nX-Injected: 1"})])
def test_a_request_that_can_never_be_sent_is_rejected(url: str, headers: dict[str, str]) -> None:
    outcome = request(make_session(), "POST", url, headers=headers, create=True,
                      secrets=["s3cret\nX-Injected: 1"])
    assert isinstance(outcome, Rejected), outcome
    assert outcome.reason.startswith("the request cannot be sent: ")
    assert "s3cret" not in outcome.reason


# --- after it left: in doubt for a create -----------------------------------------------

@pytest.mark.parametrize("read", [0.2, 1])  # 1: whole seconds, sent through libcurl
@pytest.mark.parametrize(("create", "kind"), [(True, InDoubt), (False, NotSent)])
def test_no_answer_within_the_read_timeout(create: bool, kind: type, read: float) -> None:
    gone = threading.Event()

    def silent(_: Received, conn: socket.socket) -> bool:
        gone.wait(10)  # answers nothing until the test is over
        return False

    with ScriptedServer(silent) as server:
        outcome = request(make_session(), "POST", f"{server.url}/x", json={"a": 1},
                          timeout=(2, read), create=create)
        gone.set()
    assert isinstance(outcome, kind), outcome
    assert str(outcome).count(f"no answer in {read:g}s after sending") == 1
    assert len(server.received) == 1  # never retried


@pytest.mark.parametrize("how", ["closed before answering", "reset before answering",
                                 "reset mid-answer", "cut mid-body", "garbage status",
                                 "undecodable gzip"])
def test_a_connection_broken_after_sending_a_create_is_in_doubt(how: str) -> None:
    def script(received: Received, conn: socket.socket) -> bool:
        if received.target == "/warm":  # a good answer first: the connection is kept
            conn.sendall(OK)
            return True
        if how == "reset mid-answer":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Le")
            reset(conn)
        elif how == "reset before answering":
            reset(conn)
        elif how == "cut mid-body":
            conn.sendall(OK[:-5])
            conn.shutdown(socket.SHUT_RDWR)
        elif how == "garbage status":
            conn.sendall(b"SMTP ready\r\n\r\n")
        elif how == "undecodable gzip":
            conn.sendall(answer("200 OK", b"not gzip at all", (("Content-Encoding", "gzip"),)))
        return False

    with ScriptedServer(script) as server:
        fresh = request(make_session(), "POST", f"{server.url}/x", json={"a": 1}, create=True)
        session = make_session()
        warm = request(session, "GET", f"{server.url}/warm")
        pooled = request(session, "POST", f"{server.url}/x", json={"a": 1}, create=True)
    assert isinstance(warm, requests.Response) and warm.ok
    for outcome in (fresh, pooled):
        assert isinstance(outcome, InDoubt), outcome
    assert [r.target for r in server.received] == ["/x", "/warm", "/x"]  # nothing resent
    assert server.connections == 2


def test_the_create_is_noted_when_its_first_byte_leaves() -> None:
    with ScriptedServer(replying(OK)) as server, watch_sends() as watch:
        response = request(make_session(), "POST", f"{server.url}/x", json={}, create=True)
        request(make_session(), "GET", f"{server.url}/x")
    assert isinstance(response, requests.Response) and response.ok
    assert watch.creates == 1 and watch.create_unsettled


def test_an_early_answer_to_a_large_upload_is_read() -> None:
    """A server that refuses a large body (413) after the headers and closes."""
    def refuse_uploads(conn: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(65536)
        conn.sendall(answer("413 Payload Too Large", b'{"error": "too big"}',
                            (("Connection", "close"),)))
        conn.shutdown(socket.SHUT_WR)
        reset(conn)

    with first_connection(refuse_uploads) as port:
        response = request(make_session(), "POST", f"http://127.0.0.1:{port}/media",
                           data=bytes(16 * 1024 * 1024), headers={"Content-Type": "image/jpeg"})
    assert isinstance(response, requests.Response)
    assert (response.status_code, response.json()) == (413, {"error": "too big"})


# --- the deadline and the cap ----------------------------------------------------------

@pytest.mark.parametrize(("create", "kind"), [(True, InDoubt), (False, NotSent)])
def test_the_deadline_ends_an_upload_the_server_stops_reading(create: bool, kind: type) -> None:
    """The server takes the headers and then reads nothing: the body fills the socket
    buffers and the write blocks until the deadline shuts the socket down."""
    over = threading.Event()

    def stall(conn: socket.socket) -> None:
        conn.recv(1024)
        over.wait(30)

    # long enough for the first byte to leave on a loaded host (before it, the deadline
    # would rightly make the create not sent); the write then blocks until it passes
    session = make_session(deadline=2.0)
    session.get_adapter("http://").min_upload_rate = 1e12  # type: ignore[attr-defined]
    with first_connection(stall) as port:
        try:
            outcome = request(session, "POST", f"http://127.0.0.1:{port}/media",
                              data=bytes(64 * 1024 * 1024), timeout=(5, 30), create=create)
        finally:
            over.set()
    assert isinstance(outcome, kind) and "2s deadline" in str(outcome), outcome


def test_a_compressed_answer_counts_at_its_decoded_size() -> None:
    bomb = gzip.compress(bytes(20 * 1024 * 1024))  # 20 MB of zeros in ~20 KB
    raw = answer("200 OK", bomb, (("Content-Encoding", "gzip"),))
    with ScriptedServer(replying(raw)) as server:
        outcome = request(make_session(max_response_bytes=1024 * 1024), "GET", server.url)
    assert isinstance(outcome, NotSent)
    assert "larger than the 1,048,576-byte cap" in outcome.reason


def test_an_answer_under_the_cap_is_read_whole_and_decoded() -> None:
    body = b'{"items": [' + b'"x",' * 100_000 + b'"y"]}'
    raw = answer("200 OK", gzip.compress(body), (("Content-Encoding", "gzip"),))
    with ScriptedServer(replying(raw)) as server:
        response = request(make_session(max_response_bytes=len(body)), "GET", server.url)
    assert isinstance(response, requests.Response) and response.content == body


# --- keep-alive ------------------------------------------------------------------------

def test_a_keep_alive_connection_is_reused_and_a_closed_one_replaced() -> None:
    closes = iter([False, True, False, False])  # the server closes after the 2nd answer
    closed = threading.Event()

    def script(_: Received, conn: socket.socket) -> bool:
        conn.sendall(OK)
        if next(closes):
            conn.shutdown(socket.SHUT_RDWR)
            closed.set()
            return False
        return True

    with ScriptedServer(script) as server:
        session = make_session()
        for call in range(4):
            if call == 2:
                assert closed.wait(5)
            response = request(session, "POST", f"{server.url}/x", json={}, create=True)
            assert isinstance(response, requests.Response) and response.ok
        assert server.connections == 2


def test_a_redirect_to_another_host_drops_the_authorization() -> None:
    with ScriptedServer(replying(OK)) as elsewhere:
        target = elsewhere.url.replace("127.0.0.1", "localhost") + "/landing"
        moved = answer("307 Temporary Redirect", b"", (("Location", target),))
        with ScriptedServer(replying(moved)) as server:
            session = make_session()
            session.auth = ("redaksi", "rahasia")
            response = request(session, "GET", f"{server.url}/start")
    assert isinstance(response, requests.Response) and response.ok
    assert server.received[0].headers["authorization"].startswith("Basic ")
    assert "authorization" not in elsewhere.received[0].headers


# --- proxies ---------------------------------------------------------------------------

@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1:1,127.0.0.1",
                                      "127.0.0.0/8", "*", "{port}"])
def test_a_host_in_no_proxy_is_reached_directly(monkeypatch: pytest.MonkeyPatch,
                                                no_proxy: str) -> None:
    """requests reads NO_PROXY only with trust_env on, which make_session turns off (it
    rescanned the environment on every call): Siar reads it once, with the proxies. An
    intranet WordPress or Mastodon behind NO_PROXY must not be sent to the proxy."""
    with ScriptedServer(replying(OK)) as server:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
        monkeypatch.setenv("NO_PROXY", no_proxy.replace("{port}", server.url.split("//")[1]))
        outcome = request(make_session(), "POST", f"{server.url}/x")
    assert isinstance(outcome, requests.Response) and outcome.ok


@pytest.mark.parametrize("no_proxy", ["example.org", "10.0.0.0/8", "127.0.0.1:1"])
def test_a_host_not_in_no_proxy_still_goes_through_the_proxy(
        monkeypatch: pytest.MonkeyPatch, no_proxy: str) -> None:
    with ScriptedServer(replying(OK)) as server:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
        monkeypatch.setenv("NO_PROXY", no_proxy)
        outcome = request(make_session(), "POST", f"{server.url}/x")
    assert isinstance(outcome, NotSent)  # the proxy refused the connection
    assert not server.received


# --- TLS -------------------------------------------------------------------------------

@dataclass
class Certificates:
    ca_file: Path
    server: ssl.SSLContext


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """A private CA and a certificate it signed for 127.0.0.1."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)

    def cert(subject: str, key: Any, issuer: str, signer: Any, *, ca: bool) -> Any:
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                   .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(hours=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if ca:
            builder = builder.add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            builder = builder.add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            builder = builder.add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()),
                critical=False)
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    ca = cert("Siar test CA", ca_key, "Siar test CA", ca_key, ca=True)
    leaf = cert("127.0.0.1", leaf_key, "Siar test CA", ca_key, ca=False)
    folder = tmp_path_factory.mktemp("tls")
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(pem) + leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(folder / "leaf.pem")
    return Certificates(folder / "ca.pem", server)


@pytest.fixture
def tls_server(certificates: Certificates) -> Iterator[ScriptedServer]:
    with ScriptedServer(replying(OK), tls=certificates.server) as server:
        yield server


def test_https_is_verified_against_the_configured_ca_bundle(
        certificates: Certificates, tls_server: ScriptedServer,
        monkeypatch: pytest.MonkeyPatch) -> None:
    unknown_ca = request(make_session(), "POST", f"{tls_server.url}/x", json={}, create=True)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_file))
    trusted = request(make_session(), "POST", f"{tls_server.url}/x", json={}, create=True)
    other_name = request(make_session(), "GET", tls_server.url.replace("127.0.0.1", "localhost"))
    # certifi does not know our CA: refused before anything was sent
    assert isinstance(unknown_ca, NotSent) and unknown_ca.reason.startswith("TLS error")
    assert "CERTIFICATE_VERIFY_FAILED" in unknown_ca.reason
    assert isinstance(trusted, requests.Response) and trusted.json() == {"ok": True}
    # the certificate names 127.0.0.1, not localhost: the host name is checked
    assert isinstance(other_name, NotSent) and other_name.reason.startswith("TLS error")


def test_a_tls_error_after_a_create_left_is_in_doubt(
        certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    """The request went out encrypted; the answer is a forged TLS record. Whatever the
    kind of error, after the request left a create may have been applied, on every way
    of calling (here with per-call auth, as X's OAuth 1.0a signs its requests)."""
    def forged_record(_: Received, conn: socket.socket) -> bool:
        with socket.socket(fileno=os.dup(conn.fileno())) as raw:
            raw.sendall(b"\x17\x03\x03\x00\x20" + bytes(32))
        return False

    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificates.ca_file))
    with ScriptedServer(forged_record, tls=certificates.server) as server:
        outcome = request(make_session(), "POST", f"{server.url}/2/tweets", json={"text": "t"},
                          auth=requests.auth.HTTPBasicAuth("app", "s3cret"), create=True)
    assert isinstance(outcome, InDoubt), outcome
    assert len(server.received) == 1


def test_the_ca_bundle_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "missing.pem"))
    session = make_session()
    assert session.verify == str(tmp_path / "missing.pem")
    # a bundle that is not there is a configuration error, raised, not a network failure
    with pytest.raises(OSError, match="CA certificate bundle"):
        request(session, "GET", "https://127.0.0.1:9/x")


# --- the pool key, remembered per origin ----------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(first=st.sampled_from(["http://a.example", "https://a.example", "https://a.example:8443",
                              "https://b.example", "http://10.0.0.1:8080"]),
       second=st.sampled_from(["http://a.example", "https://a.example", "https://a.example:8443",
                               "https://b.example", "http://10.0.0.1:8080"]),
       verify=st.sampled_from([True, False, "/etc/ssl/certs/ca-certificates.crt", "/etc/ssl"]))
def test_the_remembered_pool_key_is_what_requests_works_out_for_each_origin(
        first: str, second: str, verify: bool | str) -> None:
    from requests.adapters import HTTPAdapter

    from channels.transport import LimitedAdapter

    ours, theirs = LimitedAdapter(), HTTPAdapter()
    for url in (first, second, first + "/api/v1/statuses?x=1"):
        prepared = requests.Request("POST", url + ("" if "?" in url else "/p")).prepare()
        assert ours.build_connection_pool_key_attributes(prepared, verify) == \
            theirs.build_connection_pool_key_attributes(prepared, verify)
