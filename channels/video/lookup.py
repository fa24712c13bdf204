"""Which video rules a network has: those its channel declares."""

from __future__ import annotations

from functools import lru_cache

from channels.rules import VideoRules


@lru_cache(maxsize=64)
def video_rules_for(network: str) -> VideoRules | None:
    """The video rules the channel of ``network`` declares (:attr:`Channel.video_rules`);
    None for a network that takes no video, or that no adapter is installed for."""
    from channels import registry  # the registry imports the adapters

    return registry.lookup(network).video_rules
