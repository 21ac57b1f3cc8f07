"""Signal arithmetic for display: decimation, summaries, montages, filters, block caching.

Plain numpy/scipy: no Qt, no file formats, so every piece is unit-tested on arrays.

* :mod:`.decimate` -- min/max per bin aligned to absolute multiples of the factor
  (``choose_factor``, ``minmax_decimate``, ``merge_minmax``, ``envelope_xy``).
* :mod:`.summary` -- ``MinMaxPyramid``, a multi-resolution min/max summary of a whole
  stream built in the background.
* :mod:`.blockcache` -- ``BlockCache``, a thread-safe LRU of arrays bounded by bytes.
* :mod:`.filters` -- ``DisplayFilter``: zero-phase high-/low-pass, notch, DC removal,
  with the padding a window needs so that its edges do not ring.
* :mod:`.montage` -- ``Montage``/``Derivation`` by channel name and the built-in 10-20
  and SEEG montages.

Keeping any of these on disk (saved montages, summary caches) is
:mod:`tracemark.storage`'s work, never this package's.
"""
