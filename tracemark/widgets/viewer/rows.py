"""The display rows of a source under a montage: each row's label, type, unit and scale.

A row is a channel as recorded, or a derivation of a montage. A derivation is shown in
the unit and channel type of its positive input (its +1 weight): an EEG bipolar pair is
EEG in µV, whatever the other input is. This rule is written here only; the channels
model (:class:`~.view_model.ChannelView`) holds the rows of the montage on screen, and
page export, the measurements and the exported segments read them from it or from here.
:func:`rows_using` says which rows a set of (bad) channels reaches, for greying. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tracemark.paging.source import channel_types_of

from .scales import RowScale, row_scale


@dataclass(frozen=True)
class DisplayRow:
    """One row of the viewer: what it is called, what it carries and how it is scaled."""

    label: str
    channel_type: str
    unit: str
    scale: RowScale


def display_rows(source, montage=None) -> tuple[DisplayRow, ...]:
    """The rows ``montage`` makes of ``source``'s channels (None: the channels as recorded)."""
    names, units, types = source.channel_names, source.units, channel_types_of(source)
    if montage is None:
        labels = tuple(names)
        inputs = list(range(len(names)))
    else:
        labels = tuple(d.label for d in montage.derivations)
        inputs = [int(p) for p in np.argmax(montage.matrix(names), axis=1)]
    return tuple(DisplayRow(label, types[i], units[i], row_scale(types[i], units[i]))
                 for label, i in zip(labels, inputs))


def row_units(source, montage=None) -> list[str]:
    """Each display row's unit (see the module docstring)."""
    return [row.unit for row in display_rows(source, montage)]


def row_channels(source, montage=None) -> tuple[tuple[str, ...], ...]:
    """The channels each display row names (as recorded: the row's own channel; a
    derivation: its positive and negative channel, not the average it subtracts)."""
    names = source.channel_names
    if montage is None:
        return tuple((name,) for name in names)
    return tuple(tuple(names[i] for i in inputs) for inputs in montage.named_inputs(names))


def rows_using(source, montage, channels) -> tuple[int, ...]:
    """The display rows that name one of ``channels`` (the rows a bad channel greys)."""
    wanted = set(channels)
    if not wanted:
        return ()
    if montage is None:
        return tuple(r for r, name in enumerate(source.channel_names) if name in wanted)
    return tuple(int(r) for r in np.flatnonzero(montage.rows_using(source.channel_names, wanted)))
