"""Writing a secret into .env: what is written reads back exactly, or nothing is written."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from dotenv import dotenv_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scheduler.envfile import check_token, write_secret
from scheduler.errors import SiarError
from scheduler.settings import AccountSettings, load_settings

VARIABLE = "SIAR_SECRET_THREADS_LAPAS_ACCESS_TOKEN"
#: what RFC 6749 allows in a token (VSCHAR without the space)
TOKEN_CHARACTERS = "".join(chr(c) for c in range(0x21, 0x7F))
EXISTING = ("# Humas secrets\nSIAR_SECRET_X_LAPAS_API_KEY=x-key-1234\n"
            "SIAR_SECRET_EMAIL_HUMAS_PASSWORD='it''s\\\\'\n"
            'SIAR_SECRET_WP_NOTE="two\nlines"\n')
fixture_per_example = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


@fixture_per_example
@given(st.text(TOKEN_CHARACTERS, min_size=1, max_size=300))
def test_a_token_reads_back_exactly_or_nothing_is_written(tmp_path: Path, token: str):
    env = tmp_path / ".env"
    env.write_text(EXISTING)
    before = dotenv_values(env)
    try:
        write_secret(env, VARIABLE, token)
    except SiarError as exc:
        # only a "${…}" python-dotenv would expand cannot be stored as it is
        assert "${" in token and "nothing was written" in str(exc)
        assert env.read_text() == EXISTING
        return
    assert dotenv_values(env) == {**before, VARIABLE: token}


@fixture_per_example
@given(st.text(string.ascii_letters + string.digits + "-._~+/=", min_size=1, max_size=300))
def test_settings_read_the_token_that_was_written(workspace: Path, token: str):
    write_secret(workspace / ".env", VARIABLE, token)
    account = AccountSettings(name="threads-lapas", network="threads")
    assert load_settings().secret(account, "access_token") == token


@given(st.text(TOKEN_CHARACTERS, max_size=20), st.characters(exclude_characters=TOKEN_CHARACTERS),
       st.text(TOKEN_CHARACTERS, max_size=20))
def test_a_token_with_anything_but_visible_ascii_is_refused(head: str, odd: str, tail: str):
    with pytest.raises(SiarError, match="is not a usable token"):
        check_token(head + odd + tail, "the answer")


def test_a_second_assignment_of_the_variable_is_dropped_as_it_would_win(tmp_path: Path):
    env = tmp_path / ".env"
    env.write_text(f"{VARIABLE}=old-1\nOTHER=1\n{VARIABLE}=old-2\n")
    write_secret(env, VARIABLE, "new-token")
    assert env.read_text() == f"{VARIABLE}='new-token'\nOTHER=1\n"
