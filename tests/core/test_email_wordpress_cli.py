"""The CLI's messages for e-mail and WordPress accounts: a subject that cannot be a header
is refused by `siar add`; `siar accounts check` names what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.conftest import row_counts

EMAIL_ACCOUNT = """
[[accounts]]
name = "surel-humas"
network = "email"
[accounts.options]
host = "127.0.0.1"
security = "none"
from = "humas@lapas.example.go.id"
to = ["redaksi@koran.example.id"]
"""


@pytest.fixture
def with_email(workspace: Path) -> Path:
    config = workspace / "siar.toml"
    config.write_text(config.read_text() + EMAIL_ACCOUNT)
    return workspace


@pytest.mark.parametrize(("escaped", "named"), [("\\r", "a carriage return (CR)"),
                                                ("\\e", "the control character U+001B")])
def test_add_refuses_a_title_that_cannot_be_an_email_subject(with_email, siar, escaped,
                                                             named):
    (with_email / "rilis.md").write_text(
        f'---\ntitle: "Jadwal Kunjungan{escaped}Lapas"\nat: 2099-09-24 10:00 WIB\n---\n'
        "Layanan kunjungan dibuka kembali.\n", encoding="utf-8")
    before = row_counts(with_email)

    result = siar("add", "rilis.md")

    assert result.code == 1, result
    assert "Traceback" not in result.err
    message = " ".join(result.err.split())
    for fragment in ("rilis.md", "surel-humas (email)", "subject", "title", named,
                     "after 'Jadwal Kunjungan'", "on one line"):
        assert fragment in message, f"{fragment!r} missing from: {message}"
    assert row_counts(with_email) == before


def test_accounts_check_refuses_a_login_in_clear_text(with_email, siar):
    (with_email / ".env").write_text("SIAR_SECRET_SUREL_HUMAS_USERNAME=humas@lapas.example.go.id\n"
                                     "SIAR_SECRET_SUREL_HUMAS_PASSWORD=sandi-rahasia-42\n")
    result = siar("accounts", "check", "surel-humas")
    assert result.code == 1 and "Traceback" not in result.err
    output = " ".join(result.out.split())
    assert "FAILED" in output and "'surel-humas'" in output
    assert 'security = "none"' in output and "allow_plaintext_login = true" in output
    assert "sandi-rahasia-42" not in result.out + result.err


def test_accounts_check_names_a_wrong_wordpress_password(wordpress, workspace, siar):
    (workspace / ".env").write_text("SIAR_SECRET_WEB_LAPAS_USERNAME=humas\n"
                                    "SIAR_SECRET_WEB_LAPAS_APP_PASSWORD=salah sandi\n")
    result = siar("accounts", "check", "web-lapas")
    assert result.code == 1
    output = " ".join(result.out.split())
    assert "FAILED" in output and "application password of user 'humas' is wrong" in output
    assert "SIAR_SECRET_WEB_LAPAS_APP_PASSWORD" in output
    assert "Authorization header" not in output and "salah sandi" not in output
