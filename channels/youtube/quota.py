"""The YouTube API quota of one account, as uploads a day of Pacific Time.

YouTube's quota page: a project has a daily bucket of 100 ``videos.insert`` calls of its
own, besides 10,000 units a day for every other method (a list costs 1,
``thumbnails.set`` 50); projects on the older scheme pay 1,600 units per upload instead.
Quotas reset at midnight Pacific Time. Both schemes are account options, so the number
is the smaller of the two.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from channels.i18n import _
from channels.rules import DailyCapacity
from channels.youtube.api import PACIFIC

__all__ = ["UNITS_PER_POST", "capacity_of"]

#: quota units a post spends besides the upload: thumbnails.set (50) and the few list
#: calls of processing, checks and probes
UNITS_PER_POST = 60
#: option → its default: the current quota page's (older projects: upload_cost_units 1600)
DEFAULTS = {"quota_uploads_per_day": 100, "quota_units_per_day": 10_000,
            "upload_cost_units": 0}


def capacity_of(options: Mapping[str, Any]) -> DailyCapacity:
    """Uploads a Pacific day by an account's options; ``ValueError`` naming a bad one."""
    numbers: dict[str, int] = {}
    for name, default in DEFAULTS.items():
        value = options.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(_("options.{name} must be a whole number ≥ 0, not {value!r}").format(
                                 name=name, value=value))
        numbers[name] = value
    uploads, units = numbers["quota_uploads_per_day"], numbers["quota_units_per_day"]
    per_post = numbers["upload_cost_units"] + UNITS_PER_POST
    if uploads <= units // per_post:
        return DailyCapacity(posts=uploads, timezone=PACIFIC,
                             why=_("the YouTube API quota: {uploads} uploads a day").format(
                                     uploads=uploads))
    return DailyCapacity(posts=units // per_post, timezone=PACIFIC,
                         why=_("the YouTube API quota: {units:,} units a day at {per_post:,} a "
                               "post").format(units=units, per_post=per_post))
