"""Synthetic EEG + EMG with TMS pulses and motor-evoked potentials (MEPs).

The demo recording, the test fixtures and the benchmark files all come from here, so
that every part of Tracemark is exercised on signals that look like a real TMS session:

* EEG channels at the 10-20 positions: 1/f-like background (about 20 uV RMS), a 10 Hz
  alpha rhythm strongest over occipital channels, occasional eye blinks on the frontal
  poles and a little 50 Hz line noise;
* EMG channels (``EMG`` over the target muscle, ``EMG2`` over a neighbour; TRC labels hold
  6 bytes): a few uV of background noise and, after each pulse, a biphasic MEP whose
  amplitude follows a sigmoid recruitment curve of the stimulation intensity with
  trial-to-trial variability; below threshold there is no response;
* a TMS artefact at each pulse on every channel (largest on EMG).

Generation streams in chunks with the filter state carried from one chunk to the next,
so a 24-hour file never lives in memory. ``fast=True`` replaces the filtered noise by a
tiled pre-computed block: statistically poorer, but about ten times quicker, for the
multi-gigabyte benchmark files where only the byte count matters.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
from scipy import signal

EEG_1020 = ("Fp1", "Fp2", "F7", "F3", "Fz", "F4", "F8", "T3", "C3", "Cz", "C4", "T4",
            "T5", "P3", "Pz", "P4", "T6", "O1", "O2")
_OCCIPITAL_WEIGHT = {"O1": 1.0, "O2": 1.0, "Pz": 0.7, "P3": 0.7, "P4": 0.7, "T5": 0.5, "T6": 0.5}
_FRONTAL_POLES = ("Fp1", "Fp2")

TRIGGER_LABEL = "TMS"
TRIGGER_CODE = 1


@dataclass(frozen=True)
class Trial:
    """One TMS pulse and the response it evoked (the ground truth behind the demo)."""

    sample: int
    intensity_mso: float
    #: MEP onset latency in seconds, None when the pulse evoked no response.
    latency_s: float | None
    #: Peak-to-peak MEP amplitude on the first EMG channel, in uV (0 without response).
    amplitude_uv: float
    coil_xyz: tuple[float, float, float]

    @property
    def has_response(self) -> bool:
        return self.latency_s is not None


@dataclass(frozen=True)
class SyntheticSession:
    """A synthetic recording: channels, clock, pulses; ``chunks()`` yields its samples in uV."""

    channel_names: tuple[str, ...]
    sampling_rate: float
    n_samples: int
    emg_channels: tuple[str, ...]
    trials: tuple[Trial, ...]
    seed: int = 0
    fast: bool = False
    units: str = "uV"
    #: Physical range each channel is quantised into when written to an integer format.
    physical_range_uv: tuple[float, float] = (-3276.8, 3276.7)
    notes: tuple[tuple[int, str], ...] = field(default=())

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.sampling_rate

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    @property
    def trigger_samples(self) -> np.ndarray:
        return np.array([t.sample for t in self.trials], dtype=np.int64)

    def chunks(self, chunk_samples: int = 65536) -> Iterator[np.ndarray]:
        """The recording in order, as float64 arrays (n, n_channels) in uV."""
        generator = _ChunkGenerator(self)
        for start in range(0, self.n_samples, chunk_samples):
            yield generator.next_chunk(start, min(start + chunk_samples, self.n_samples))

    def full(self) -> np.ndarray:
        """The whole recording at once; for tests on small sessions only."""
        return np.concatenate(list(self.chunks()), axis=0) if self.n_samples else np.empty((0, self.n_channels))


def demo_session(duration_s: float = 180.0, sampling_rate: float = 2048.0, seed: int = 7,
                 emg_channels: tuple[str, ...] = ("EMG", "EMG2")) -> SyntheticSession:
    """The built-in demo: 19 EEG channels + EMG, a pulse every ~5 s at varying intensity."""
    rng = np.random.default_rng(seed)
    n_samples = int(round(duration_s * sampling_rate))
    trials = _make_trials(rng, n_samples, sampling_rate, interval_s=5.0, jitter_s=1.0)
    notes = ((int(2 * sampling_rate), "Demo session start"),
             (int(n_samples // 2), "Coil repositioned"))
    return SyntheticSession(EEG_1020 + tuple(emg_channels), sampling_rate, n_samples,
                            tuple(emg_channels), trials, seed=seed, notes=notes)


def benchmark_session(duration_s: float, n_channels: int = 64, sampling_rate: float = 2048.0,
                      seed: int = 11, fast: bool = True) -> SyntheticSession:
    """A long, wide session for benchmarks: EEG-like channels, last channel EMG."""
    rng = np.random.default_rng(seed)
    names = tuple(_benchmark_channel_names(n_channels - 1)) + ("EMG",)
    n_samples = int(round(duration_s * sampling_rate))
    trials = _make_trials(rng, n_samples, sampling_rate, interval_s=5.0, jitter_s=1.0)
    return SyntheticSession(names, sampling_rate, n_samples, ("EMG",), trials, seed=seed, fast=fast)


def _benchmark_channel_names(n: int) -> list[str]:
    names = list(EEG_1020[:n])
    names += [f"E{i + 1}" for i in range(n - len(names))]
    return names


def _make_trials(rng, n_samples: int, rate: float, interval_s: float, jitter_s: float) -> tuple[Trial, ...]:
    trials = []
    t = 3.0
    duration = n_samples / rate
    while t < duration - 1.0:
        intensity = float(np.round(rng.uniform(30, 80)))
        amplitude = _recruitment_uv(intensity) * float(rng.lognormal(0.0, 0.35))
        responds = amplitude >= 50.0
        latency = float(rng.normal(0.022, 0.0015)) if responds else None
        coil = tuple(float(v) for v in np.round(rng.normal((-38.0, -20.0, 62.0), 6.0), 1))
        trials.append(Trial(int(round(t * rate)), intensity, latency,
                            amplitude if responds else 0.0, coil))
        t += interval_s + rng.uniform(-jitter_s, jitter_s)
    return tuple(trials)


def _recruitment_uv(intensity_mso: float) -> float:
    """Sigmoid recruitment curve: threshold ~45 %MSO, plateau ~2 mV."""
    return 2000.0 / (1.0 + np.exp(-(intensity_mso - 55.0) / 4.0))


def mep_waveform(rate: float, amplitude_uv: float) -> np.ndarray:
    """A biphasic MEP (negative then positive peak), ~15 ms long, peak-to-peak ``amplitude_uv``."""
    t = np.arange(int(0.03 * rate)) / rate
    wave = -np.exp(-((t - 0.004) / 0.0022) ** 2) + 0.8 * np.exp(-((t - 0.010) / 0.0030) ** 2)
    span = wave.max() - wave.min()
    return wave * (amplitude_uv / span)


class _ChunkGenerator:
    """Carries filter states and pending responses across chunk boundaries."""

    def __init__(self, session: SyntheticSession):
        self.session = session
        self.rng = np.random.default_rng(session.seed + 1)
        rate = session.sampling_rate
        # 1/f-like background: white noise through a first-order low-pass at 2 Hz, plus white.
        self.pink_b, self.pink_a = signal.butter(1, min(2.0 / (rate / 2), 0.99))
        self.pink_state = np.zeros((1, session.n_channels))
        names = session.channel_names
        self.is_emg = np.array([n in session.emg_channels for n in names])
        self.alpha_weight = np.array([0.0 if e else _OCCIPITAL_WEIGHT.get(n, 0.25)
                                      for n, e in zip(names, self.is_emg)])
        self.blink_channels = np.array([n in _FRONTAL_POLES for n in names])
        self.alpha_phase = self.rng.uniform(0, 2 * np.pi, session.n_channels)
        self.blinks = self._blink_times()
        self.events = self._response_events()
        if session.fast:
            self.tile = self._noise(int(10 * rate))

    def _blink_times(self) -> np.ndarray:
        n_blinks = int(self.session.duration_s / 7.0)
        return np.sort(self.rng.integers(0, max(self.session.n_samples, 1), n_blinks))

    def _response_events(self) -> list[tuple[int, np.ndarray]]:
        """(start sample, waveform (n, n_channels)) for every artefact and MEP."""
        s, rate = self.session, self.session.sampling_rate
        artefact_t = np.arange(int(0.006 * rate)) / rate
        artefact = 400.0 * np.exp(-artefact_t / 0.0008) * np.cos(2 * np.pi * 600 * artefact_t)
        events = []
        emg_index = np.flatnonzero(self.is_emg)
        for trial in s.trials:
            wave = np.zeros((len(artefact), s.n_channels))
            wave[:, :] = (artefact * 0.05)[:, None]
            wave[:, emg_index] = artefact[:, None]
            events.append((trial.sample, wave))
            if trial.has_response and emg_index.size:
                mep = mep_waveform(rate, trial.amplitude_uv)
                waves = np.zeros((len(mep), s.n_channels))
                for rank, column in enumerate(emg_index):
                    # Neighbouring muscles respond less: half the amplitude per extra channel.
                    waves[:, column] = mep * (0.5 ** rank)
                events.append((trial.sample + int(round(trial.latency_s * rate)), waves))
        return events

    def _noise(self, n: int) -> np.ndarray:
        s = self.session
        white = self.rng.standard_normal((n, s.n_channels))
        pink, self.pink_state = signal.lfilter(self.pink_b, self.pink_a, white, axis=0, zi=self.pink_state)
        eeg = 250.0 * pink + 5.0 * white
        emg = 4.0 * white
        return np.where(self.is_emg, emg, eeg)

    def next_chunk(self, start: int, stop: int) -> np.ndarray:
        s, rate = self.session, self.session.sampling_rate
        n = stop - start
        if s.fast:
            offset = start % len(self.tile)
            idx = (offset + np.arange(n)) % len(self.tile)
            data = self.tile[idx]
        else:
            data = self._noise(n)
        t = np.arange(start, stop) / rate
        alpha = 15.0 * np.sin(2 * np.pi * 10.0 * t[:, None] + self.alpha_phase)
        data = data + alpha * self.alpha_weight + 2.0 * np.sin(2 * np.pi * 50.0 * t)[:, None] * ~self.is_emg
        self._add_blinks(data, start, stop)
        self._add_events(data, start, stop)
        return data

    def _add_blinks(self, data: np.ndarray, start: int, stop: int) -> None:
        rate = self.session.sampling_rate
        half = int(0.2 * rate)
        shape = 120.0 * np.hanning(2 * half)
        for centre in self.blinks[(self.blinks > start - half) & (self.blinks < stop + half)]:
            _add_window(data, start, stop, centre - half, shape[:, None] * self.blink_channels)

    def _add_events(self, data: np.ndarray, start: int, stop: int) -> None:
        for onset, wave in self.events:
            if onset < stop and onset + len(wave) > start:
                _add_window(data, start, stop, onset, wave)


def _add_window(data: np.ndarray, start: int, stop: int, onset: int, wave: np.ndarray) -> None:
    """Add ``wave`` (beginning at absolute sample ``onset``) to the part of it inside the chunk."""
    lo, hi = max(onset, start), min(onset + len(wave), stop)
    if lo < hi:
        data[lo - start:hi - start] += wave[lo - onset:hi - onset]
