"""``siar --help`` and friends: every command listed, in a PR officer's order, each with its
whole summary; arguments explained; no arguments at all is a usage error that shows help."""

from __future__ import annotations

import re

COMMANDS = ["init", "add", "preview", "count", "queue", "show", "cancel", "reschedule",
            "history", "approve", "reject", "audit", "report", "accounts", "daemon", "status",
            "resolve", "db", "web", "users"]


def summaries(help_text: str) -> dict[str, str]:
    """The "Commands:" section as {command: summary}, lines wrapped by click joined again."""
    section = help_text.split("Commands:\n", 1)[1]
    listed: dict[str, str] = {}
    for name, first, rest in re.findall(r"^  (\S+) +(.*)\n((?:   +.*\n)*)", section, re.M):
        text = first
        for line in rest.splitlines():
            text += ("" if text.endswith("-") else " ") + line.strip()
        listed[name] = text
    return listed


def listed_commands(help_text: str) -> list[str]:
    return list(summaries(help_text))


def test_help_lists_every_command_staff_first_then_operators(workspace, siar):
    result = siar("--help")
    assert result.code == 0
    assert listed_commands(result.out) == COMMANDS
    assert "[env var: SIAR_CONFIG]" in result.out


def test_a_commands_summary_is_its_whole_first_sentence_not_cut_short(workspace, siar):
    listed = summaries(siar("--help").out)
    assert listed["daemon"] == ("Publish each post at its time. Stop with Ctrl-C or SIGTERM "
                                "(in-flight posts finish).")
    assert listed["resolve"] == ("Settle a post in doubt (its daemon stopped while sending and "
                                 "the network cannot tell).")


def test_arguments_and_options_are_explained(workspace, siar):
    text = " ".join(siar("preview", "--help").out.split())
    assert "FILE|-|ID A release file, - for stdin, or the id of a queued release." in text
    assert "--html PATH Also write a self-contained HTML page" in text
    assert "[default: 200]" in siar("queue", "--help").out


def test_subcommand_groups_list_their_commands(workspace, siar):
    assert listed_commands(siar("accounts", "--help").out) == ["check", "refresh", "resume"]
    assert listed_commands(siar("db", "--help").out) == ["upgrade", "downgrade", "backup",
                                                         "current"]


def test_no_arguments_shows_the_help_on_stdout_as_a_usage_error(workspace, siar):
    result = siar()
    assert result.code == 2
    assert listed_commands(result.out) == COMMANDS
