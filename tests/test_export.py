"""Export and print: segments to EDF+/CSV read back by edfio and MNE, pages to PNG/PDF/SVG,
printing through QPrinter, and the window's File › Export/Print commands."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import threading
from datetime import datetime
from xml.etree import ElementTree

import edfio
import mne
import numpy as np
import pytest
from PyQt6.QtCore import QSize
from PyQt6.QtGui import QImage
from PyQt6.QtPdf import QPdfDocument
from PyQt6.QtPrintSupport import QPrinter
from PyQt6.QtWidgets import QDialog, QFileDialog, QProgressDialog, QPushButton
from viewer_support import open_viewer, wait_drawn

from tracemark.app.export_segment import build_segment
from tracemark.dsp.filters import DisplayFilter
from tracemark.dsp.montage import Derivation, Montage
from tracemark.io_backends.segment_export import (
    ExportError,
    Segment,
    annotations_in_span,
    edf_labels,
    edf_unit_scale,
    record_duration_for,
    write_segment,
)
from tracemark.paging.pipeline import read_displayed
from tracemark.paging.source import ArraySource, SourceEvent
from tracemark.widgets.viewer.page_export import (
    PRINT_DPI,
    page_content_for_span,
    page_content_from_viewer,
    print_page,
    render_page_image,
    write_page,
)

RATE = 256.0
START = datetime(2024, 3, 1, 10, 0, 0, 250000)
NAMES = ("Fp1", "Fp2", "C3", "C4", "O1", "A channel with a long name", "A channel with a long name too")
EVENTS = (SourceEvent(3.5, 0.5, "stim"), SourceEvent(12.25, 0.0, "eyes closed"),
          SourceEvent(40.0, 0.0, "outside"))


def recording_source(seconds: float = 60.0) -> ArraySource:
    rng = np.random.default_rng(5)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    data = np.stack([40 * np.sin(2 * np.pi * (6 + i) * t) + 12 * rng.standard_normal(n) + 150 * i
                     for i in range(len(NAMES))], axis=1)
    data[:, 4] *= 30   # a channel in the millivolt range: its own quantisation step
    return ArraySource(data.astype(np.float32), RATE, NAMES, ["uV"] * len(NAMES), name="session.edf",
                       start_datetime=START, events=EVENTS)


def quantisation_steps(signals) -> np.ndarray:
    return np.array([(s.physical_max - s.physical_min) / (s.digital_max - s.digital_min) for s in signals])


# -- EDF+ and CSV ---------------------------------------------------------------------------------
def test_raw_segment_to_edf_survives_within_one_step_in_edfio_and_mne(tmp_path):
    source = recording_source()
    rows = list(range(len(NAMES)))
    segment = build_segment(source, 2.0, 22.0, rows, output=tmp_path / "out.edf")
    path = write_segment(segment, tmp_path / "out.edf")
    expected = source.read_block(int(2 * RATE), int(22 * RATE), rows).astype(np.float64)

    edf = edfio.read_edf(path)
    assert edf.labels == tuple(edf_labels(NAMES))
    assert all(len(label) <= 16 for label in edf.labels) and len(set(edf.labels)) == len(NAMES)
    assert edf.startdatetime == datetime(2024, 3, 1, 10, 0, 2, 250000)
    steps = quantisation_steps(edf.signals)
    for i, signal in enumerate(edf.signals):
        assert signal.data.shape == (int(20 * RATE),)
        assert np.max(np.abs(signal.data - expected[:, i])) <= steps[i]
    assert [(a.onset, a.duration, a.text) for a in edf.annotations] == [(1.5, 0.5, "stim"),
                                                                         (10.25, None, "eyes closed")]
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    from_mne = raw.get_data().T * 1e6   # MNE reads µV as volts
    assert from_mne.shape == expected.shape
    assert np.all(np.abs(from_mne - expected) <= steps[None, :] * 1.0001)
    assert list(raw.annotations.onset) == [1.5, 10.25]
    assert list(raw.annotations.description) == ["stim", "eyes closed"]
    assert raw.info["meas_date"].replace(tzinfo=None, microsecond=0) == datetime(2024, 3, 1, 10, 0, 2)


def test_as_displayed_segment_is_the_montage_and_filter_of_the_viewer(tmp_path):
    source = recording_source()
    montage = Montage("pairs", (Derivation("Fp1-C3", "Fp1", "C3"), Derivation("Fp2-C4", "Fp2", "C4")))
    display_filter = DisplayFilter(highpass_hz=1.0, lowpass_hz=40.0, remove_dc=True)
    segment = build_segment(source, 5.0, 15.0, [0, 1], output=tmp_path / "d.edf", montage=montage,
                            display_filter=display_filter)
    write_segment(segment, tmp_path / "d.edf")
    edf = edfio.read_edf(tmp_path / "d.edf")
    assert edf.labels == ("Fp1-C3", "Fp2-C4")
    assert edf.signals[0].prefiltering == "HP:1Hz LP:40Hz"
    # The viewer's own function over the whole span: chunking and DC removal change nothing.
    expected = read_displayed(source, int(5 * RATE), int(15 * RATE), (0, 1), montage.matrix(NAMES),
                              DisplayFilter(highpass_hz=1.0, lowpass_hz=40.0))
    steps = quantisation_steps(edf.signals)
    for i, signal in enumerate(edf.signals):
        assert np.max(np.abs(signal.data - expected[:, i])) <= steps[i]


def test_long_span_is_written_in_bounded_chunks(tmp_path, monkeypatch):
    from tracemark.io_backends import segment_export

    monkeypatch.setattr(segment_export, "CHUNK_VALUES", 7 * 1000)
    source = recording_source(120.0)
    reads: list[int] = []

    def read(a, b):
        reads.append(b - a)
        return source.read_block(a, b, range(len(NAMES)))
    segment = Segment(read, NAMES, ("uV",) * len(NAMES), RATE, 0, source.n_samples, START)
    write_segment(segment, tmp_path / "long.edf")
    assert max(reads) <= 1000 and sum(reads) == 2 * source.n_samples   # range pass + write pass
    edf = edfio.read_edf(tmp_path / "long.edf")
    expected = source.read_block(0, source.n_samples, range(len(NAMES)))
    steps = quantisation_steps(edf.signals)
    for i, signal in enumerate(edf.signals):
        assert np.max(np.abs(signal.data - expected[:, i])) <= steps[i]


def test_tiny_si_values_get_a_prefix_so_they_survive(tmp_path):
    rng = np.random.default_rng(2)
    current = (rng.standard_normal(2560) * 3e-11).astype(np.float32)     # tens of pA, in A
    percent = (50 + 10 * rng.standard_normal(2560)).astype(np.float32)
    data = np.stack([current, percent], axis=1)
    segment = Segment(lambda a, b: data[a:b], ("Im", "SpO2"), ("A", "%"), RATE, 0, len(data))
    write_segment(segment, tmp_path / "units.edf")
    edf = edfio.read_edf(tmp_path / "units.edf")
    assert [s.physical_dimension for s in edf.signals] == ["pA", "%"]
    steps = quantisation_steps(edf.signals)
    assert np.max(np.abs(edf.signals[0].data * 1e-12 - current)) <= steps[0] * 1e-12
    assert np.max(np.abs(edf.signals[1].data - percent)) <= steps[1]
    assert edf_unit_scale("uV", 150.0) == (1.0, "uV")
    assert edf_unit_scale("V", 2e-4) == pytest.approx((1e6, "uV"))


def test_csv_holds_time_and_values(tmp_path):
    source = recording_source()
    segment = build_segment(source, 1.0, 3.0, [0, 4], output=tmp_path / "s.csv")
    write_segment(segment, tmp_path / "s.csv")
    with open(tmp_path / "s.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["time_s", "Fp1 (uV)", "O1 (uV)"]
    values = np.array(rows[1:], dtype=np.float64)
    assert values.shape == (int(2 * RATE), 3)
    np.testing.assert_allclose(values[:, 0], np.arange(int(RATE), int(3 * RATE)) / RATE, atol=1e-9)
    expected = source.read_block(int(RATE), int(3 * RATE), [0, 4])
    np.testing.assert_allclose(values[:, 1:], expected, rtol=1e-7, atol=1e-4)


def test_annotations_in_span_are_relative_and_cut_at_the_end():
    kept = annotations_in_span([(1.0, 0.0, "before"), (5.0, 10.0, "long"), (6.5, 0.0, "in")], 2.0, 8.0)
    assert kept == ((3.0, 3.0, "long"), (4.5, 0.0, "in"))


def test_labels_and_record_durations_follow_edf_rules():
    assert edf_labels(["A" * 20, "A" * 20, "A" * 20, "µV chan"]) == ["A" * 16, "A" * 14 + "~2",
                                                                     "A" * 14 + "~3", "_V chan"]
    assert record_duration_for(256.0, 8, 256 * 10) == 1.0
    assert record_duration_for(2048.0, 64, 2048 * 10) == 0.125   # records within 61,440 bytes
    assert record_duration_for(1000.0 / 3, 4) is None


@pytest.mark.parametrize("change, problem", [
    ({"i_stop": 0}, "span to export is empty"),
    ({"labels": ()}, "no channels"),
])
def test_bad_segments_are_refused_with_the_file_named(tmp_path, change, problem):
    source = recording_source(5.0)
    segment = Segment(lambda a, b: source.read_block(a, b, [0]), ("Fp1",), ("uV",), RATE, 0, 256)
    from dataclasses import replace

    with pytest.raises(ExportError, match=problem) as caught:
        write_segment(replace(segment, **change), tmp_path / "bad.edf")
    assert caught.value.path == tmp_path / "bad.edf"
    assert not list(tmp_path.iterdir())


def test_span_outside_the_recording_is_refused(tmp_path):
    with pytest.raises(ExportError, match="outside the recording"):
        build_segment(recording_source(10.0), 12.0, 14.0, [0], output=tmp_path / "x.edf")


# -- pages ------------------------------------------------------------------------------------------
@pytest.fixture
def page(qapp):
    return page_content_for_span(recording_source(), 10.0, 20.0, display_filter=DisplayFilter(remove_dc=True))


def test_png_page_is_a4_landscape_at_print_resolution(page, tmp_path):
    write_page(page, tmp_path / "page.png")
    image = QImage(str(tmp_path / "page.png"))
    assert image.size() == QSize(round(297 / 25.4 * PRINT_DPI), round(210 / 25.4 * PRINT_DPI))
    # The converted image is kept in a name: its bits must outlive the copy numpy makes.
    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    pixels = np.frombuffer(gray.constBits().asarray(gray.bytesPerLine() * gray.height()), np.uint8).copy()
    assert (pixels < 100).mean() > 0.01   # traces and text are drawn in dark ink


def test_pdf_page_is_vector_with_one_page(page, tmp_path):
    write_page(page, tmp_path / "page.pdf")
    data = (tmp_path / "page.pdf").read_bytes()
    assert data.startswith(b"%PDF")
    document = QPdfDocument(None)
    document.load(str(tmp_path / "page.pdf"))
    assert document.pageCount() == 1
    assert round(document.pagePointSize(0).width()) == 842   # A4 landscape, in points
    text = document.getAllText(0).text()
    assert "Fp1" in text and "session.edf" in text and "10:00:10" in text


def test_svg_page_parses_and_names_every_channel(page, tmp_path):
    write_page(page, tmp_path / "page.svg")
    root = ElementTree.parse(tmp_path / "page.svg").getroot()
    texts = " ".join(t.strip() for t in root.itertext())
    for label in ("Fp1", "C4", "O1", "As recorded", "DC removed", "2024-03-01"):
        assert label in texts


def test_printing_paints_the_same_page_on_a_printer(page, tmp_path):
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    print_page(page, printer)
    document = QPdfDocument(None)
    document.load(str(tmp_path / "printed.pdf"))
    assert document.pageCount() == 1
    assert "Fp1" in document.getAllText(0).text()


def test_page_render_draws_each_row_where_its_label_is(page):
    image = render_page_image(page, dpi=100)
    assert image.width() == round(297 / 25.4 * 100)
    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    column = [gray.pixelColor(image.width() // 2, y).value() for y in range(image.height())]
    dark_rows = sum(1 for a, b in itertools.pairwise(column) if a >= 128 > b)
    assert dark_rows >= len(page.rows)   # every trace crosses the middle of the page


# -- the window ---------------------------------------------------------------------------------
@pytest.fixture
def window_with_recording(qtbot, tmp_path):
    from tracemark.app.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.viewer.set_source(recording_source())
    wait_drawn(qtbot, window.viewer)
    return window


def test_export_page_from_the_file_menu(window_with_recording, tmp_path, monkeypatch):
    window = window_with_recording
    target = tmp_path / "from_menu.pdf"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    assert window.window_actions["export_page"].isEnabled()
    window.window_actions["export_page"].trigger()
    document = QPdfDocument(None)
    document.load(str(target))
    assert document.pageCount() == 1
    assert window.viewer.row_labels()[0] in document.getAllText(0).text()


def test_print_goes_through_the_platform_dialog(window_with_recording, tmp_path, monkeypatch):
    from PyQt6.QtPrintSupport import QPrintDialog

    target = tmp_path / "printed.pdf"

    def answer(dialog):
        dialog.printer().setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        dialog.printer().setOutputFileName(str(target))
        return QDialog.DialogCode.Accepted
    monkeypatch.setattr(QPrintDialog, "exec", answer)
    window_with_recording.window_actions["print_page"].trigger()
    assert target.read_bytes().startswith(b"%PDF")


def test_export_segment_writes_the_cursor_span(qtbot, window_with_recording, tmp_path, monkeypatch):
    from tracemark.app import export_dialog

    window = window_with_recording
    window.viewer.cursors.place(0, 6.0)
    window.viewer.cursors.place(1, 2.0)
    target = tmp_path / "span.edf"
    seen = {}

    def answer(dialog):
        seen["span"] = (dialog.start.value(), dialog.stop.value())
        dialog.path.setText(str(target))
        dialog.raw.setChecked(True)
        return QDialog.DialogCode.Accepted
    monkeypatch.setattr(export_dialog.SegmentExportDialog, "exec", answer)
    window.window_actions["export_segment"].trigger()
    qtbot.waitUntil(lambda: window.exports.task is None, timeout=20000)
    assert window.status_label.text() == f"Segment written to {target}"
    assert seen["span"] == (2.0, 6.0)
    edf = edfio.read_edf(target)
    assert edf.duration == 4.0
    shown = [NAMES[r] for r in window.viewer.model.channels.visible_rows]
    assert edf.labels == tuple(edf_labels(shown))
    assert [(a.onset, a.text) for a in edf.annotations] == [(1.5, "stim")]
    window.viewer.cursors.clear()   # the cursor lines leave the scene before the window goes


def test_a_failed_export_is_told_in_a_dialog(qtbot, window_with_recording, tmp_path, monkeypatch):
    from tracemark.app import export_dialog

    def answer(dialog):
        dialog.path.setText(str(tmp_path / "no such folder" / "x.edf"))
        return QDialog.DialogCode.Accepted
    monkeypatch.setattr(export_dialog.SegmentExportDialog, "exec", answer)
    window_with_recording.window_actions["export_segment"].trigger()
    qtbot.waitUntil(lambda: window_with_recording.last_error_box is not None, timeout=20000)
    assert "does not exist" in window_with_recording.last_error_box.text()


def test_cancelling_a_segment_export_leaves_no_file(qtbot, window_with_recording, tmp_path, monkeypatch):
    from tracemark.app import export_dialog

    target = tmp_path / "cancelled.edf"
    reading = threading.Event()
    go_on = threading.Event()
    make_segment = export_dialog.SegmentExportDialog.segment

    def held_segment(dialog):
        segment = make_segment(dialog)

        def read(a, b):   # the first read waits until the test has pressed Cancel
            reading.set()
            go_on.wait(10)
            return segment.read(a, b)
        return dataclasses.replace(segment, read=read)

    def answer(dialog):
        dialog.path.setText(str(target))
        return QDialog.DialogCode.Accepted
    monkeypatch.setattr(export_dialog.SegmentExportDialog, "segment", held_segment)
    monkeypatch.setattr(export_dialog.SegmentExportDialog, "exec", answer)
    window = window_with_recording
    window.window_actions["export_segment"].trigger()
    assert reading.wait(10)
    progress = window.findChild(QProgressDialog, "segmentExportProgress")
    progress.findChild(QPushButton).click()   # its Cancel button
    go_on.set()
    qtbot.waitUntil(lambda: window.exports.task is None, timeout=20000)
    assert window.status_label.text() == "Export cancelled; nothing was written"
    assert list(tmp_path.glob("cancelled*")) == []


def test_page_from_viewer_keeps_the_screen_scale(qtbot):
    viewer = open_viewer(qtbot, recording_source())
    wait_drawn(qtbot, viewer)
    content = page_content_from_viewer(viewer)
    assert [r.label for r in content.rows] == [viewer.row_labels()[r] for r in viewer.model.channels.visible_rows]
    row = content.rows[0]
    on_screen = viewer.plot.row_scale(0)            # row heights per physical unit, on screen
    assert row.to_group_unit * row.gain / row.units_per_row == pytest.approx(on_screen, rel=1e-6)


def test_a_long_window_is_printed_from_the_bins_on_screen(qtbot, monkeypatch):
    import tracemark.widgets.viewer.page_export as page_export
    from tracemark.dsp.decimate import envelope_xy

    viewer = open_viewer(qtbot, recording_source())
    wait_drawn(qtbot, viewer)
    monkeypatch.setattr(page_export, "LONG_PAGE_VALUES", 1000)
    content = page_content_from_viewer(viewer)
    shown = viewer.last_result
    assert shown.bin_factor > 1   # a read of the window would give every sample (factor 1)
    x, y = envelope_xy(shown.bin_starts, shown.mins, shown.maxs, shown.bin_factor, RATE)
    np.testing.assert_array_equal(content.rows[0].x, x)
    np.testing.assert_array_equal(content.rows[1].y, y[:, 1])
