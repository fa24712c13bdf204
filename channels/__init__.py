"""Network adapters. One module per network behind :class:`channels.base.Channel`.

Adapters are discovered through the entry-point group ``siar.channels`` (see
:mod:`channels.registry`), so a third-party package can add a network.
"""
