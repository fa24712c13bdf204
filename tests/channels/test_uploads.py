"""What every video upload shares (channels/uploads.py): the file read part by part from
any offset, bodies streamed from disk, one step sent again on its own only for a passing
failure, and a bounded wait for processing."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from channels.base import AuthFailed, NotSent, Rejected
from channels.uploads import (
    FileBody,
    Processed,
    StillProcessing,
    Waiting,
    by_status,
    read_part,
    retried,
    wait_until_processed,
)

# --- the file, part by part ---------------------------------------------------------------


@given(data=st.binary(max_size=300_000), head=st.binary(max_size=50),
       tail=st.binary(max_size=50), reads=st.lists(st.integers(1, 100_000), max_size=20))
def test_a_file_body_is_its_head_the_file_and_its_tail_however_it_is_read(
        tmp_path_factory, data: bytes, head: bytes, tail: bytes, reads: list[int]) -> None:
    path = tmp_path_factory.mktemp("body") / "video.mp4"
    path.write_bytes(data)
    body = FileBody(path, head=head, tail=tail)

    pieces = [body.read(size) for size in reads]
    pieces.append(body.read())

    assert len(body) == len(head) + len(data) + len(tail)
    assert b"".join(pieces) == head + data + tail
    assert body.read() == b""


@given(data=st.binary(min_size=1, max_size=5000), size=st.integers(1, 700))
def test_chunks_cover_the_file_in_order(tmp_path_factory, data: bytes, size: int) -> None:
    path = tmp_path_factory.mktemp("chunks") / "video.mp4"
    path.write_bytes(data)

    chunks = [read_part(str(path), i * size, size) for i in range(-(-len(data) // size))]

    assert b"".join(chunks) == data and all(len(c) == size for c in chunks[:-1])


@given(data=st.binary(min_size=1, max_size=2000), part=st.integers(1, 700),
       start=st.integers(0, 2000))
def test_the_parts_from_any_offset_are_the_rest_of_the_file_in_order(
        tmp_path_factory, data: bytes, part: int, start: int) -> None:
    path = tmp_path_factory.mktemp("parts") / "klip.mp4"
    path.write_bytes(data)

    offsets = list(range(start, len(data), part))
    parts = [read_part(str(path), offset, part) for offset in offsets]

    assert b"".join(parts) == data[start:]
    assert all(len(chunk) <= part for chunk in parts)
    assert read_part(str(path), start, len(data)) == data[start:]
    assert b"".join(FileBody(path, offset=min(start, len(data)))) == data[start:]


# --- one step retried on its own ----------------------------------------------------------


def sender(*answers: Any) -> tuple[Callable[[], Any], list[int]]:
    """A step that answers ``answers`` in turn, counting its calls."""
    calls: list[int] = []

    def send() -> Any:
        calls.append(1)
        return answers[len(calls) - 1]
    return send, calls


def test_a_step_is_sent_again_only_while_another_try_can_mend_it() -> None:
    answers = iter([NotSent("reset"), NotSent("reset"), "stored"])
    assert retried(lambda: next(answers), pause=0) == "stored"

    refused = iter([Rejected("too big"), "never asked"])
    assert retried(lambda: next(refused), pause=0) == Rejected("too big")

    throttled = iter([NotSent("slow down", rate_limited=True), "never asked"])
    assert isinstance(retried(lambda: next(throttled), pause=0), NotSent)


def test_a_part_failing_for_a_passing_reason_is_sent_again_until_it_is_taken() -> None:
    send, calls = sender(NotSent("HTTP 503"), NotSent("reset"), "etag-1")

    assert retried(send, pause=0) == "etag-1"
    assert len(calls) == 3


def test_a_part_is_tried_at_most_three_times() -> None:
    send, calls = sender(*[NotSent("HTTP 500")] * 5)

    assert isinstance(retried(send, pause=0), NotSent)
    assert len(calls) == 3


def test_a_refusal_a_throttle_or_refused_credentials_are_not_sent_again() -> None:
    for answer in (Rejected("HTTP 400"), NotSent("429", rate_limited=True),
                   AuthFailed("HTTP 401")):
        send, calls = sender(answer, "etag")
        assert retried(send, pause=0) == answer
        assert len(calls) == 1


def test_the_pause_between_tries_doubles() -> None:
    pauses: list[float] = []
    send, _ = sender(*[NotSent("HTTP 502")] * 3)

    retried(send, pause=1.5, sleep=pauses.append)

    assert pauses == [1.5, 3.0]


# --- waiting for processing ---------------------------------------------------------------


def test_waiting_follows_the_networks_suggestion_and_ends_when_processed() -> None:
    waits: list[float] = []
    answers = iter([Waiting(after=2.0), Waiting(), Processed("blob")])

    done = wait_until_processed(lambda: next(answers), limit=60, every=5, first=1,
                                sleep=waits.append)

    assert done == Processed("blob") and waits == [1, 2.0, 5]


def test_a_wait_that_never_ends_is_bounded() -> None:
    asked = itertools.count()

    def never() -> Waiting:
        next(asked)
        return Waiting(progress="encoding, 40 %")

    done = wait_until_processed(never, limit=0.05, every=0.01)

    assert isinstance(done, StillProcessing) and done.progress == "encoding, 40 %"
    assert "still being processed" in done.in_doubt("the video").detail


def test_a_question_without_answer_is_asked_again_a_few_times() -> None:
    answers = iter([NotSent("reset"), NotSent("reset"), Processed("id")])
    assert wait_until_processed(lambda: next(answers), limit=60, every=0,
                                sleep=lambda s: None) == Processed("id")

    lost = iter([NotSent("down")] * 3)
    assert wait_until_processed(lambda: next(lost), limit=60, every=0,
                                sleep=lambda s: None) == NotSent("down")


def test_polling_a_status_returns_the_first_status_that_is_not_pending() -> None:
    statuses = iter(["PROCESSING", "PROCESSING", "AVAILABLE"])

    done = wait_until_processed(by_status(lambda: next(statuses), ("PROCESSING",)),
                                limit=60, every=0, sleep=lambda s: None)

    assert done == Processed("AVAILABLE")


def test_polling_a_status_that_never_ends_times_out_with_the_last_status() -> None:
    done = wait_until_processed(by_status(lambda: "IN_PROGRESS", ("IN_PROGRESS",)),
                                limit=0, every=0)

    assert isinstance(done, StillProcessing) and done.progress == "IN_PROGRESS"


def test_an_outcome_while_polling_a_status_stops_the_polling_when_no_miss_is_allowed(
        ) -> None:
    failed = NotSent("connection refused")
    send, calls = sender(failed, "AVAILABLE")

    done = wait_until_processed(by_status(send, ("IN_PROGRESS",)), limit=60, every=0,
                                misses=1)

    assert done is failed and len(calls) == 1
