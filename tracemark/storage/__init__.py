"""Files Tracemark keeps for itself, and the one way it replaces a file on disk.

* :mod:`.atomic` -- replace a file so that a crash, a full disk or an error leaves either
  the old file or the new one, never a mixture, and no temporary behind. Every layer that
  writes a whole file (the trace cache, exports, the demo, saved settings) goes through it.
* :mod:`.montages` -- ``MontageLibrary``: the user's saved montages, one JSON file each.
* :mod:`.summaries` -- where min/max summaries of recordings are cached, and how a
  ``MinMaxPyramid`` is saved to and loaded from such a file.

The arithmetic these files hold (montages, pyramids) lives in :mod:`tracemark.dsp`; this
package only keeps it on disk. No Qt, no HDF5. This ``__init__`` imports nothing, so a
layer that needs only :mod:`.atomic` pulls in nothing else.
"""
