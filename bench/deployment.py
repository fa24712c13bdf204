"""A Siar deployment for the real-path benchmark, driven only as an operator drives it.

Siar is reached through its command line (``python -m scheduler --config siar.toml ...``),
its configuration file, its ``.env`` of secrets, and its database read with plain SQL for
counting. Nothing here imports ``scheduler`` or ``channels``: their modules are being
reorganised, and a benchmark of the real path must not depend on where they live.

Every process is measured from ``/proc`` (CPU of the daemons, of the PostgreSQL server with
its backends, and of the fake networks), so CPU per post can be split between them.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.request import urlopen

from bench.fakenet import NETWORKS, base_path, options_for, secrets_for

ROOT = Path(__file__).resolve().parents[1]
SIAR = [sys.executable, "-m", "scheduler"]

#: the counting benchmark's daemon settings, plus a short probe interval so that posts in
#: doubt after a kill are settled within the run (the default is 30 s)
DAEMON_SETTINGS: dict[str, float] = {"batch": 64, "poll_interval": 1.0, "lease_seconds": 60.0,
                                     "heartbeat_seconds": 5.0, "probe_seconds": 5.0}


def accounts(count: int) -> list[tuple[str, str]]:
    """``count`` (name, network) pairs spread round-robin over the fake networks."""
    return [(f"akun-{i:03d}", NETWORKS[i % len(NETWORKS)]) for i in range(count)]


def wait_until(condition: Callable[[], bool], timeout: float, poll: float = 0.05) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds passed (False)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)
    return True


# --- CPU from /proc ------------------------------------------------------------------------

def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """CPU (user + system, every thread) of ``pid``; with ``reaped_children`` also that of
    its children that ended (a PostgreSQL backend that disconnected)."""
    try:
        fields = _stat(pid)
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(root: int) -> float:
    """CPU of ``root``, its reaped children and its live children (PostgreSQL's postmaster
    and its backends)."""
    total = cpu_seconds(root, reaped_children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != root:
            try:
                if int(_stat(int(entry.name))[1]) == root:
                    total += cpu_seconds(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return total


def load_average() -> float:
    return os.getloadavg()[0]


# --- the database, read with plain SQL -----------------------------------------------------

def query(url: str, statement: str) -> list[tuple[Any, ...]]:
    """Rows of one literal SQL statement (no parameters: only counting queries)."""
    if url.startswith("sqlite"):
        connection = sqlite3.connect(url.split("///", 1)[1], timeout=30)
        try:
            return connection.execute(statement).fetchall()
        finally:
            connection.close()
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        return list(connection.execute(statement).fetchall())  # type: ignore[arg-type]


def postmaster_pid(url: str) -> int | None:
    """The PostgreSQL server's main process (parent of our backend), None on SQLite."""
    if url.startswith("sqlite"):
        return None
    import psycopg

    # read while the connection is open: its backend ends with it
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        backend = int(connection.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]
        return int(_stat(backend)[1])


