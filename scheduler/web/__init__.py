"""Siar Desk: ``siar web``, a small server-rendered site for the calendar, a release's
preview cards and attempt log, approval (Setujui / Tolak) and the status page.

Secondary to the CLI, which stays complete on its own: every page reads what the CLI
reads (:mod:`scheduler.preview`, :mod:`scheduler.status`, :mod:`scheduler.approval`),
and nothing here is imported unless ``siar web`` runs (Starlette, uvicorn, argon2).
"""
