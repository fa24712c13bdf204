"""What every video upload shares (channels/uploads.py): bodies streamed from disk, one
step sent again on its own, and a bounded wait for processing."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from channels.base import NotSent, Rejected
from channels.uploads import (
    FileBody,
    Processed,
    StillProcessing,
    Waiting,
    read_chunk,
    retried,
    wait_until_processed,
)


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

    chunks = [read_chunk(str(path), i, size) for i in range(-(-len(data) // size))]

    assert b"".join(chunks) == data and all(len(c) == size for c in chunks[:-1])


def test_a_step_is_sent_again_only_while_another_try_can_mend_it() -> None:
    answers = iter([NotSent("reset"), NotSent("reset"), "stored"])
    assert retried(lambda: next(answers), pause=0) == "stored"

    refused = iter([Rejected("too big"), "never asked"])
    assert retried(lambda: next(refused), pause=0) == Rejected("too big")

    throttled = iter([NotSent("slow down", rate_limited=True), "never asked"])
    assert isinstance(retried(lambda: next(throttled), pause=0), NotSent)


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
