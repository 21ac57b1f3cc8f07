"""Montages: derived channels (bipolar, referential, average reference) from channel names.

A :class:`Montage` is a named list of :class:`Derivation` (``positive - negative``),
stored by channel *name* so that it can be saved and applied to another recording of
the same set-up. It becomes numbers only when applied to a list of channel names:
:meth:`Montage.matrix` (the weights), :meth:`Montage.input_channels` (which channels to
read) and :meth:`Montage.apply` (the derived signals).

Label matching is tolerant of how recording systems spell 10-20 names: a leading
``EEG``/``SEEG``/``ECoG``/``POL`` tag, a reference suffix (``-REF``, ``-A1``, ``-M2``,
``-AVG``, ``-LE`` ...), padding dots (``"Fp1."``, EDF), case, and the old and new
temporal names (T3/T7, T4/T8, T5/P7, T6/P8) all resolve to the same electrode. An exact
name always wins over a tolerant match; with duplicate names the first channel wins.

Built-in montages
-----------------
* "As recorded" (:func:`referential`): every channel as it is.
* "Average reference" (:func:`average_reference`): each channel minus the mean of all
  channels in the montage (non-EEG channels such as ECG, EMG, EOG, triggers are left
  out of the average by :func:`builtin_montages`, and shown as recorded).

Bad channels
------------
:meth:`Montage.matrix`, :meth:`Montage.apply` and :meth:`Montage.input_channels` take
``exclude``: channel names (a person's bad channels) left out of every average reference,
so one flat or noisy electrode does not leak into every other row. The rows themselves
stay: a bad channel's own row is still drawn (minus the average of the good ones), and
:meth:`Montage.rows_using` says which rows name a bad channel, for the viewer to grey.
When every averaged channel is excluded there is nothing good to average, and the
average takes them all, as it would without ``exclude``.
* "Longitudinal bipolar (double banana)" (:func:`bipolar_longitudinal_1020`), the 18
  pairs of the standard clinical (ACNS) longitudinal bipolar montage, chains in this
  order: left temporal
  Fp1-F7, F7-T7, T7-P7, P7-O1; right temporal Fp2-F8, F8-T8, T8-P8, P8-O2; left
  parasagittal Fp1-F3, F3-C3, C3-P3, P3-O1; right parasagittal Fp2-F4, F4-C4, C4-P4,
  P4-O2; midline Fz-Cz, Cz-Pz.
* "Transverse bipolar" (:func:`bipolar_transverse_1020`), front to back, each row right
  to left across the head as the ACNS transverse montage: F7-Fp1, Fp1-Fp2, Fp2-F8;
  F7-F3, F3-Fz, Fz-F4, F4-F8; A1-T7, T7-C3, C3-Cz, Cz-C4, C4-T8, T8-A2; P7-P3, P3-Pz,
  Pz-P4, P4-P8; P7-O1, O1-O2, O2-P8 (the ear pairs only when A1/A2 were recorded).
* "SEEG bipolar" (:func:`seeg_neighbours`): neighbouring contacts along each depth
  electrode (A1-A2, A2-A3, ...), inferred from labels (see the function).

Both 10-20 montages keep only the pairs whose two channels exist, and are offered only
when at least two pairs exist. :func:`builtin_montages` appends every channel that is not
EEG, SEEG or ECoG (EMG, ECG, EOG, triggers...) as recorded to each bipolar montage, so a
montage never hides the channels it does not re-reference. Labels use the recording's own spelling (``T3-T5`` on a
recording labelled the old way).

Montages are saved and loaded by :class:`tracemark.storage.montages.MontageLibrary`
(:meth:`Montage.to_dict` / :meth:`Montage.from_dict` are the format it stores).

Pure Python/numpy; no Qt, no files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tracemark.domain.channel_types import CEREBRAL_TYPES, SCALP_1010, infer_channel_types

__all__ = [
    "AVERAGE",
    "Derivation",
    "Montage",
    "MontageError",
    "average_reference",
    "bipolar_longitudinal_1020",
    "bipolar_transverse_1020",
    "builtin_montages",
    "channel_key",
    "display_name",
    "keeping",
    "is_non_eeg",
    "referential",
    "seeg_neighbours",
]

#: ``Derivation.negative`` value meaning "the average of the montage's averaged channels".
AVERAGE = "<avg>"
FORMAT_VERSION = 1


class MontageError(ValueError):
    """A montage cannot be applied (missing channels) or loaded (bad or absent file)."""


# -- label normalisation ------------------------------------------------------------

_PREFIX = re.compile(r"^(?:s?eeg|ecog|pol)[\s_:\-]+", re.IGNORECASE)
_REFERENCE_SUFFIX = re.compile(
    r"[\s_]*-[\s_]*(?:ref|avg|ave|av|car|le|re|lr|a1a2|m1m2|a1|a2|m1|m2|org)\.*$",
    re.IGNORECASE)
_OLD_TO_NEW = {"t3": "t7", "t4": "t8", "t5": "p7", "t6": "p8"}
_PRIMES = str.maketrans({"\u2019": "'", "\u2032": "'", "`": "'", "\u00b4": "'"})


def display_name(name: str) -> str:
    """A channel name without system tags, reference suffix and padding dots.

    ``"EEG Fp1-REF"`` -> ``"Fp1"``, ``"Fc5."`` -> ``"Fc5"``, ``"POL B'3"`` -> ``"B'3"``.
    """
    text = name.strip().translate(_PRIMES)
    stripped = _PREFIX.sub("", text)
    text = stripped if stripped else text
    stripped = _REFERENCE_SUFFIX.sub("", text)
    text = stripped if stripped else text
    return text.rstrip(".").strip() or name.strip()


def channel_key(name: str) -> str:
    """Case-folded :func:`display_name` with old temporal names mapped to new ones."""
    key = display_name(name).casefold()
    return _OLD_TO_NEW.get(key, key)


# Unambiguous prefixes match anywhere at the start ("EOGL", "ECG2"); short or common
# words must end there ("STIM 1", not "STN1"), so SEEG stems are not caught.
_NON_EEG = re.compile(
    r"^(?:(?:ecg|ekg|emg|eog|resp|trig|spo2|sao2|pleth|photic|annotation|marker|status)"
    r"|(?:sti|stim|mkr|event|pulse|chin|legs?|snore|flow|thor|abd|position|ref|gnd|dc\d*"
    r"|mic|audio|light|oxim|temp|e[lr]oc)(?![a-z]))",
    re.IGNORECASE)


def is_non_eeg(name: str) -> bool:
    """Whether a label names a non-EEG channel (ECG, EMG, EOG, triggers, sensors...)."""
    return bool(_NON_EEG.match(display_name(name)))


class _ChannelIndex:
    """Resolves montage channel names to indexes: exact name first, then tolerant key."""

    def __init__(self, channel_names: Sequence[str]) -> None:
        self.names = list(channel_names)
        self._exact: dict[str, int] = {}
        self._by_key: dict[str, int] = {}
        for i, name in enumerate(self.names):
            self._exact.setdefault(name, i)
            self._by_key.setdefault(channel_key(name), i)

    def find(self, name: str) -> int | None:
        index = self._exact.get(name)
        return index if index is not None else self._by_key.get(channel_key(name))

    def find_all(self, names: Iterable[str]) -> list[int]:
        return [i for i in (self.find(n) for n in names) if i is not None]


# -- montages -----------------------------------------------------------------------


@dataclass(frozen=True)
class Derivation:
    """One displayed trace: ``positive - negative``.

    ``negative`` is a channel name, None for the channel as recorded, or
    :data:`AVERAGE` for the average of the montage's average-referenced channels.
    """

    label: str
    positive: str
    negative: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.positive, str) or not self.positive:
            raise MontageError(f"derivation {self.label!r} needs a positive channel name")
        if self.negative is not None and (not isinstance(self.negative, str)
                                          or not self.negative):
            raise MontageError(f"derivation {self.label!r}: negative must be a name or None")


@dataclass(frozen=True)
class _Resolved:
    positive: np.ndarray          # (n_out,) input index
    negative: np.ndarray          # (n_out,) input index, or -1 (none), or -2 (average)
    averaged: np.ndarray          # input indexes whose mean is the average reference


_NONE, _AVG = -1, -2


@dataclass(frozen=True)
class Montage:
    """A named, ordered list of derivations, applied to channels by name."""

    name: str
    derivations: tuple[Derivation, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not isinstance(self.derivations, tuple):
            object.__setattr__(self, "derivations", tuple(self.derivations))
        if not isinstance(self.name, str) or not self.name.strip():
            raise MontageError("a montage needs a non-empty name")

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(d.label for d in self.derivations)

    def __len__(self) -> int:
        return len(self.derivations)

    def _resolve(self, channel_names: Sequence[str], exclude: Iterable[str] = ()) -> _Resolved:
        index = _ChannelIndex(channel_names)
        missing: list[str] = []

        def lookup(name: str) -> int:
            found = index.find(name)
            if found is None:
                if name not in missing:
                    missing.append(name)
                return 0
            return found

        positive = [lookup(d.positive) for d in self.derivations]
        negative = [_NONE if d.negative is None else _AVG if d.negative == AVERAGE
                    else lookup(d.negative) for d in self.derivations]
        if missing:
            raise MontageError(
                f"montage {self.name!r} needs channel(s) not in this recording: "
                f"{', '.join(missing)}")
        averaged = sorted({p for p, n in zip(positive, negative) if n == _AVG})
        excluded = set(index.find_all(exclude))
        good = [i for i in averaged if i not in excluded]
        averaged = good or averaged   # nothing good to average: the average of them all
        return _Resolved(np.asarray(positive, dtype=np.intp),
                         np.asarray(negative, dtype=np.intp),
                         np.asarray(averaged, dtype=np.intp))

    def matrix(self, channel_names: Sequence[str], exclude: Iterable[str] = ()) -> np.ndarray:
        """Weights ``(n_out, n_in)`` float32 with ``derived = data @ matrix.T``; the
        channels named in ``exclude`` are left out of the average reference."""
        resolved = self._resolve(channel_names, exclude)
        weights = np.zeros((len(self.derivations), len(channel_names)), dtype=np.float64)
        rows = np.arange(len(self.derivations))
        np.add.at(weights, (rows, resolved.positive), 1.0)
        bipolar = resolved.negative >= 0
        np.add.at(weights, (rows[bipolar], resolved.negative[bipolar]), -1.0)
        average_rows = rows[resolved.negative == _AVG]
        if average_rows.size:
            weights[np.ix_(average_rows, resolved.averaged)] -= 1.0 / resolved.averaged.size
        return weights.astype(np.float32)

    def input_channels(self, channel_names: Sequence[str], exclude: Iterable[str] = ()) -> np.ndarray:
        """Sorted indexes of the input channels the montage reads (int64)."""
        resolved = self._resolve(channel_names, exclude)
        used = np.concatenate([resolved.positive, resolved.negative[resolved.negative >= 0],
                               resolved.averaged])
        return np.unique(used).astype(np.int64)

    def apply(self, data: np.ndarray, channel_names: Sequence[str],
              exclude: Iterable[str] = ()) -> np.ndarray:
        """Derived signals ``(n_samples, n_out)`` float32 from ``data`` ``(n, n_in)``; the
        channels named in ``exclude`` are left out of the average reference.

        Computed by indexing rather than by the dense matrix, so that a NaN in one
        channel only reaches the derivations that use it.
        """
        data = np.asarray(data)
        if data.ndim != 2 or data.shape[1] != len(channel_names):
            raise MontageError(
                f"data of shape {data.shape} does not match {len(channel_names)} channel names")
        resolved = self._resolve(channel_names, exclude)
        out = data[:, resolved.positive].astype(np.float32)
        bipolar = np.flatnonzero(resolved.negative >= 0)
        if bipolar.size:
            out[:, bipolar] -= data[:, resolved.negative[bipolar]]
        average_cols = np.flatnonzero(resolved.negative == _AVG)
        if average_cols.size:
            mean = data[:, resolved.averaged].mean(axis=1, dtype=np.float64)
            out[:, average_cols] -= mean.astype(np.float32)[:, None]
        return out

    def named_inputs(self, channel_names: Sequence[str]) -> list[tuple[int, ...]]:
        """Per derivation, the input channels it names: its positive one and its negative
        one unless that is none or the average (the channels a person means by the row)."""
        resolved = self._resolve(channel_names)
        return [(int(p),) if n < 0 else (int(p), int(n))
                for p, n in zip(resolved.positive, resolved.negative)]

    def rows_using(self, channel_names: Sequence[str], channels: Iterable[str]) -> np.ndarray:
        """Which derivations name one of ``channels`` (bool, one per derivation).

        With ``channels`` left out of the average (``exclude``), these are the only rows
        whose values the channels still reach."""
        wanted = set(_ChannelIndex(channel_names).find_all(channels))
        return np.array([any(i in wanted for i in named) for named in self.named_inputs(channel_names)],
                        dtype=bool)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "tracemark-montage",
            "version": FORMAT_VERSION,
            "name": self.name,
            "derivations": [{"label": d.label, "positive": d.positive, "negative": d.negative}
                            for d in self.derivations],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Montage:
        """Inverse of :meth:`to_dict`; raises :class:`MontageError` on malformed input."""
        try:
            if data.get("version", FORMAT_VERSION) > FORMAT_VERSION:
                raise MontageError(
                    f"montage format version {data['version']} is newer than this program")
            derivations = tuple(
                Derivation(label=str(d["label"]), positive=d["positive"],
                           negative=d.get("negative"))
                for d in data["derivations"])
            return cls(name=data["name"], derivations=derivations)
        except MontageError:
            raise
        except (KeyError, TypeError, AttributeError) as exc:
            raise MontageError(f"not a montage description: {exc!r}") from None


def referential(channel_names: Sequence[str]) -> Montage:
    """"As recorded": every channel (first of duplicate names) as it is."""
    seen: dict[str, None] = dict.fromkeys(channel_names)
    return Montage("As recorded", tuple(Derivation(n, n, None) for n in seen))


def average_reference(channel_names: Sequence[str], exclude: Iterable[str] = (),
                      *, keep_excluded: bool = False) -> Montage:
    """Each channel minus the mean of all the montage's averaged channels.

    ``exclude`` names (matched tolerantly: ``"ECG"`` excludes ``"EEG ECG-REF"``) are
    left out of the average; with ``keep_excluded`` they are still shown, as recorded,
    after the averaged ones.
    """
    exclude = list(exclude)
    excluded = {channel_key(n) for n in exclude} | set(exclude)
    unique = list(dict.fromkeys(channel_names))
    kept = [n for n in unique if n not in excluded and channel_key(n) not in excluded]
    if not kept:
        raise MontageError("no channels left for an average reference")
    derivations = [Derivation(f"{display_name(n)}-avg", n, AVERAGE) for n in kept]
    if keep_excluded:
        derivations += [Derivation(n, n, None) for n in unique if n not in kept]
    return Montage("Average reference", tuple(derivations))


_LONGITUDINAL_1020 = (
    ("fp1", "f7"), ("f7", "t7"), ("t7", "p7"), ("p7", "o1"),
    ("fp2", "f8"), ("f8", "t8"), ("t8", "p8"), ("p8", "o2"),
    ("fp1", "f3"), ("f3", "c3"), ("c3", "p3"), ("p3", "o1"),
    ("fp2", "f4"), ("f4", "c4"), ("c4", "p4"), ("p4", "o2"),
    ("fz", "cz"), ("cz", "pz"),
)
_TRANSVERSE_1020 = (
    ("f7", "fp1"), ("fp1", "fp2"), ("fp2", "f8"),
    ("f7", "f3"), ("f3", "fz"), ("fz", "f4"), ("f4", "f8"),
    ("a1", "t7"), ("t7", "c3"), ("c3", "cz"), ("cz", "c4"), ("c4", "t8"), ("t8", "a2"),
    ("p7", "p3"), ("p3", "pz"), ("pz", "p4"), ("p4", "p8"),
    ("p7", "o1"), ("o1", "o2"), ("o2", "p8"),
)


def _bipolar_from_pairs(name: str, pairs: Iterable[tuple[str, str]], channel_names: Sequence[str]) -> Montage | None:
    by_key: dict[str, str] = {}
    for channel in channel_names:
        by_key.setdefault(channel_key(channel), channel)
    derivations = []
    for positive, negative in pairs:
        if positive in by_key and negative in by_key:
            pos, neg = by_key[positive], by_key[negative]
            derivations.append(
                Derivation(f"{display_name(pos)}-{display_name(neg)}", pos, neg))
    return Montage(name, tuple(derivations)) if len(derivations) >= 2 else None


def bipolar_longitudinal_1020(channel_names: Sequence[str]) -> Montage | None:
    """The longitudinal bipolar "double banana" (those of its 18 pairs that exist)."""
    return _bipolar_from_pairs("Longitudinal bipolar (double banana)", _LONGITUDINAL_1020,
                               channel_names)


def bipolar_transverse_1020(channel_names: Sequence[str]) -> Montage | None:
    """The transverse bipolar montage (pairs that exist; ear pairs when recorded)."""
    return _bipolar_from_pairs("Transverse bipolar", _TRANSVERSE_1020, channel_names)


# -- SEEG ---------------------------------------------------------------------------

_CONTACT = re.compile(r"^(?P<stem>[A-Za-z]+'*)[\s_]?(?P<number>\d{1,3})$")
#: Scalp names a depth electrode's contacts can be mistaken for. T1 and T2 (anterior
#: temporal) are left out: a depth electrode "T" numbers its contacts from 1.
_SCALP_CONTACTS = SCALP_1010 - {"t1", "t2"}
_SCALP_LANDMARKS = frozenset(["fp1", "fp2", "fpz", "afz", "fz", "fcz", "cz", "cpz", "pz",
                              "poz", "oz", "iz"])
MIN_SEEG_CONTACTS = 3
#: Depth electrodes carry up to about 18 contacts; a stem with more is a grid or a
#: high-density net (EGI's E1..E256), where number order is not neighbourhood.
MAX_SEEG_CONTACTS = 20


def _parse_contact(name: str) -> tuple[str, int] | None:
    match = _CONTACT.match(display_name(name))
    if match is None:
        return None
    return match["stem"].upper(), int(match["number"])


def _longest_run(numbers: Sequence[int]) -> int:
    ordered = sorted(set(numbers))
    best = run = 1 if ordered else 0
    for a, b in zip(ordered, ordered[1:]):
        run = run + 1 if b == a + 1 else 1
        best = max(best, run)
    return best


def seeg_neighbours(channel_names: Sequence[str]) -> Montage | None:
    """Bipolar derivations between neighbouring contacts of each depth electrode.

    A label is a contact when it reads as a stem of letters (with optional primes for
    the other hemisphere, ``B'``) followed by a contact number: ``A1``, ``B'12``,
    ``TB'1``, ``OF12``, ``EEG HA3-REF``. A stem is taken as an electrode only when it has
    at least :data:`MIN_SEEG_CONTACTS` (3) consecutive contact numbers, so the ear
    references ``A1``/``A2`` and pairs such as ``F3``/``F4`` of a scalp montage are not
    mistaken for electrodes. When the recording also holds scalp landmarks (``Cz``,
    ``Fz``, ``Pz``, ``Fp1`` ...), a stem whose every contact is a 10-10 scalp name
    (``T3``-``T6``, ``C1``-``C6`` of a 64-channel cap) is scalp, not SEEG. A stem with more
    than :data:`MAX_SEEG_CONTACTS` (20) contacts is a grid or a high-density net, where
    consecutive numbers are not neighbours, so it is left out too.

    Derivations join contact ``n`` to contact ``n + 1`` of the same electrode (deeper
    minus next); contacts are not bridged across a missing number. Electrodes appear in
    the order of their first channel. None when no electrode is found.
    """
    electrodes: dict[str, dict[int, str]] = {}
    for channel in channel_names:
        parsed = _parse_contact(channel)
        if parsed is not None:
            electrodes.setdefault(parsed[0], {}).setdefault(parsed[1], channel)
    keys = {channel_key(n) for n in channel_names}
    scalp_context = len(keys & _SCALP_LANDMARKS) >= 2
    derivations = []
    for contacts in electrodes.values():
        if len(contacts) > MAX_SEEG_CONTACTS or _longest_run(list(contacts)) < MIN_SEEG_CONTACTS:
            continue
        if scalp_context and all(channel_key(n) in _SCALP_CONTACTS for n in contacts.values()):
            continue
        for number in sorted(contacts):
            if number + 1 in contacts:
                pos, neg = contacts[number], contacts[number + 1]
                derivations.append(
                    Derivation(f"{display_name(pos)}-{display_name(neg)}", pos, neg))
    if not derivations:
        return None
    return Montage("SEEG bipolar (neighbouring contacts)", tuple(derivations))


def builtin_montages(channel_names: Sequence[str],
                     channel_types: Sequence[str] | None = None) -> list[Montage]:
    """The built-in montages that apply to these channels, "As recorded" first.

    Montages re-reference the brain's channels only (types ``eeg``, ``seeg``, ``ecog``;
    ``channel_types`` default to those inferred from the names). Every other channel
    (EMG, ECG, EOG, respiration, triggers, sensors) is kept as recorded after the
    derivations, and left out of the average: a bipolar EEG montage must not make the
    motor-evoked potentials of a TMS session disappear.
    """
    names = list(channel_names)
    types = (list(channel_types) if channel_types is not None and len(channel_types) == len(names)
             else list(infer_channel_types(names, ("uV",) * len(names))))
    others = [n for n, t in zip(names, types) if t not in CEREBRAL_TYPES]
    montages = [referential(names)]
    if len(names) - len(others) >= 2:
        montages.append(average_reference(names, exclude=others, keep_excluded=True))
    cerebral = [n for n in names if n not in set(others)]
    for make in (bipolar_longitudinal_1020, bipolar_transverse_1020, seeg_neighbours):
        montage = make(cerebral)
        if montage is not None:
            montages.append(keeping(montage, others))
    return montages


def keeping(montage: Montage, channel_names: Sequence[str]) -> Montage:
    """``montage`` followed by ``channel_names`` as recorded (those it does not already show)."""
    shown = {d.positive for d in montage.derivations if d.negative is None}
    kept = tuple(Derivation(n, n, None) for n in dict.fromkeys(channel_names) if n not in shown)
    return Montage(montage.name, montage.derivations + kept)
