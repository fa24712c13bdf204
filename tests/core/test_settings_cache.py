"""The cache of validated settings: a command whose inputs did not change starts without
pydantic-settings, and nothing it prints, returns or stores differs from a full read."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from scheduler import settings_cache
from scheduler.settings import Settings, load_settings

ROOT = Path(__file__).parents[2]
SECRET = "s3cr3t-Token-9f8e7d"


def cache_files(workspace: Path) -> list[Path]:
    folder = workspace / "home" / "cache"
    return sorted(folder.glob("settings-*.json")) if folder.is_dir() else []


def is_cached(config: Path | None = None) -> bool:
    """Whether the settings the inputs of now would give are in the cache (a hit)."""
    path = config or (Path("siar.toml") if Path("siar.toml").is_file() else None)
    inputs = settings_cache.Inputs.gather(path, {})
    return inputs is not None and inputs.cached() is not None


def cold_then_warm(workspace: Path, siar, *args: str) -> tuple[object, object]:
    """``siar ARGS`` with an empty cache (every input read by pydantic-settings), then
    again (the settings from the cache, when the first run could store them)."""
    shutil.rmtree(workspace / "home" / "cache", ignore_errors=True)
    cold = siar(*args)
    warm = siar(*args)
    return cold, warm


# --- the same outcome, cold or warm -----------------------------------------------------------

COMMANDS = [("accounts",), ("accounts", "--json"), ("preview", "rilis.md", "--json")]


@pytest.mark.parametrize("args", COMMANDS)
def test_a_valid_config_prints_the_same_from_the_cache(workspace: Path, siar, args):
    cold, warm = cold_then_warm(workspace, siar, *args)
    assert cold.code == 0
    assert is_cached()
    assert warm == cold


@pytest.mark.parametrize("args", COMMANDS)
def test_the_environment_and_dotenv_override_the_same_way_from_the_cache(
        workspace: Path, siar, monkeypatch: pytest.MonkeyPatch, args):
    monkeypatch.setenv("SIAR_TIMEZONE", "Asia/Makassar")
    (workspace / ".env").write_text("SIAR_CAMPAIGN_HASHTAGS='[\"DariDotEnv\"]'\n"
                                    f"SIAR_SECRET_X_LAPAS_API_KEY={SECRET}\n")
    cold, warm = cold_then_warm(workspace, siar, *args)
    assert cold.code == 0 and is_cached()
    assert warm == cold
    if args[0] == "preview":
        assert "#DariDotEnv" in cold.out


@pytest.mark.parametrize(("toml", "message"), [
    ("dry_rum = true\n", "unknown key 'dry_rum' (did you mean 'dry_run'?)"),
    ('timezone = "Mars/Olympus"\n', "timezone"),
    ('[[accounts]]\nname = "X Lapas"\nnetwork = "x"\n', "accounts.0.name"),
    ("timezone = \n", "cannot read"),
])
def test_a_bad_config_stops_every_run_with_the_same_error_and_is_never_cached(
        workspace: Path, siar, toml: str, message: str):
    (workspace / "siar.toml").write_text(toml)
    cold, warm = cold_then_warm(workspace, siar, "queue")
    assert cold.code == 1 and message in cold.err
    assert warm == cold
    assert cache_files(workspace) == []


def test_a_typo_after_a_cached_run_still_stops_the_command(workspace: Path, siar):
    assert siar("accounts").code == 0 and is_cached()
    config = workspace / "siar.toml"
    config.write_text("dry_rum = true\n" + config.read_text())
    result = siar("accounts")
    assert result.code == 1
    assert "siar.toml: unknown key 'dry_rum' (did you mean 'dry_run'?)" in result.err


def test_an_edit_that_keeps_size_and_modification_time_is_seen(workspace: Path, siar):
    config = workspace / "siar.toml"
    before = siar("preview", "rilis.md", "--json")
    assert "HumasBergerakBersama" in before.out and is_cached()
    times = config.stat()
    config.write_text(config.read_text().replace("HumasBergerakBersama",
                                                 "HumasBergerakBersamb"))
    os.utime(config, ns=(times.st_atime_ns, times.st_mtime_ns))
    assert config.stat().st_size == times.st_size
    after = siar("preview", "rilis.md", "--json")
    assert "HumasBergerakBersamb" in after.out and "HumasBergerakBersama" not in after.out
    assert cold_then_warm(workspace, siar, "preview", "rilis.md", "--json")[0] == after


def test_a_changed_dotenv_is_seen(workspace: Path):
    env = workspace / ".env"
    env.write_text("SIAR_TIMEZONE=Asia/Jayapura\n")
    assert load_settings().timezone == "Asia/Jayapura" and is_cached()
    env.write_text("SIAR_TIMEZONE=Asia/Makassar\n")
    assert load_settings().timezone == "Asia/Makassar"


def test_exposure_warnings_are_printed_from_the_cache_too(workspace: Path, siar):
    env = workspace / ".env"
    env.write_text(f"SIAR_SECRET_X_LAPAS_API_KEY={SECRET}\n")
    env.chmod(0o644)
    cold, warm = cold_then_warm(workspace, siar, "accounts")
    assert "chmod 600" in cold.err and is_cached()
    assert warm == cold


def test_a_damaged_cache_file_is_a_miss(workspace: Path, siar):
    cold = siar("accounts", "--json")
    [cached] = cache_files(workspace)
    good = cached.read_bytes()
    for damaged in (b"", b"garbage", good.replace(b"x-lapas", b"y-lapas"), good[:-7]):
        cached.write_bytes(damaged)
        assert siar("accounts", "--json") == cold
        assert cached.read_bytes() == good  # written again by the full read


def test_the_node_name_is_this_process_s_even_from_the_cache(workspace: Path):
    probe = ("import dataclasses, json, os, sys\nfrom scheduler.settings import load_settings\n"
             "s = load_settings()\n"
             "print(json.dumps(['pydantic_settings' in sys.modules, s.node_name, os.getpid(),"
             " {**dataclasses.asdict(s), 'node_name': None}], default=str))")
    runs = [json.loads(subprocess.run([sys.executable, "-c", probe], cwd=workspace,
                                      env={**os.environ, "PYTHONPATH": str(ROOT)},
                                      capture_output=True, text=True, check=True).stdout)
            for _ in range(2)]
    (cold_loader, cold_name, cold_pid, cold), (warm_loader, warm_name, warm_pid, warm) = runs
    assert cold_loader is True and warm_loader is False  # a hit imports no pydantic-settings
    assert cold_name.endswith(f"-{cold_pid}") and warm_name.endswith(f"-{warm_pid}")
    assert warm == cold


#: every kind of value the settings hold: tables, lists of tables, paths, options with tables
#: of their own, whole numbers for float fields, values from the environment and .env
RICH = """
timezone = "WITA"
default_when = "next-slot"
templates_dir = "templates"
campaign_hashtags = ["HumasBergerakBersama", "Pemasyarakatan"]