def transactions(url: str) -> int | None:
    """Transactions committed or rolled back in this PostgreSQL database so far (None on
    SQLite). Backends report them when idle or when they end: read after the daemons
    stopped for an exact count."""
    if url.startswith("sqlite"):
        return None
    rows = query(url, "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                      "WHERE datname = current_database()")
    return int(rows[0][0])


@dataclass(frozen=True)
class StatementCounts:
    """What ``pg_stat_statements`` counted in one database so far: per normalised
    statement, its calls and its execution time (ms)."""

    by_statement: dict[str, tuple[int, float]]

    @property
    def calls(self) -> int:
        return sum(calls for calls, _ in self.by_statement.values())

    def since(self, before: StatementCounts) -> StatementCounts:
        """The statements run between ``before`` and this reading."""
        delta = {}
        for text, (calls, ms) in self.by_statement.items():
            was_calls, was_ms = before.by_statement.get(text, (0, 0.0))
            if calls > was_calls:
                delta[text] = (calls - was_calls, ms - was_ms)
        return StatementCounts(delta)

    def top(self, posts: int, count: int = 12) -> list[str]:
        """The most frequent statements, one line each: calls and ms per post, the text."""
        ranked = sorted(self.by_statement.items(), key=lambda item: -item[1][0])[:count]
        return [f"{calls / max(posts, 1):7.3f}/post {ms / max(posts, 1):7.3f} ms/post  "
                f"{' '.join(text.split())[:110]}" for text, (calls, ms) in ranked]


def statement_counts(url: str) -> StatementCounts | None:
    """The statements this PostgreSQL database ran so far (``pg_stat_statements``, which
    the benchmark's server loads: :func:`bench.run.count_statements`); None on SQLite or
    without the extension."""
    if url.startswith("sqlite"):
        return None
    try:
        rows = query(url, "SELECT s.query, s.calls, s.total_exec_time FROM pg_stat_statements s "
                          "JOIN pg_database d ON d.oid = s.dbid "
                          "WHERE d.datname = current_database()")
    except Exception:  # the extension is not installed in this database
        return None
    counts: dict[str, tuple[int, float]] = {}
    for text, calls, ms in rows:
        was_calls, was_ms = counts.get(text, (0, 0.0))  # one text, several users or plans
        counts[text] = (was_calls + int(calls), was_ms + float(ms))
    return StatementCounts(counts)


def statuses(url: str) -> Counter[str]:
    return Counter({status: int(n) for status, n in
                    query(url, "SELECT status, count(*) FROM post GROUP BY status")})


def post_states(url: str) -> dict[str, str]:
    """``account/marker`` → status of every queued post (the marker is in the title)."""
    rows = query(url, "SELECT p.account, r.title, p.status FROM post p "
                      "JOIN release r ON r.id = p.release_id")
    return {f"{account}/{title.rsplit('-', 1)[-1]}": status for account, title, status in rows}


# --- the fake networks, each in its own process -------------------------------------------

class FakeNetworks:
    """The :mod:`bench.fakenet` process(es) serving every network that has accounts: one
    for them all (``per_network=False``, the default), or one per network.

    One process for all is the cheaper: at a burst's pace each network's process woke
    for nearly every request on its own (a loop turn and a context switch each), while one
    process shares its turns between the networks' requests (``bench.bench_fakenet``:
    about a third less CPU per request at 600 requests/s than at 150)."""

    def __init__(self, pairs: Sequence[tuple[str, str]], latency: float, *,
                 per_network: bool = False) -> None:
        self.pairs = list(pairs)
        self.latency = latency
        self.per_network = per_network
        self.processes: list[subprocess.Popen[str]] = []
        self.urls: dict[str, str] = {}

    def __enter__(self) -> FakeNetworks:
        plan = [f"{network}={','.join(names)}" for network in NETWORKS
                if (names := [n for n, net in self.pairs if net == network])]
        try:
            for group in ([[one] for one in plan] if self.per_network else [plan]):
                self.processes.append(subprocess.Popen(
                    [sys.executable, "-m", "bench.fakenet", *group,
                     "--latency", str(self.latency)],
                    cwd=ROOT, stdout=subprocess.PIPE, text=True))
            for process in self.processes:
                assert process.stdout is not None
                line = process.stdout.readline()
                if not line:
                    raise RuntimeError(f"the fake networks did not start: {process.args}")
                self.urls |= json.loads(line)["urls"]
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def base_url(self, network: str, account: str) -> str:
        return f"{self.urls[network]}/{account}{base_path(network)}"

    def answered(self) -> int:
        """Posts answered as created so far, over every network."""
        return sum(json.load(urlopen(f"{url}/_bench/count", timeout=30))["answered"]
                   for url in self.urls.values())

    def stats(self) -> NetworkStats:
        merged = NetworkStats()
        for url in self.urls.values():
            data = json.load(urlopen(f"{url}/_bench/stats", timeout=60))
            merged.created.update(data["created"])
            merged.received.update(data["received"])
            merged.answered.update({k: tuple(v) for k, v in data["answered"].items()})
            merged.create_requests += data["create_requests"]
            merged.connections += data.get("connections", 0)
        return merged


@dataclass
class NetworkStats:
    """What the fake networks hold, keyed ``account/marker``."""

    created: Counter[str] = field(default_factory=Counter)
    received: dict[str, float] = field(default_factory=dict)
    answered: dict[str, tuple[float, float]] = field(default_factory=dict)
    create_requests: int = 0
    #: connections the clients opened to the fake networks
    connections: int = 0

    def duplicates(self) -> int:
        return sum(n - 1 for n in self.created.values() if n > 1)

    def missing(self, expected: set[str]) -> set[str]:
        return {key for key in expected if not self.created.get(key)}


# --- configuration, secrets, release files ---------------------------------------------------

@dataclass
class Site:
    """A configured Siar: ``siar.toml``, ``.env``, and the environment its processes get."""

    folder: Path
    config: Path
    database_url: str
    env: dict[str, str]

    def siar(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one ``siar`` command as an operator would (output captured)."""
        done = subprocess.run([*SIAR, "--config", str(self.config), *args], cwd=self.folder,
                              env=self.env, capture_output=True, text=True, check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"siar {' '.join(args[:2])}... exited {done.returncode}:\n"
                               f"{done.stderr[-2000:]}")
        return done


def _toml(value: object) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def write_site(folder: Path, database_url: str, pairs: Sequence[tuple[str, str]],
               networks: FakeNetworks, daemon: dict[str, float] | None = None) -> Site:
    """``siar.toml`` with one account per pair pointing at its fake, and their secrets in
    ``.env`` (``SIAR_SECRET_<ACCOUNT>_<FIELD>``), as a deployment keeps them."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"database_url = {_toml(database_url)}", 'timezone = "Asia/Jakarta"', "",
             "[daemon]", *(f"{k} = {_toml(v)}" for k, v in (daemon or DAEMON_SETTINGS).items())]
    secrets: list[str] = []
    for name, network in pairs:
        lines += ["", "[[accounts]]", f"name = {_toml(name)}", f"network = {_toml(network)}",
                  f"base_url = {_toml(networks.base_url(network, name))}"]
        if options := options_for(network, name):
            lines += ["[accounts.options]", *(f"{k} = {_toml(v)}" for k, v in options.items())]
        prefix = "SIAR_SECRET_" + name.upper().replace("-", "_")
        secrets += [f"{prefix}_{key.upper()}={value}"
                    for key, value in secrets_for(network, name).items()]
    config = folder / "siar.toml"
    config.write_text("\n".join(lines) + "\n")
    env_file = folder / ".env"
    env_file.write_text("\n".join(secrets) + "\n")
    env_file.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIAR_")}
    env |= {"SIAR_CONFIG": str(config), "SIAR_ENV_FILE": str(env_file),
            "SIAR_HOME": str(folder / "home")}
    return Site(folder, config, database_url, env)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="microseconds")


