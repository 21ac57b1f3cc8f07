"""Signal arithmetic for display: decimation, summaries, montages, filters, block caching.

Plain numpy/scipy: no Qt, no file formats, so every piece is unit-tested on arrays.
"""
