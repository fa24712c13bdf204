"""Siar Desk's pages: the calendar, a release (the preview cards of `siar preview --html`,
posts, attempt log), approval and decline by an approver, reschedule and cancel by staff,
the status page — served for real, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest

from scheduler import audit, queries, queue
from scheduler.preview import render_cards
from scheduler.states import Status
from scheduler.timeparse import from_db, zone
from tests.web.conftest import Served, csrf


def statuses(served: Served) -> set[str]:
    _release, posts = queries.release_with_posts(served.engine, served.release_id)
    return {p.status for p in posts}


def test_a_page_asks_for_login_first(served: Served) -> None:
    import requests

    answer = requests.get(f"{served.url}/kalender", allow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/masuk")


def test_the_calendar_shows_the_release_on_its_day_in_the_units_zone(
        served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    browser = served.login("rina")
    _release, [post] = queries.release_with_posts(served.engine, served.release_id)
    local = from_db(post.due_at).astimezone(zone("Asia/Jakarta"))
    for view in ("bulan", "minggu"):
        page = browser.get(f"{served.url}/kalender?tampilan={view}&tanggal={local.date()}")
        assert page.status_code == 200
        assert f'href="/rilis/{served.release_id}"' in page.text
        assert f"{local:%H.%M} Rakor Agen Informasi <small>(1)</small>" in page.text
        assert 'class="chip st-awaiting_approval"' in page.text
        assert 'title="akun-a: awaiting approval"' in page.text
    monkeypatch.setenv("SIAR_LANG", "id")
    month = browser.get(f"{served.url}/kalender?tampilan=bulan&tanggal=2026-12-10").text
    assert "Desember 2026" in month and "Senin" in month and "Minggu" in month
    assert '<html lang="id">' in month
    monkeypatch.setenv("SIAR_LANG", "en")
    month = browser.get(f"{served.url}/kalender?tampilan=bulan&tanggal=2026-12-10").text
    assert "December 2026" in month and "Monday" in month


def test_the_release_page_shows_the_same_cards_as_preview_html(served: Served) -> None:
    from channels.variant import Variant

    page = served.login("kasubag").get(f"{served.url}/rilis/{served.release_id}").text
    _release, posts = queries.release_with_posts(served.engine, served.release_id)
    assert render_cards([Variant.from_json(p.variant) for p in posts]) in page
    assert 'id="setujui"' in page and 'id="tolak"' in page
    assert 'name="waktu"' not in page  # an approver does not reschedule


def test_an_approver_approves_with_a_comment_and_the_audit_log_names_them(
        served: Served) -> None:
    browser = served.login("kasubag")
    page = browser.get(f"{served.url}/rilis/{served.release_id}")
    done = browser.post(f"{served.url}/rilis/{served.release_id}/setujui",
                        data={"csrf": csrf(page.text), "komentar": "Silakan tayang"})
    assert done.status_code == 200 and done.url.endswith("?ok=setujui")
    assert statuses(served) == {Status.SCHEDULED}
    last = audit.entries(served.engine)[-1]
    assert (last.actor, last.action, last.detail["comment"]) == ("kasubag", "approve",
                                                                  "Silakan tayang")


def test_staff_reschedule_which_asks_for_approval_again_and_cancel(served: Served) -> None:
    browser = served.login("rina")
    page = browser.get(f"{served.url}/rilis/{served.release_id}").text
    assert 'id="setujui"' not in page  # staf cannot approve
    moved = browser.post(f"{served.url}/rilis/{served.release_id}/jadwal",
                         data={"csrf": csrf(page), "waktu": "31/12/2030 10.00"})
    assert moved.status_code == 200, moved.text
    _release, [post] = queries.release_with_posts(served.engine, served.release_id)
    assert from_db(post.due_at) == datetime(2030, 12, 31, 10, tzinfo=zone("Asia/Jakarta"))
    assert post.status == Status.AWAITING_APPROVAL
    wrong = browser.post(f"{served.url}/rilis/{served.release_id}/jadwal",
                         data={"csrf": csrf(page), "waktu": "kapan-kapan"})
    assert wrong.status_code == 400 and "kapan-kapan" in wrong.text
    past = browser.post(f"{served.url}/rilis/{served.release_id}/jadwal",
                        data={"csrf": csrf(page), "waktu": "1/1/2020 10.00"})
    assert past.status_code == 400 and "in the past" in past.text
    browser.post(f"{served.url}/rilis/{served.release_id}/batal", data={"csrf": csrf(page)})
    assert statuses(served) == {Status.CANCELLED}
    assert [e.action for e in audit.entries(served.engine)] == ["queue", "reschedule", "cancel"]


def test_the_status_page_shows_what_siar_status_shows(served: Served) -> None:
    queue.approve(served.engine, [1], by="kasubag")
    page = served.login("admin").get(f"{served.url}/status").text
    assert "Queue by state" in page and "Oldest overdue post" in page
    assert "st-scheduled" in page and "no daemon has run yet" in page
