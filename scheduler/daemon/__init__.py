"""The publishing daemon: how a queued post becomes a published one, exactly once.

One post's way, each step a module:

``pump``       claim rounds for the free workers, and when to run the next
``starter``    begins the claimed posts when due, all due together in one transaction
``worker``     one thread per post in flight: begin → publish → record → go on
``attempt``    one attempt: the delivery, the adapter call, the outcome (``retry``: what
               a post not sent does next)
``committer``  records outcomes in shared transactions, and begins the account's next
               due post for the worker in the same one
``inflight``   the one table of the posts this daemon holds
``events``     what was recorded, typed; the run summary; the staff alert each calls for
``jobs``       housekeeping, probes, heartbeat, watchdog, recurrences, tokens
``guard``      the database away (waited out) or its file gone (the daemon stops)
``service``    the life cycle: parts started and stopped in order, APScheduler's jobs

Nothing is imported here: ``from scheduler.daemon.service import Daemon``.
"""
