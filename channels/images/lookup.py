"""Which image rules a network has: those its channel declares."""

from __future__ import annotations

from functools import lru_cache

from channels.rules import ImageRules


@lru_cache(maxsize=64)
def rules_for(network: str) -> ImageRules:
    """The image rules the channel of ``network`` declares (:attr:`Channel.image_rules`);
    the defaults for a network no adapter is installed for."""
    from channels import registry  # the registry imports the adapters, which import us

    return registry.lookup(network).image_rules