[daemon]
workers = 3
poll_interval = 2
http_port = 9464

[notify]
accounts = ["surel-humas"]

[media]
store = "siar"
public_base_url = "https://humas.example.go.id/siar"
directory = "/srv/siar/public-media"
expires_seconds = 600

[mentions.ditjenpas]
name = "Ditjen Pemasyarakatan"
x = "@ditjenpas"

[utm.x]
utm_source = "x"
utm_medium = "social"

[[accounts]]
name = "surel-humas"
network = "email"
options = { to = ["humas@example.go.id"], smtp = { host = "localhost", port = 2525 } }

[[accounts]]
name = "ig-lapas"
network = "instagram"
timezone = "Asia/Jayapura"
approval = "required"
long_text = "truncate"
limit = 1000
enabled = false
"""

#: a fresh process's settings, with the type of every value (``repr``) and what each
#: account's adapter is given; the node name (host and process id) apart
PROBE = """
import dataclasses, json, sys
from scheduler.settings import load_settings
s = load_settings()
node, s.node_name = s.node_name, ""
print(json.dumps({"pydantic": sorted(m for m in sys.modules if m.startswith("pydantic")),
                  "settings": repr(s), "node": node,
                  "adapters": [repr(a.channel_config()) for a in s.accounts]}))
"""


def fresh_process(workspace: Path, **environ: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=workspace, check=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **environ},
                          capture_output=True, text=True)
    return json.loads(done.stdout)


def test_a_hit_imports_no_pydantic_and_gives_what_the_loader_gave(workspace: Path):
    (workspace / "siar.toml").write_text(RICH)
    (workspace / ".env").write_text("SIAR_DAEMON__LEASE_SECONDS=30\n")
    miss = fresh_process(workspace, SIAR_DAEMON__BATCH="16")
    hit = fresh_process(workspace, SIAR_DAEMON__BATCH="16")
    assert miss["pydantic"] and hit["pydantic"] == []
    assert hit["settings"] == miss["settings"] and hit["adapters"] == miss["adapters"]
    assert hit["node"] != miss["node"]  # made afresh by each process
    shown = hit["settings"]
    for value in ("poll_interval=2.0", "lease_seconds=30.0", "batch=16", "workers=3",
                  "templates_dir=PosixPath('templates')", "PosixPath('/srv/siar/public-media')",
                  "'smtp': {'host': 'localhost', 'port': 2525}", "timezone='Asia/Jayapura'"):
        assert value in shown
    assert "'media_store': 'siar'" in hit["adapters"][1]


def test_a_fresh_siar_process_gives_the_same_output_from_the_cache(
        workspace: Path, monkeypatch: pytest.MonkeyPatch):
    # as siar's main sets it (a PYDANTIC_* variable is part of the key): this process then
    # asks the cache what siar asked, whichever test ran siar in it first
    monkeypatch.setenv("PYDANTIC_DISABLE_PLUGINS", "__all__")

    def run() -> tuple[int, str, str]:
        done = subprocess.run([sys.executable, "-m", "scheduler.cli", "accounts", "--json"],
                              cwd=workspace, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              capture_output=True, text=True)
        return done.returncode, done.stdout, done.stderr

    cold = run()
    assert cold[0] == 0 and is_cached()
    assert run() == cold


# --- what the cache holds --------------------------------------------------------------------

def test_cache_files_are_private_and_few(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    for workers in range(1, settings_cache.KEEP + 4):
        monkeypatch.setenv("SIAR_DAEMON__WORKERS", str(workers))
        assert load_settings().daemon.workers == workers
    files = cache_files(workspace)
    assert len(files) == settings_cache.KEEP
    assert {stat.S_IMODE(f.stat().st_mode) for f in files} == {0o600}
    assert not [f for f in files[0].parent.iterdir() if f.suffix == ".tmp"]


@pytest.mark.parametrize("where", ["node name", "database password", "dotenv reference",
                                   "account option", "override"])
def test_a_secret_never_reaches_the_cache(workspace: Path, monkeypatch: pytest.MonkeyPatch,
                                          where: str):
    monkeypatch.setenv("SIAR_SECRET_X_LAPAS_API_KEY", SECRET)
    (workspace / ".env").write_text(f"SIAR_SECRET_DB_PASSWORD={SECRET}x\n")
    overrides = {}
    if where == "node name":
        monkeypatch.setenv("SIAR_NODE_NAME", SECRET)
    elif where == "database password":  # not a SIAR_SECRET_ variable, still a secret
        monkeypatch.setenv("SIAR_DATABASE_URL", "postgresql://siar:pw-Hidden-77@db/siar")
    elif where == "dotenv reference":
        with (workspace / ".env").open("a") as env:
            env.write("SIAR_NODE_NAME=node-${SIAR_SECRET_DB_PASSWORD}\n")
    elif where == "account option":
        config = workspace / "siar.toml"
        config.write_text(config.read_text().replace('chat_id = "@lapas"',
                                                     f'chat_id = "{SECRET}"'))
    else:
        overrides = {"node_name": SECRET}
    for _ in range(2):  # a miss, then what would have been a hit
        settings = load_settings(**overrides)
    assert SECRET in repr(settings) or "pw-Hidden-77" in settings.database_url
    for path in (workspace / "home").rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert SECRET.encode() not in content and b"pw-Hidden-77" not in content


def test_secrets_in_the_environment_and_dotenv_stay_out_of_a_written_cache_file(
        workspace: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SIAR_SECRET_X_LAPAS_API_KEY", SECRET)
    (workspace / ".env").write_text(f"SIAR_SECRET_MASTODON_LAPAS_ACCESS_TOKEN={SECRET}2\n")
    settings = load_settings()
    assert settings.secret(settings.account("x-lapas"), "api_key") == SECRET
    [cached] = cache_files(workspace)
    assert SECRET.encode() not in cached.read_bytes()
    assert load_settings().secret(settings.account("mastodon-lapas"),
                                  "access_token") == f"{SECRET}2"


def test_no_setting_can_be_read_from_a_secret_variable():
    """Secret variables are left out of the key: none may set a setting."""
    assert not [f.name for f in dataclasses.fields(Settings) if f.name.startswith("secret")]


# --- the key --------------------------------------------------------------------------------

SCRATCH = Path(tempfile.mkdtemp(prefix="siar-settings-key-"))


@contextlib.contextmanager
def inputs_of(case: dict) -> Iterator[settings_cache.Inputs | None]:
    """The loader's inputs with ``case``'s files and environment, always in the same
    folder (its path is an input too)."""
    saved, here = dict(os.environ), os.getcwd()
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir()
    try:
        for name in [n for n in os.environ if n.upper().startswith(("SIAR_", "PYDANTIC_"))]:
            del os.environ[name]
        os.environ.update(case["environ"])
        os.chdir(SCRATCH)
        Path("siar.toml").write_text(case["config"], encoding="utf-8")
        if case["dotenv"] is not None:
            Path(".env").write_text(case["dotenv"], encoding="utf-8")
        yield settings_cache.Inputs.gather(Path("siar.toml"), case["overrides"])
    finally:
        os.chdir(here)
        os.environ.clear()
        os.environ.update(saved)


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12)
CASES = st.fixed_dictionaries({
    "config": _TEXT,
    "dotenv": st.none() | _TEXT,
    "environ": st.dictionaries(st.sampled_from(["SIAR_TIMEZONE", "siar_dry_run", "SIAR_HOME",
                                                "SIAR_DAEMON__WORKERS", "PYDANTIC_X"]),
                               _TEXT.filter(lambda v: "\0" not in v), max_size=3),
    "overrides": st.dictionaries(st.sampled_from(["dry_run", "timezone"]),
                                 st.booleans() | _TEXT, max_size=2),
})


@given(CASES, CASES)
def test_any_change_of_an_input_changes_the_key(first: dict, second: dict):
    assume(first != second)
    keys = []
    for case in (first, second):
        with inputs_of(case) as inputs:
            assert inputs is not None
            keys.append(inputs.key)
    assert keys[0] != keys[1]


@given(CASES, st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
                      min_size=1, max_size=12))
def test_a_secret_variable_of_the_environment_is_no_part_of_the_key(case: dict, value: str):
    with inputs_of(case) as without:
        key = without.key if without else None
    case = {**case, "environ": {**case["environ"], "SIAR_SECRET_X_LAPAS_API_KEY": value}}
    with inputs_of(case) as with_secret:
        assert (with_secret.key if with_secret else None) == key


def test_the_loader_s_debug_log_always_comes_from_the_loader(
        workspace: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PYDANTIC_SETTINGS_DEBUG", "1")
    load_settings()
    load_settings()
    assert cache_files(workspace) == []