def write_releases(folder: Path, releases: Sequence[tuple[int, float, Sequence[str] | None]]
                   ) -> list[Path]:
    """One Markdown release per (marker number, due epoch, channels or None for all).

    The marker ``bench-<n>`` is in the title and the body, so each network's copy of the
    post can be told apart; the text is short, so no network makes a thread of it."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, due, channels in releases:
        marker = f"bench-{number:06d}"
        front = [f"title: Rilis {marker}", f"at: {iso(due)}"]
        if channels is not None:
            front.append(f"channels: [{', '.join(channels)}]")
        path = folder / f"{marker}.md"
        path.write_text("---\n" + "\n".join(front) + "\n---\n"
                        f"Kegiatan {marker} di Lapas berjalan lancar.\n")
        paths.append(path)
    return paths


# --- daemon processes ------------------------------------------------------------------------

class Daemons:
    """``count`` ``siar daemon`` processes on one site, each with the default node name
    (host and pid: a restarted daemon is a new node, as an operator runs it)."""

    def __init__(self, site: Site, count: int = 1) -> None:
        self.site = site
        self.count = count
        self.processes: list[subprocess.Popen[bytes]] = []
        self.started_at = 0.0

    def start(self, *, ready_timeout: float = 90) -> float:
        """Start them and wait until each wrote its heartbeat; returns the start epoch."""
        started = self.launch()
        self.wait_ready(ready_timeout)
        return started

    def launch(self) -> float:
        """Start the processes without waiting for them; returns the start epoch."""
        self.started_at = time.time()
        for _ in range(self.count):
            with (self.site.folder / "daemon.log").open("ab") as log:
                self.processes.append(subprocess.Popen(
                    [*SIAR, "--config", str(self.site.config), "daemon"],
                    cwd=self.site.folder, env=self.site.env, stdout=subprocess.DEVNULL,
                    stderr=log))
        return self.started_at

    def wait_ready(self, timeout: float = 90) -> None:
        """Until every process wrote its heartbeat (its node row names its pid)."""
        if not wait_until(self.ready, timeout, poll=0.05):
            raise RuntimeError("siar daemon did not write its heartbeat in time")

    def ready(self) -> bool:
        """Every process wrote its heartbeat (raises if one exited)."""
        for process in self.processes:
            if process.poll() is not None:
                log = self.site.folder / "daemon.log"
                raise RuntimeError(f"siar daemon exited {process.returncode}; {log} ends:\n"
                                   + log.read_text(errors="replace")[-3000:])
        pids = ", ".join(str(p.pid) for p in self.processes)
        try:
            rows = query(self.site.database_url,
                         f"SELECT count(DISTINCT pid) FROM node WHERE pid IN ({pids})")
        except Exception:  # the schema may not exist yet
            return False
        return int(rows[0][0]) == len(self.processes)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    def kill(self) -> None:
        """kill -9 every daemon (a crash)."""
        for process in self.processes:
            process.kill()
        for process in self.processes:
            process.wait()
        self.processes = []

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []


@contextmanager
def launched(site: Site, count: int = 1) -> Iterator[Daemons]:
    """Daemons started (not yet ready: call ``wait_ready``) and stopped at the end."""
    daemons = Daemons(site, count)
    try:
        daemons.launch()
        yield daemons
    finally:
        daemons.stop()
