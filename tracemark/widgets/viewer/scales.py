"""Display scales per *scale group*: which rows share a sensitivity, and how it is written.

A row's height comes from its group's sensitivity (units per millimetre of screen, as on
paper EEG), times the row's own gain. Rows share a group when they carry the same type
of signal in the same kind of unit: every EEG row (in µV, mV or V alike) is ``"eeg"``,
every EMG row ``"emg"``; rows in a unit that is not a voltage are grouped by type *and*
unit (``"misc:%"``, ``"misc:rad"``), since a sensitivity in %/mm means nothing for
radians. Voltage groups are expressed in µV/mm; other groups in their own unit per mm.

The first sensitivity of a group comes from the data (:func:`automatic_sensitivity`):
the clinical step that makes the group's typical robust spread (see
:mod:`tracemark.dsp.amplitude`) fill :data:`AUTO_FILL` of a row. Steps run through
1, 1.5, 2, 3, 5 and 7 times a power of ten at every scale, so a patch-clamp current in
amperes steps as evenly as an EEG in microvolts. Qt-free.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tracemark.domain.channel_types import ECG, EMG, EOG, MISC, microvolts_per_unit, type_title
from tracemark.dsp.amplitude import typical_spread

#: Mantissas of the sensitivity steps (clinical EEG: ... 5, 7, 10, 15, 20, 30, 50, 70 ...).
STEP_MANTISSAS = (1.0, 1.5, 2.0, 3.0, 5.0, 7.0)
#: Fraction of a row that a group's typical 2-98 % spread fills at its first sensitivity.
AUTO_FILL = 0.7
#: Types read for their bursts (a motor-evoked potential, a QRS complex, a blink) rather
#: than their baseline: their first scale fits the bursts (:mod:`tracemark.dsp.amplitude`).
#: Misc channels too, since nothing is known of them: a pulse train, a saturation trend or
#: a position all fit their rows by their range, not by the spread of their samples.
BURST_TYPES = frozenset({EMG, ECG, EOG, MISC})
#: The sensitivity of a group never measured (µV/mm, the clinical EEG default).
DEFAULT_SENSITIVITY = 7.0
#: Prefixes for units that are not voltages (volts are shown from µV up).
_SI_PREFIXES = ((1e-12, "p"), (1e-9, "n"), (1e-6, "µ"), (1e-3, "m"), (1.0, ""), (1e3, "k"), (1e6, "M"))
_SI_UNITS = frozenset({"A", "m", "s", "Pa", "N", "T", "g", "Hz", "Ohm", "Ω", "S", "W", "J"})


@dataclass(frozen=True)
class RowScale:
    """How one row is scaled: its group and the factor from its unit to the group's unit."""

    group: str
    to_group_unit: float


def scale_group(channel_type: str, unit: str) -> str:
    """The group a row of ``channel_type`` in ``unit`` shares a sensitivity with."""
    if microvolts_per_unit(unit) is not None:
        return channel_type
    return f"{channel_type}:{unit.strip()}"


def row_scale(channel_type: str, unit: str) -> RowScale:
    factor = microvolts_per_unit(unit)
    return RowScale(scale_group(channel_type, unit), 1.0 if factor is None else factor)


def group_unit(group: str) -> str:
    """The unit a group's values are shown in (µV for voltages)."""
    return group.split(":", 1)[1] if ":" in group else "µV"


def group_title(group: str) -> str:
    """``"EEG"``, ``"EMG"``, ``"Misc (%)"``."""
    channel_type, _, unit = group.partition(":")
    title = type_title(channel_type)
    return f"{title} ({unit})" if unit else title


def group_type(group: str) -> str:
    return group.partition(":")[0]


def step_sensitivity(value: float, direction: int) -> float:
    """The neighbouring clinical step: larger traces (fewer units per mm) when direction > 0."""
    value = float(value)
    if not (value > 0 and math.isfinite(value)):
        return DEFAULT_SENSITIVITY
    exponent = math.floor(math.log10(value))
    candidates = [_step(m, e) for e in (exponent - 1, exponent, exponent + 1) for m in STEP_MANTISSAS]
    if direction > 0:
        return max(c for c in candidates if c < value * 0.9999)
    return min(c for c in candidates if c > value * 1.0001)


def _step(mantissa: float, exponent: int) -> float:
    """``mantissa * 10**exponent`` without binary noise (0.7, not 0.7000000000000001)."""
    return float(f"{mantissa * 10.0 ** exponent:.6g}")


def step_at_or_above(value: float) -> float:
    """The smallest clinical step not below ``value`` (traces never larger than asked)."""
    if not (value > 0 and math.isfinite(value)):
        return DEFAULT_SENSITIVITY
    exponent = math.floor(math.log10(value))
    candidates = [_step(m, e) for e in (exponent, exponent + 1) for m in STEP_MANTISSAS]
    return min(c for c in candidates if c >= value * 0.9999)


