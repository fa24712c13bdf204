"""The steps every video upload shares (channels/video_upload.py): the file read part by
part, a part retried on its own only for a passing failure, polling bounded in time."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from channels.base import AuthFailed, NotSent, Rejected
from channels.video_upload import TimedOut, file_parts, poll_until, read_range, retry_part


@given(data=st.binary(min_size=1, max_size=2000), part=st.integers(1, 700),
       start=st.integers(0, 2000))
def test_the_parts_from_any_offset_are_the_rest_of_the_file_in_order(
        tmp_path_factory, data: bytes, part: int, start: int) -> None:
    path = tmp_path_factory.mktemp("parts") / "klip.mp4"
    path.write_bytes(data)

    parts = list(file_parts(str(path), part, start))

    assert b"".join(chunk for _, chunk in parts) == data[start:]
    assert all(len(chunk) <= part for _, chunk in parts)
    assert [offset for offset, _ in parts] == list(range(start, len(data), part))[:len(parts)]
    if start < len(data):
        assert read_range(str(path), start, len(data) - 1) == data[start:]


def sender(*answers):
    """A part sender that answers ``answers`` in turn, counting its calls."""
    calls: list[int] = []

    def send():
        calls.append(1)
        return answers[len(calls) - 1]
    return send, calls


def test_a_part_failing_for_a_passing_reason_is_sent_again_until_it_is_taken() -> None:
    send, calls = sender(NotSent("HTTP 503"), NotSent("reset"), "etag-1")

    assert retry_part(send, wait=0) == "etag-1"
    assert len(calls) == 3


def test_a_part_is_tried_at_most_three_times() -> None:
    send, calls = sender(*[NotSent("HTTP 500")] * 5)

    assert isinstance(retry_part(send, wait=0), NotSent)
    assert len(calls) == 3


def test_a_refusal_a_throttle_or_refused_credentials_are_not_sent_again() -> None:
    for answer in (Rejected("HTTP 400"), NotSent("429", rate_limited=True),
                   AuthFailed("HTTP 401")):
        send, calls = sender(answer, "etag")
        assert retry_part(send, wait=0) == answer
        assert len(calls) == 1


def test_polling_returns_the_first_status_that_is_not_pending() -> None:
    statuses = iter(["PROCESSING", "PROCESSING", "AVAILABLE"])

    assert poll_until(lambda: next(statuses), ("PROCESSING",), timeout=60,
                      interval=0) == "AVAILABLE"


def test_polling_that_never_ends_times_out_with_the_last_status() -> None:
    result = poll_until(lambda: "IN_PROGRESS", ("IN_PROGRESS",), timeout=0, interval=0)

    assert result == TimedOut("IN_PROGRESS", 0)


def test_an_outcome_while_polling_stops_the_polling() -> None:
    failed = NotSent("connection refused")

    assert poll_until(lambda: failed, ("IN_PROGRESS",), timeout=60, interval=0) is failed
