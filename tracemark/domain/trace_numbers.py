"""How traces are numbered for a person: from 1, "Trace 1" to "Trace N".

The cache file, the Python API and the command line index traces from 0 (the global index
of ``CacheFile.get_trace_attrs(i)``, ``tracemark cache peek 3``) and call that an *index*.
Everything a person reads in the window says *trace number*, from 1. These functions are
the one place where the two meet; no other module adds or subtracts the 1.

Plain Python: imports nothing else from Tracemark.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

_Number = TypeVar("_Number", covariant=True)


class _Index(Protocol[_Number]):
    """An int, or a numpy array of ints: anything that adds an int element by element."""

    def __add__(self, other: int, /) -> _Number: ...


def trace_number(index: _Index[_Number]) -> _Number:
    """The number a person reads for the trace at 0-based ``index`` (an int, or a numpy
    array of indexes, numbered element by element)."""
    return index + 1


def trace_index(number: int) -> int:
    """The 0-based index of the trace a person calls ``number`` (1 or more)."""
    if int(number) < 1:
        raise ValueError(f"trace numbers start at 1, not {number}")
    return int(number) - 1


def trace_label(index: int) -> str:
    """"Trace 8" for index 7."""
    return f"Trace {trace_number(int(index))}"


def describe_traces(indexes: Iterable[int], limit: int = 8) -> str:
    """"trace 3" or "traces 3, 5, 8" (by number), the first ``limit`` of them and how many
    more, for messages that list traces."""
    numbers = [trace_number(int(i)) for i in indexes]
    shown = ", ".join(str(n) for n in numbers[:limit])
    more = f" and {len(numbers) - limit} more" if len(numbers) > limit else ""
    return f"{'trace' if len(numbers) == 1 else 'traces'} {shown}{more}"
