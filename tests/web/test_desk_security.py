"""Siar Desk's defences, against the real server on SQLite and PostgreSQL: a form without
its CSRF token is refused, a session planted before login is worthless after it, a staf
user cannot approve, an approval link works once and not after it expires, failed logins
are limited, cookies are HttpOnly/SameSite (Secure behind HTTPS), and no page or log line
holds a password, a token or an account's secret."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from scheduler import audit, queries
from scheduler.states import Status
from scheduler.web import links, sessions
from tests.daemon.processes import ROOT
from tests.web.conftest import PASSWORDS, Served, csrf


def status(served: Served) -> set[str]:
    _release, posts = queries.release_with_posts(served.engine, served.release_id)
    return {p.status for p in posts}


def test_a_form_without_its_csrf_token_is_refused(served: Served) -> None:
    browser = served.login("kasubag")
    for data in ({}, {"csrf": "tebakan"}, {"csrf": ""}):
        refused = browser.post(f"{served.url}/rilis/{served.release_id}/setujui", data=data)
        assert refused.status_code == 403
    # another user's token is no good either
    other = served.login("admin").get(f"{served.url}/rilis/{served.release_id}").text
    refused = browser.post(f"{served.url}/rilis/{served.release_id}/setujui",
                           data={"csrf": csrf(other)})
    assert refused.status_code == 403
    login = requests.post(f"{served.url}/masuk", data={"nama": "kasubag",
                                                       "sandi": PASSWORDS["kasubag"]})
    assert login.status_code == 403  # the login form too
    assert status(served) == {Status.AWAITING_APPROVAL}


def test_a_session_planted_before_login_is_worthless_after_it(served: Served) -> None:
    old = served.login("rina")
    old_token = old.cookies[sessions.COOKIE]
    # the same browser logs in again (as someone else): it gets a new token
    page = old.get(f"{served.url}/masuk")
    again = old.post(f"{served.url}/masuk", data={"csrf": csrf(page.text), "nama": "kasubag",
                                                  "sandi": PASSWORDS["kasubag"]},
                     allow_redirects=False)
    assert again.status_code == 303, again.text[-300:]
    assert old.cookies[sessions.COOKIE] != old_token
    assert sessions.find(served.engine, old_token) is None
    planted = requests.get(f"{served.url}/kalender", cookies={sessions.COOKIE: old_token},
                           allow_redirects=False)
    assert planted.status_code == 303  # to the login page


def test_a_staf_user_cannot_approve(served: Served) -> None:
    browser = served.login("rina")
    page = browser.get(f"{served.url}/rilis/{served.release_id}").text
    refused = browser.post(f"{served.url}/rilis/{served.release_id}/setujui",
                           data={"csrf": csrf(page)})
    assert refused.status_code == 403 and "penyetuju" in refused.text
    assert status(served) == {Status.AWAITING_APPROVAL}
    approver = served.login("kasubag")
    page = approver.get(f"{served.url}/rilis/{served.release_id}").text
    refused = approver.post(f"{served.url}/rilis/{served.release_id}/batal",
                            data={"csrf": csrf(page)})
    assert refused.status_code == 403  # nor an approver cancel


def siar(served: Served, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "siar.toml").write_text(f'database_url = "{served.settings.database_url}"\n'
                                        'approval = "required"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")}
    env |= {"COLUMNS": "300", "SIAR_LANG": "en", "SIAR_WEB_URL": served.url}
    return subprocess.run([sys.executable, "-m", "scheduler.cli", "--config",
                           str(tmp_path / "siar.toml"), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_an_approval_link_works_once_and_records_whom_it_was_issued_to(
        served: Served, tmp_path: Path) -> None:
    made = siar(served, tmp_path, "approve", "--link", str(served.release_id), "--to",
                "kalapas", "--as", "rina")
    assert made.returncode == 0, made.stderr
    url = made.stdout.strip()
    assert url.startswith(f"{served.url}/tautan/")
    phone = requests.Session()  # no login
    page = phone.get(url)
    assert page.status_code == 200 and "kalapas" in page.text and 'id="setujui"' in page.text
    done = phone.post(url, data={"csrf": csrf(page.text), "aksi": "setujui"})
    assert done.status_code == 200 and "kalapas" in done.text
    assert status(served) == {Status.SCHEDULED}
    last = audit.entries(served.engine)[-1]
    assert (last.actor, last.action, last.detail["link_issued_to"]) == (
        "kalapas", "approve", "kalapas")
    assert phone.get(url).status_code == 410  # used: refused
    assert phone.post(url, data={"csrf": csrf(page.text), "aksi": "tolak",
                                 "komentar": "x"}).status_code == 410


def test_an_expired_or_unknown_link_is_refused(served: Served) -> None:
    token = links.issue(served.engine, served.release_id, issued_to="kalapas",
                        issued_by="rina", lifetime=timedelta(0))
    assert requests.get(f"{served.url}/tautan/{token}").status_code == 410
    assert requests.get(f"{served.url}/tautan/bukan-token").status_code == 410
    assert links.spend(served.engine, token) is None
    assert status(served) == {Status.AWAITING_APPROVAL}


def test_a_link_without_a_recipient_or_for_nothing_awaiting_exits_1(
        served: Served, tmp_path: Path) -> None:
    missing = siar(served, tmp_path, "approve", "--link", str(served.release_id))
    assert missing.returncode == 1 and "--to" in missing.stderr
    unknown = siar(served, tmp_path, "approve", "--link", "99", "--to", "kalapas")
    assert unknown.returncode == 1 and "no release with id 99" in unknown.stderr


def test_failed_logins_are_limited(served: Served) -> None:
    browser = requests.Session()
    token = csrf(browser.get(f"{served.url}/masuk").text)
    for _ in range(5):
        wrong = browser.post(f"{served.url}/masuk", data={"csrf": token, "nama": "kasubag",
                                                          "sandi": "salah-salah-salah"})
        assert wrong.status_code == 401
    right = browser.post(f"{served.url}/masuk", data={
        "csrf": token, "nama": "kasubag", "sandi": PASSWORDS["kasubag"]},
        allow_redirects=False)
    assert right.status_code == 429 and sessions.COOKIE not in browser.cookies


def test_cookies_are_httponly_samesite_and_secure_behind_https(served: Served) -> None:
    browser = requests.Session()
    token = csrf(browser.get(f"{served.url}/masuk").text)
    plain = browser.post(f"{served.url}/masuk", data={
        "csrf": token, "nama": "rina", "sandi": PASSWORDS["rina"]}, allow_redirects=False)
    cookie = plain.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    proxied = requests.Session()
    headers = {"X-Forwarded-Proto": "https"}  # the reverse proxy says HTTPS
    token = csrf(proxied.get(f"{served.url}/masuk", headers=headers).text)
    # (the client keeps a Secure cookie for HTTPS; the proxy would pass it on)
    behind = requests.post(f"{served.url}/masuk", headers=headers, data={
        "csrf": token, "nama": "rina", "sandi": PASSWORDS["rina"]},
        cookies={"siar_masuk": token}, allow_redirects=False)
    assert "Secure" in behind.headers["set-cookie"]


def test_no_page_or_log_holds_a_secret(served: Served, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    account_secret = "token-akun-a-sangat-rahasia"
    monkeypatch.setenv(served.settings.accounts[0].secret_variable("token"), account_secret)
    caplog.set_level(logging.DEBUG)
    link = links.issue(served.engine, served.release_id, issued_to="kalapas",
                       issued_by="rina")
    pages = [requests.get(f"{served.url}/tautan/{link}").text]
    requests.post(f"{served.url}/masuk", data={"nama": "kasubag", "sandi": "salah"})
    browser = served.login("admin")
    session_token = browser.cookies[sessions.COOKIE]
    for path in ("/kalender", "/kalender?tampilan=minggu", f"/rilis/{served.release_id}",
                 "/status", "/masuk"):
        pages.append(browser.get(f"{served.url}{path}").text)
    secrets = [account_secret, session_token, *PASSWORDS.values()]
    # the server's side: what the test's own HTTP client logs is not the desk's
    logged = "\n".join(r.getMessage() for r in caplog.records
                       if not r.name.startswith("urllib3"))
    for secret in secrets:
        assert all(secret not in page for page in pages)
        assert secret not in logged
    assert link not in logged
    with served.engine.connect() as connection:  # nor stored in the clear
        from sqlalchemy import text

        stored = " ".join(str(row) for table in ("desk_user", "desk_session", "approval_link")
                          for row in connection.execute(text(f"SELECT * FROM {table}")))
    assert all(secret not in stored for secret in [*secrets, link])


def test_after_login_the_desk_sends_only_to_its_own_pages(served: Served) -> None:
    for elsewhere in ("//evil.example", "/\\evil.example", "https://evil.example"):
        browser = requests.Session()
        token = csrf(browser.get(f"{served.url}/masuk").text)
        answer = browser.post(f"{served.url}/masuk", params={"lanjut": elsewhere}, data={
            "csrf": token, "nama": "rina", "sandi": PASSWORDS["rina"]}, allow_redirects=False)
        assert answer.headers["location"] == "/kalender"
