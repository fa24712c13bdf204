"""``python -m scheduler.cli`` runs the ``siar`` command."""

from scheduler.cli import main

main()
