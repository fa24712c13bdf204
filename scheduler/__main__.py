"""``python -m scheduler`` runs the ``siar`` command."""

from scheduler.cli import main

main()
