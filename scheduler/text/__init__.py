"""Text rules: only the composer knows them.

One module per topic: :mod:`.twitter` (X's weighted length), :mod:`.counting` (every
network's limit and way of counting), :mod:`.hashtags`, :mod:`.markup` (Markdown into each
network's format), :mod:`.fitting` (threads and truncation), :mod:`.facets` (Bluesky rich
text), :mod:`.links` (URLs and UTM parameters) and :mod:`.mentions`.
"""