def automatic_sensitivity(typical_spread: float, row_px: float, pixels_per_mm: float) -> float:
    """Units per mm at which ``typical_spread`` (in the group's unit) fills :data:`AUTO_FILL`
    of a ``row_px`` row."""
    if not (typical_spread > 0 and row_px > 0):
        return DEFAULT_SENSITIVITY
    return step_at_or_above(typical_spread * pixels_per_mm / (AUTO_FILL * row_px))


def is_misc(group: str) -> bool:
    """Misc rows are unlike each other by definition: each gets its own gain."""
    return group_type(group) == MISC


def format_quantity(value: float, unit: str) -> str:
    """``value`` of ``unit`` with a readable prefix: 2000 µV -> "2 mV", 3e-11 A -> "30 pA"."""
    if unit == "µV":
        for factor, name in ((1e6, "V"), (1e3, "mV"), (1.0, "µV"), (1e-3, "nV")):
            if abs(value) >= factor * 0.9999 or factor == 1e-3:
                return f"{value / factor:.3g} {name}"
    if unit in _SI_UNITS and value:
        for factor, prefix in reversed(_SI_PREFIXES):
            if abs(value) >= factor * 0.9999:
                return f"{value / factor:.3g} {prefix}{unit}"
        factor, prefix = _SI_PREFIXES[0]
        return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}".rstrip()


def format_sensitivity(value: float, group: str) -> str:
    """``"7 µV/mm"``, ``"2 mV/mm"``, ``"0.5 %/mm"``."""
    text = format_quantity(value, group_unit(group))
    return f"{text}/mm" if group_unit(group) else f"{text} /mm"


def describe_sensitivities(sensitivities: dict[str, float], groups_shown) -> str:
    """The status line's text for the groups on screen, in order of first appearance."""
    shown = list(dict.fromkeys(groups_shown))
    if not shown:
        return ""
    if len(shown) == 1:
        return format_sensitivity(sensitivities.get(shown[0], DEFAULT_SENSITIVITY), shown[0])
    return " · ".join(f"{group_title(g)} {format_sensitivity(sensitivities.get(g, DEFAULT_SENSITIVITY), g)}"
                      for g in shown)


class AutomaticScales:
    """First sensitivities of a recording's scale groups, from its measured spreads.

    ``spreads`` are the robust spreads of the recording's channels (as recorded, in each
    channel's own unit; :func:`tracemark.dsp.amplitude.robust_spreads`), ``scales`` each
    channel's :class:`RowScale`; ``bursts``, the burst spreads, are used instead for the
    channels of :data:`BURST_TYPES`. A group's first sensitivity fits its typical channel to
    the row height of the moment; ``preferred`` (channel type -> µV/mm, the user's own
    choice) wins for voltage groups of that type. Misc channels, unlike each other by
    definition, also get a gain each so that every one of them fills its row.

    ``exclude`` (channel indexes, the bad channels; :meth:`set_excluded` changes them)
    are left out of their group's typical spread, so a flat or wild electrode does not
    set the scale of the good ones; a group of bad channels only is measured on them all.
    """

    def __init__(self, spreads, scales: list[RowScale], bursts=None, exclude=()):
        values = np.asarray(spreads, dtype=np.float64)
        if values.shape != (len(scales),):
            values = np.full(len(scales), np.nan)
        bursts = np.asarray(bursts if bursts is not None else [], dtype=np.float64)
        if bursts.shape == values.shape:
            burst_rows = np.array([group_type(s.group) in BURST_TYPES for s in scales], dtype=bool)
            values = np.where(burst_rows, bursts, values)
        in_group_unit = values * np.asarray([s.to_group_unit for s in scales], dtype=np.float64)
        self._in_group_unit = in_group_unit
        self._scales = list(scales)
        self._typical: dict[str, float | None] = {}
        self.set_excluded(exclude)

    def set_excluded(self, exclude) -> None:
        """Measure each group's typical spread without the channels ``exclude`` indexes."""
        excluded = {int(i) for i in exclude}
        for group in dict.fromkeys(s.group for s in self._scales):
            members = [i for i, s in enumerate(self._scales) if s.group == group]
            good = [i for i in members if i not in excluded] or members
            self._typical[group] = typical_spread(self._in_group_unit[good])

    def typical(self, group: str) -> float | None:
        return self._typical.get(group)

    def sensitivities(self, row_px: float, pixels_per_mm: float,
                      preferred: dict[str, float] | None = None) -> dict[str, float]:
        preferred = preferred or {}
        result = {}
        for group, typical in self._typical.items():
            chosen = preferred.get(group) if ":" not in group else None
            if chosen:
                result[group] = float(chosen)
            else:
                result[group] = automatic_sensitivity(typical or 0.0, row_px, pixels_per_mm)
        return result

    def misc_gains(self) -> dict[int, float]:
        """Gain per channel index (as recorded) for misc channels."""
        gains = {}
        for i, scale in enumerate(self._scales):
            typical = self._typical.get(scale.group)
            own = self._in_group_unit[i]
            if is_misc(scale.group) and typical and np.isfinite(own) and own > 0:
                gains[i] = typical / own
        return gains
