"""The type of each EDF/BDF signal: its label first, then its transducer field, then its unit.

Used by :mod:`.edf` when it builds stream headers; reads nothing but the parsed header
(:class:`~.edf_header.EdfSignal`). The vocabulary and the label rules live in
:mod:`tracemark.domain.channel_types`.

EDF+ asks writers to fill each signal's 80-character *transducer type* ("AgAgCl
electrode", "Thermistor", "Pulse oximeter", "Piezo belt"). Many files leave it empty or
write the acquisition software's name there ("BCI2000", "Software generated"), and an
"AgAgCl electrode" may record EMG as well as EEG, so the field decides only when the
label says nothing: ``ECG II`` on an AgAgCl electrode stays ECG, an unnamed electrode
channel is EEG, a thermistor or an oximeter is ``misc`` (as the domain module types
temperatures and saturations). BioSemi's BDF ``Status`` channel holds the trigger codes
and is ``stim``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..domain.channel_types import ECG, EEG, EMG, EOG, MISC, RESP, STIM, infer_channel_type, label_channel_type
from .edf_header import EdfSignal

#: BioSemi's trigger and status channel in BDF files.
BDF_STATUS_LABEL = "Status"

# First match wins: a named type ("ECG electrode") before the generic "electrode".
_TRANSDUCER_TYPES = tuple((channel_type, re.compile(pattern)) for channel_type, pattern in (
    (ECG, r"\b(?:ecg|ekg)"),
    (EMG, r"\bemg"),
    (EOG, r"\beog"),
    (STIM, r"\b(?:trigger|ttl|marker)"),
    (RESP, r"\b(?:resp\w*|piezo\w*|belt|airflow|cannula|inductance plethysmograph\w*)"),
    (MISC, r"\b(?:thermistor|thermocouple|temperature|oximet\w*|spo2|sao2|pulse"
           r"|photopleth\w*|light|microphone|accelerometer|position)"),
    (EEG, r"\b(?:eeg|electrodes?|ag\s*[-/]?\s*agcl)"),
))


def transducer_channel_type(transducer: str) -> str | None:
    """The type an EDF transducer field names (``"AgAgCl electrode"`` -> eeg), else None."""
    text = transducer.casefold()
    for channel_type, pattern in _TRANSDUCER_TYPES:
        if pattern.search(text):
            return channel_type
    return None


def edf_channel_types(signals: Iterable[EdfSignal], *, is_bdf: bool) -> tuple[str, ...]:
    """One type per signal, in order (see the module docstring for the rules)."""
    return tuple(_signal_type(signal, is_bdf) for signal in signals)


def _signal_type(signal: EdfSignal, is_bdf: bool) -> str:
    if is_bdf and signal.label == BDF_STATUS_LABEL:
        return STIM
    return (label_channel_type(signal.label) or transducer_channel_type(signal.transducer)
            or infer_channel_type(signal.label, signal.unit))
