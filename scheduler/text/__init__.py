"""Text machinery of the composer; the rules it applies are declared by each channel.

One module per topic: :mod:`.twitter` (X's weighted length), :mod:`.counting` (the counting
algorithms a channel's :class:`~channels.rules.Counting` selects), :mod:`.hashtags`,
:mod:`.markup` (Markdown into each dialect), :mod:`.fitting` (threads and truncation),
:mod:`.facets` (AT Protocol rich text), :mod:`.links` (URLs and UTM parameters) and
:mod:`.mentions`. None of them names a network.
"""
