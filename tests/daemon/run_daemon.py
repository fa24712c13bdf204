"""Runs one daemon as a process of its own, with the counting network's adapter plugged in.

The multi-daemon, crash and signal tests start it as ``python -m tests.daemon.run_daemon
--config siar.toml``; it is ``siar daemon`` except for the adapter seam.
"""

from __future__ import annotations

import argparse

from scheduler.daemon.service import Daemon
from scheduler.logs import configure
from scheduler.settings import load_settings
from tests.fakes.counting import CountingChannel


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--until-drained", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="log INFO lines too")
    args = parser.parse_args()
    configure(args.verbose)
    daemon = Daemon(load_settings(args.config), channel_classes={"counting": CountingChannel})
    with daemon.signals_stop_it():
        daemon.run(until_drained=args.until_drained)


if __name__ == "__main__":
    main()
