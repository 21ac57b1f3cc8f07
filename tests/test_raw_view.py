"""``read_raw_view``: the stored values without a copy where a backend can map its file.

Every backend answers with the same values as ``read_raw``, for all channels and for
subsets; a TRC file's view is a view of a memory map (no copy), taken only while the file
is long enough, and its map goes with it.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_reader_conformance import BACKENDS, NAMES, _main_stream, _signal, written  # noqa: F401

from tracemark.demo.trc_writer import write_trc_array
from tracemark.io_backends import open_recording


@pytest.fixture
def recording(written):  # noqa: F811 (the imported fixture)
    _, path, options, _ = written
    with open_recording(path, **options) as opened:
        yield opened


@pytest.mark.parametrize("channels", [None, [0], [1, 2], [2, 0]])
def test_the_view_holds_the_values_read_raw_returns(recording, channels):
    n = recording.header.streams[0].n_samples
    for i_start, i_stop in ((0, n), (3, min(n, 300)), (n - 5, n), (4, 4)):
        view = recording.read_raw_view(i_start, i_stop, channels)
        np.testing.assert_array_equal(view, recording.read_raw(i_start, i_stop, channels))
        assert view.dtype == recording.read_raw(0, 1, channels).dtype


def test_a_trc_view_is_a_map_of_the_file_not_a_copy(tmp_path):
    data = np.random.default_rng(0).normal(0, 40, (5000, 6)).astype(np.float32)
    path = write_trc_array(tmp_path / "v.TRC", data, sampling_rate=256.0)
    with open_recording(path) as recording:
        view = recording.read_raw_view(100, 4100, [1, 2, 3])
        assert not view.flags.owndata and not view.flags.writeable
        np.testing.assert_array_equal(view, recording.read_raw(100, 4100, [1, 2, 3]))
        # A file that is shorter than the view would be (cut since it was opened) is read,
        # and so refused with the reader's typed error, never mapped.
        assert recording._file.map_array(path.stat().st_size - 10, np.uint8, (20,)) is None
