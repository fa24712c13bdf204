"""The HTTP stack imported on a thread of its own while the daemon's start waits on its
database.

After a restart the first post waits for requests, urllib3, pycurl and the adapters of
the accounts' networks to be imported (the first send does it). Imports hold the GIL
most of the time, so a thread importing only runs while the main thread waits: on the
database (its first connection — on PostgreSQL a server process started for it — the
schema's revision read, commits on disk), which it does from opening the database to the
first claim. ``siar daemon`` starts the thread once the main thread's own imports are done
and before it opens the database (so the two rarely import the same modules at once, and
the connection's wait is not lost) and hands it to the daemon; :meth:`Daemon.run
<scheduler.daemon.service.Daemon.run>` starts it when it was given none. It imports only what
channels' adapters need, none of which imports the scheduler.

Nothing depends on the thread finishing: a send that comes first imports what it needs
itself (Python's import locks make it wait for a module being imported), and a failure
here is left to that send to report.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable

log = logging.getLogger("siar.daemon")

#: what every HTTP adapter's first request needs (``channels.http.make_session``)
HTTP_STACK = ("urllib.request", "requests", "channels.curl")


def import_http_stack(networks: Iterable[str]) -> threading.Thread:
    """Start a daemon thread importing :data:`HTTP_STACK` and the adapter modules of
    ``networks``; returns it (started; joining it is never needed)."""
    thread = threading.Thread(target=_imports, args=(tuple(dict.fromkeys(networks)),),
                              name="siar-warmup", daemon=True)
    thread.start()
    return thread


def _imports(networks: tuple[str, ...]) -> None:
    from channels import registry

    for name in HTTP_STACK:
        try:
            importlib.import_module(name)
        except ImportError as exc:  # the first send reports it, with its account
            log.debug("warm-up: %s not imported: %s", name, exc)
    loaded = 0
    for network in networks:
        try:
            registry.load(network)
        except Exception as exc:  # an unknown network is reported when its post is due
            log.debug("warm-up: adapter for %s not imported: %s", network, exc)
        else:
            loaded += 1
    log.debug("warm-up: HTTP stack and %d adapter(s) imported", loaded)
