"""How a fake network processes an uploaded video: answered "in progress" for a few
status questions, then done — or failed, or never done (a test sets the plan per fake).
Shared by the fakes of X, Mastodon, Bluesky, Facebook and LinkedIn, whose APIs all make
a client ask again; each fake names the three states in its API's words."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass
class Processing:
    """One upload's processing: ``polls`` questions are answered "in progress" first;
    then it is done, or failed with ``fails`` (the network's message), or — ``never`` —
    still in progress however often it is asked."""

    polls: int = 2
    fails: str | None = None
    never: bool = False
    asked: int = 0

    def fresh(self) -> Processing:
        """A copy for a new upload (the fake's plan stays as the test set it)."""
        return replace(self, asked=0)

    def ask(self) -> str:
        """One status question: ``in_progress``, ``succeeded`` or ``failed``."""
        self.asked += 1
        return self.state

    def finish(self) -> None:
        """Done at the next question (a test ends processing it had made endless)."""
        self.never, self.polls = False, self.asked

    @property
    def state(self) -> str:
        """``in_progress``, ``succeeded`` or ``failed``, as last asked (asking nothing)."""
        if self.never or self.asked <= self.polls:
            return "in_progress"
        return "failed" if self.fails else "succeeded"
