"""Siar's core: settings, models, queue state machine, composer, dispatcher, daemon, CLI."""

__version__ = "0.1.0"
