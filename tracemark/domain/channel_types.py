"""What kind of signal a channel carries, and which units are voltages.

Every reader gives each channel a *type* (the vocabulary clinical viewers share with
MNE's ``channel_type``): scalp ``eeg``, depth ``seeg``, cortical ``ecog``, ``emg``,
``ecg``, ``eog``, respiration ``resp``, ``stim`` for trigger and status channels, and
``misc`` for anything else (saturation, temperature, position, patch-clamp currents...).
The viewer scales, clips and lays out rows by type; montages re-reference only the
cerebral types and keep the rest as recorded.

A file that says what its channels are wins (an NWB ElectricalSeries of an ECoG grid, a
BDF ``Status``); otherwise :func:`infer_channel_type` reads the label and the unit the way
EDF and Micromed systems spell them:

* an explicit type word first: ``EEG Fp1-REF``, ``EMG chin``, ``ECG II``, ``EOG left``,
  ``Resp nasal``, ``SEEG A1``, ``ECoG G12``;
* trigger and status channels: ``Status``, ``Trigger``, ``STI 014``, ``Marker``, ``Photic``;
* physiological labels without the type word: ``EKG``, ``LOC``/``ROC``, ``Chin``, ``Leg``,
  ``APB``/``FDI``/``ADM`` (hand muscles used in TMS), ``Flow``, ``Thor``, ``SpO2``, ``Pleth``;
* 10-10 electrode names (old and new temporal names, ear and mastoid references) are EEG;
* any other voltage channel is EEG, as MNE's EDF reader assumes; a channel in a unit that
  is not a voltage (``%``, ``bpm``, ``degC``, ``A``, none) is ``misc``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EEG = "eeg"
SEEG = "seeg"
ECOG = "ecog"
EMG = "emg"
ECG = "ecg"
EOG = "eog"
RESP = "resp"
STIM = "stim"
MISC = "misc"

#: Every type, in the order rows of different types are described (status line, legend).
CHANNEL_TYPES = (EEG, SEEG, ECOG, EMG, ECG, EOG, RESP, MISC, STIM)
#: Types whose channels record the brain: what montages re-reference and average.
CEREBRAL_TYPES = frozenset({EEG, SEEG, ECOG})
#: How a type is written for people.
TYPE_TITLES = {EEG: "EEG", SEEG: "SEEG", ECOG: "ECoG", EMG: "EMG", ECG: "ECG", EOG: "EOG",
               RESP: "Resp", STIM: "Stim", MISC: "Misc"}

#: Multipliers from a voltage unit to microvolts (keys case-folded).
_TO_MICROVOLT = {"v": 1e6, "mv": 1e3, "uv": 1.0, "µv": 1.0, "μv": 1.0, "nv": 1e-3,
                 "volt": 1e6, "volts": 1e6, "millivolt": 1e3, "millivolts": 1e3,
                 "microvolt": 1.0, "microvolts": 1.0}


def microvolts_per_unit(unit: str) -> float | None:
    """The factor turning ``unit`` into microvolts, or None when it is not a voltage."""
    return _TO_MICROVOLT.get(unit.strip().casefold())


def is_voltage(unit: str) -> bool:
    return microvolts_per_unit(unit) is not None


_TYPE_WORD = re.compile(r"^(eeg|seeg|ecog|emg|ecg|ekg|eog|resp|misc|stim)(?:[\s_:\-.]|$)")
_WORD_TYPES = {"eeg": EEG, "seeg": SEEG, "ecog": ECOG, "emg": EMG, "ecg": ECG, "ekg": ECG,
               "eog": EOG, "resp": RESP, "misc": MISC, "stim": STIM}
# Labels that name their type without the type word. A pattern ends at a non-letter so
# that electrode stems are not caught ("STN1" is not a stimulus, "LEG" is a leg).
_LABEL_TYPES = (
    (STIM, re.compile(r"^(?:status|trigger|triggers|trig\d*|sti\s*\d+|sti|stim\w*|marker\w*|mkr\w*"
                      r"|events?|photic\w*|annotations?)$")),
    (ECG, re.compile(r"^(?:ecg|ekg)")),
    (EOG, re.compile(r"^(?:eog|heog|veog|loc|roc)(?![a-z])")),
    (EMG, re.compile(r"^(?:emg|chin|legs?|lat|rat|apb|fdi|adm|ecr|fcr|biceps|triceps|delt\w*"
                     r"|tibialis|ta)(?![a-z])")),
    (RESP, re.compile(r"^(?:resp\w*|flow|airflow|nasal\w*|thor\w*|abd\w*|snore|cannula)(?![a-z])")),
    (MISC, re.compile(r"^(?:spo2|sao2|pleth|pulse|hr|position|pos|temp\w*|light|mic|audio|oxim\w*"
                      r"|ref|gnd|dc\d*|bat\w*)(?![a-z])")),
)
#: 10-10 electrode names, case-folded (old temporal names T3-T6 too; ear and mastoid
#: references A1/A2/M1/M2).
SCALP_1010 = frozenset(
    ["fp1", "fp2", "fpz", "nz", "iz", "a1", "a2", "m1", "m2"]
    + [f"af{n}" for n in (3, 4, 7, 8)] + ["afz"]
    + [f"f{n}" for n in range(1, 11)] + ["fz"]
    + [f"ft{n}" for n in (7, 8, 9, 10)]
    + [f"fc{n}" for n in range(1, 7)] + ["fcz"]
    + [f"t{n}" for n in range(1, 11)]
    + [f"c{n}" for n in range(1, 7)] + ["cz"]
    + [f"tp{n}" for n in (7, 8, 9, 10)]
    + [f"cp{n}" for n in range(1, 7)] + ["cpz"]
    + [f"p{n}" for n in range(1, 11)] + ["pz"]
    + [f"po{n}" for n in (3, 4, 7, 8)] + ["poz"]
    + ["o1", "o2", "oz"])
_REFERENCE = re.compile(r"[\s_]*-[\s_]*[a-z0-9]+\.*$")


def _bare(label: str) -> str:
    """Label case-folded, without the padding dots EDF writers add and a ``POL`` tag."""
    text = label.strip().casefold().rstrip(".").strip()
    return re.sub(r"^pol[\s_]+", "", text)


def label_channel_type(label: str) -> str | None:
    """The type ``label`` names (a type word, a known label, a 10-10 electrode), else None.

    Readers whose files carry other hints (an EDF transducer field) use this to let a
    telling label win and fall back to their hint when the label says nothing.
    """
    text = _bare(label)
    word = _TYPE_WORD.match(text)
    if word:
        return _WORD_TYPES[word.group(1)]
    for channel_type, pattern in _LABEL_TYPES:
        if pattern.match(text):
            return channel_type
    electrode = _REFERENCE.sub("", text) or text
    return EEG if electrode in SCALP_1010 else None


def infer_channel_type(label: str, unit: str = "", *, default: str = EEG) -> str:
    """The type of a channel from its label and unit (see the module docstring).

    ``default`` is the type of an unrecognised voltage channel (EEG, as EDF readers
    assume); an unrecognised channel in another unit is ``misc``.
    """
    named = label_channel_type(label)
    if named is not None:
        return named
    return default if is_voltage(unit) else MISC


def infer_channel_types(labels: Iterable[str], units: Iterable[str], *, default: str = EEG) -> tuple[str, ...]:
    """:func:`infer_channel_type` for each ``(label, unit)`` pair."""
    return tuple(infer_channel_type(label, unit, default=default) for label, unit in zip(labels, units))


def type_title(channel_type: str) -> str:
    return TYPE_TITLES.get(channel_type, channel_type.upper())
