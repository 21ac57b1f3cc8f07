"""An immutable description of one page to draw, and what a worker hands back.

The viewport becomes a :class:`PageRequest`; a worker turns it into a
:class:`PageResult`. Requests are values: equal requests (ignoring their id) give
equal results, which is what lets prefetched pages be reused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class PageRequest:
    """Samples ``[i_start, i_stop)`` of the display rows ``rows``, decimated by ``factor``.

    ``i_start``/``i_stop`` are multiples of ``factor`` so bins never shift while
    scrolling. ``rows`` index the outputs of the montage named by ``montage_key``;
    ``filter_key`` names the display filter (``""`` for none).
    """

    request_id: int
    i_start: int
    i_stop: int
    rows: tuple[int, ...]
    factor: int
    montage_key: str = ""
    filter_key: str = ""

    def __post_init__(self) -> None:
        if self.factor < 1 or self.i_start % self.factor or self.i_stop % self.factor:
            raise ValueError(f"range [{self.i_start}, {self.i_stop}) is not aligned to factor {self.factor}")

    @property
    def cache_key(self) -> tuple[object, ...]:
        """Everything that decides the result, i.e. all but the id."""
        return (self.i_start, self.i_stop, self.rows, self.factor, self.montage_key, self.filter_key)

    @property
    def n_samples(self) -> int:
        return self.i_stop - self.i_start

    def shifted(self, n_samples: int, request_id: int = -1) -> PageRequest:
        return replace(self, request_id=request_id, i_start=self.i_start + n_samples,
                       i_stop=self.i_stop + n_samples)


def aligned_range(i_start: int, i_stop: int, factor: int) -> tuple[int, int]:
    """``[i_start, i_stop)`` widened outwards to multiples of ``factor``."""
    return (i_start // factor) * factor, -(-i_stop // factor) * factor


#: Where a page's values came from, for the status line and for tests.
ORIGIN_RAW = "raw"          # read from the source (through the block cache)
ORIGIN_STREAMED = "streamed"  # read chunk by chunk and decimated on the way
ORIGIN_SUMMARY = "summary"  # served from the min/max summary pyramid
ORIGIN_SAMPLED = "sampled"  # approximate, from stretches read across the window
ORIGIN_PENDING = "pending"  # too long to read; waiting for the summary


@dataclass(frozen=True)
class PageResult:
    """Min/max bins of a request: ``mins``/``maxs`` are ``(n_bins, len(rows))`` float32."""

    request: PageRequest
    bin_starts: np.ndarray
    mins: np.ndarray
    maxs: np.ndarray
    origin: str = ORIGIN_RAW
    filtered: bool = False
    seconds: float = 0.0
    message: str = field(default="", compare=False)
    #: True when served from the result cache (e.g. a prefetched page).
    from_cache: bool = False
    #: Samples per bin; the request's factor unless the summary could only serve a
    #: coarser one (a long window of a very long recording: see the pipeline).
    bin_factor: int = 0

    def __post_init__(self) -> None:
        if not self.bin_factor:
            object.__setattr__(self, "bin_factor", self.request.factor)

    @property
    def nbytes(self) -> int:
        return int(self.bin_starts.nbytes + self.mins.nbytes + self.maxs.nbytes)
