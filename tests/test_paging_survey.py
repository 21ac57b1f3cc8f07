"""The viewer's amplitude survey reads a recording's stored codes when it can, and gets
the same spreads as from its physical values."""

from __future__ import annotations

import numpy as np
import pytest

from tracemark.app.viewer_source import RecordingSource
from tracemark.demo.trc_writer import write_trc_array
from tracemark.dsp.amplitude import robust_spreads, survey_windows
from tracemark.io_backends import open_recording
from tracemark.paging import survey
from tracemark.paging.source import ArraySource


def eeg_like(n_samples: int, n_channels: int) -> np.ndarray:
    rng = np.random.default_rng(2)
    data = rng.normal(0, 20.0, (n_samples, n_channels)) * (1 + np.arange(n_channels))
    data[:, 0] += 1500.0                                      # an electrode offset
    return data.astype(np.float32)


def test_a_trc_is_surveyed_on_its_codes_with_the_spreads_of_its_microvolts(tmp_path, monkeypatch):
    rate, page = 512, 5120
    path = write_trc_array(tmp_path / "survey.TRC", eeg_like(200 * rate, 6), sampling_rate=rate)
    with open_recording(path) as recording:
        source = RecordingSource(recording)
        windows = survey_windows(source.n_samples, source.sampling_rate, 6)
        expected = robust_spreads([source.read_block(a, b, range(6)) for a, b in windows], page)

        def physical_read_forbidden(*args):
            raise AssertionError("the survey read physical values of a recording stored as 16-bit codes")

        monkeypatch.setattr(source, "read_block", physical_read_forbidden)
        steady, bursts = survey.survey_spreads(source, page)
    assert steady == pytest.approx(expected[0], rel=1e-3)
    assert bursts == pytest.approx(expected[1], rel=1e-3)
    assert steady[5] > 4 * steady[0] > 0


def test_a_source_without_stored_codes_is_surveyed_on_its_values():
    data = eeg_like(60 * 256, 3)
    source = ArraySource(data, 256.0, ["A", "B", "C"])
    steady, bursts = survey.survey_spreads(source, 2560)
    windows = survey_windows(source.n_samples, 256.0, 3)
    expected = robust_spreads([data[a:b] for a, b in windows], 2560)
    assert np.array_equal(steady, expected[0]) and np.array_equal(bursts, expected[1])
