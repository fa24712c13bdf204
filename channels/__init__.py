"""Network adapters. One module per network behind :class:`channels.base.Channel`.

A channel's class is the one place its network is described: how to publish, and the
rules the composer applies (``channels/rules.py``). Adapters are discovered through the
entry-point group ``siar.channels`` (see :mod:`channels.registry`), so a third-party
package can add a network.
"""
