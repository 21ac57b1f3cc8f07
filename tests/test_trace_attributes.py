"""The trace attributes have one home (``tracemark.domain.trace_attributes``): every stored
spelling of ``reject`` and ``onset_shift`` reads the same in the editor's model, the table,
the plots' data, the average, the CSV export and ``tracemark cache peek``, and an edit to
another attribute of a trace never changes how its untouched values read.
"""

from __future__ import annotations

import csv
import io
import math

import h5py
import numpy as np
import pytest

from testkit.cache import make_cache
from tracemark.analysis.average import average_response
from tracemark.app.cli import main
from tracemark.app.plot_data import load_trace_set
from tracemark.domain import trace_attributes as keys
from tracemark.domain.review import REJECTED, UNREVIEWED, review_state
from tracemark.domain.trace_attributes import (
    attribute_problems,
    is_rejected,
    is_reviewed,
    onset_shift_of,
    parse_flag,
    read_flag,
    whole_number,
)
from tracemark.io_backends.cache import CacheFile, CacheValueError, export_table, schema
from tracemark.widgets.editor import TraceRow, TraceView
from tracemark.widgets.editor.attributes_form import AttributesForm
from tracemark.widgets.editor.trace_table import COLUMN_KEYS, TraceTable
from tracemark.widgets.plots.average_view import AverageView

# -- the module's rules ---------------------------------------------------------------------------
TRUE_SPELLINGS = [True, np.bool_(True), 1, np.int64(1), "True", "true", "TRUE", "1", " 1 ",
                  "yes", "on", b"True"]
FALSE_SPELLINGS = [False, np.bool_(False), 0, np.uint8(0), "False", "false", "FALSE", "0",
                   "no", "off", b"0"]
INVALID_FLAGS = ["maybe", "", "None", "2", 2, -1, 1.0, "1.0", [True], np.array([True, False])]


@pytest.mark.parametrize("value", TRUE_SPELLINGS)
def test_true_spellings(value):
    assert parse_flag(value) is True
    assert is_rejected({keys.REJECT: value}) and is_reviewed({keys.REVIEWED: value})
    assert attribute_problems({keys.REJECT: value, keys.REVIEWED: value}) == []


@pytest.mark.parametrize("value", FALSE_SPELLINGS)
def test_false_spellings(value):
    assert parse_flag(value) is False
    assert not is_rejected({keys.REJECT: value}) and not is_reviewed({keys.REVIEWED: value})
    assert attribute_problems({keys.REJECT: value}) == []


@pytest.mark.parametrize("value", INVALID_FLAGS)
def test_an_unreadable_flag_is_not_a_decision_and_is_told(value):
    with pytest.raises(ValueError, match="reject must be true or false"):
        parse_flag(value, keys.REJECT)
    assert read_flag(value) is False and read_flag(value, default=True) is True
    attrs = {keys.REJECT: value, keys.REVIEWED: value}
    assert not is_rejected(attrs) and not is_reviewed(attrs)
    assert review_state(attrs) == UNREVIEWED
    problems = attribute_problems(attrs)
    assert len(problems) == 2
    assert problems[0].startswith(f"reject is {value!r}") and "read as not rejected" in problems[0]
    assert "read as not reviewed" in problems[1]


def test_absent_and_none_read_as_the_default_without_a_problem():
    for attrs in ({}, {keys.REJECT: None, keys.REVIEWED: None, keys.ONSET_SHIFT: None}):
        assert not is_rejected(attrs) and not is_reviewed(attrs)
        assert onset_shift_of(attrs) == 0
        assert attribute_problems(attrs) == []
    assert keys.TRACE_KEYS[keys.REJECT].default is False
    assert keys.TRACE_KEYS[keys.ONSET_SHIFT].default == 0


@pytest.mark.parametrize(("value", "expected"), [
    (5, 5), (-3, -3), ("5", 5), (" -7 ", -7), ("+2", 2), (5.0, 5), ("5.0", 5), ("1e3", 1000),
    (np.int32(-4), -4), (np.float64(6.0), 6),
    (5.5, None), ("5.5", None), (True, None), (np.bool_(False), None), (math.nan, None),
    (math.inf, None), ("inf", None), ("five", None), ("", None), ([5], None), (None, None),
    (2**53, 2**53), (-(2**53), -(2**53)), (2**53 + 1, None), (10**400, None), ("9" * 400, None),
])
def test_whole_numbers(value, expected):
    assert whole_number(value) == expected
    assert onset_shift_of({keys.ONSET_SHIFT: value}) == (0 if expected is None else expected)
    told = attribute_problems({keys.ONSET_SHIFT: value})
    assert told == ([] if expected is not None or value is None
                    else [f"onset_shift is {value!r}, which is not a whole number of samples: "
                          f"read as 0"])


@pytest.mark.parametrize("stored", [*TRUE_SPELLINGS[:10], *FALSE_SPELLINGS[:10], "maybe", "2", 2])
def test_the_cache_decodes_a_flag_as_the_domain_reads_it(stored):
    """Decoding (what every reader of a cache gets) never changes the answer."""
    decoded = schema.decode(keys.REJECT, stored)
    assert is_rejected({keys.REJECT: decoded}) == is_rejected({keys.REJECT: stored})
    assert bool(attribute_problems({keys.REJECT: decoded})) == bool(
        attribute_problems({keys.REJECT: stored}))


def test_the_schema_takes_its_keys_from_the_domain():
    assert schema.TRACE_KEYS is keys.TRACE_KEYS and schema.ALL_KEYS is keys.ALL_KEYS
    assert schema.KeySpec is keys.KeySpec and schema.READOUTS is keys.READOUTS
    assert schema.TRACE_KEYS[keys.REJECT].kind == keys.BOOL
    assert schema.validate(keys.REJECT, "1") is True and schema.validate(keys.REJECT, 0) is False
    with pytest.raises(ValueError, match="reject must be true or false, not 'maybe'"):
        schema.validate(keys.REJECT, "maybe")
    for reserved in keys.RESERVED_KEYS:
        with pytest.raises(ValueError, match="not a usable attribute name"):
            schema.validate(reserved, "x")


# -- the same stored values through every consumer -------------------------------------------
#: (stored reject, stored onset_shift, rejected?, shift read) per trace; None = as built.
STORED = [
    ("maybe", None, False, 0),
    ("false", "5.5", False, 0),            # a fraction of a sample is no shift
    (1, "4.0", True, 4),
    (True, np.int64(-3), True, -3),
    (np.bool_(True), None, True, 0),
    ("True", "x", True, 0),
    ("0", None, False, 0),
    (0, 7, False, 7),
    (np.bool_(False), None, False, 0),
    ("yes", None, True, 0),
]


@pytest.fixture
def odd_cache(tmp_path):
    """A cache whose traces hold the STORED values, written as another tool would."""
    path = make_cache(tmp_path / "odd.hdf5", n_traces=len(STORED))
    with h5py.File(path, "r+") as f:
        traces = f["rec0.trc"]["traces"]
        for index, (reject, shift, _rejected, _shift) in enumerate(STORED):
            traces[str(index)].attrs[keys.REJECT] = reject
            if shift is not None:
                traces[str(index)].attrs[keys.ONSET_SHIFT] = shift
    return path


def _trace_view(cache: CacheFile, index: int, attrs: dict) -> TraceView:
    origin = cache.origin_attrs(attrs[keys.ORIGIN])
    return TraceView(index, cache.get_trace_data(index), tuple(origin[keys.CHANNEL_LABELS]),
                     origin[keys.SAMPLING_RATE], origin[keys.SAMPLES_PRE_EVENT], attrs)


def _csv_states(cache: CacheFile) -> list[str]:
    out = io.StringIO()
    export_table(cache, out)
    return [row[keys.REVIEW_STATE] for row in csv.DictReader(io.StringIO(out.getvalue()))]


def _answers(cache: CacheFile, all_attrs: list[dict], table: TraceTable, view: AverageView,
             trace_set) -> dict[str, list]:
    """Each consumer's answer to "is trace i rejected?" (and its shift where it has one)."""
    column = COLUMN_KEYS.index("state")
    model = table.model
    rows = [TraceRow.from_attrs(i, attrs) for i, attrs in enumerate(all_attrs)]
    return {
        "editor row": [row.reject for row in rows],
        "editor trace": [_trace_view(cache, i, a).state == REJECTED for i, a in enumerate(all_attrs)],
        "table": [model.data(model.index(model.position(i), column)) == str(REJECTED)
                  for i in range(len(rows))],
        "plot data": [bool(flag) for flag in trace_set.reject],
        "average dock": [not included for included in view.accumulator.included],
        "analysis": [not averaged for averaged in trace_set.averaged()],
        "csv": [state == str(REJECTED) for state in _csv_states(cache)],
        "shift: editor": [row.onset_shift for row in rows],
        "shift: plots": [int(shift) for shift in view.traces.onset_shift],
    }


def _check(answers: dict[str, list]) -> None:
    expected_rejected = [rejected for _r, _s, rejected, _shift in STORED]
    expected_shifts = [shift for _r, _s, _rejected, shift in STORED]
    for consumer, answer in answers.items():
        expected = expected_shifts if consumer.startswith("shift") else expected_rejected
        assert answer == expected, consumer


def test_every_consumer_gives_the_same_answer_before_and_after_an_edit(odd_cache, qtbot, capsys):
    with CacheFile(odd_cache) as cache:
        all_attrs = [cache.get_trace_attrs(i) for i in range(len(cache))]
        table = TraceTable()
        qtbot.addWidget(table)
        table.set_rows([TraceRow.from_attrs(i, a) for i, a in enumerate(all_attrs)])
        trace_set = load_trace_set(cache, all_attrs)
        view = AverageView()
        qtbot.addWidget(view)
        view.set_data(trace_set)
        _check(_answers(cache, all_attrs, table, view, trace_set))
        assert average_response(trace_set).n_traces == sum(not r for _v, _s, r, _x in STORED)

        # An edit to another attribute of every trace, confirmed the way the window does.
        for index in range(len(cache)):
            cache.update(index, {keys.COMMENT: "looked at"})
            attrs = cache.get_trace_attrs(index)
            all_attrs[index] = attrs
            table.update_row(TraceRow.from_attrs(index, attrs))
            assert trace_set.apply_attrs(index, attrs) == frozenset(), index
            view.update_trace(index, attrs)
        _check(_answers(cache, all_attrs, table, view, trace_set))
        assert average_response(trace_set).n_traces == sum(not r for _v, _s, r, _x in STORED)

    assert main(["cache", "peek", str(odd_cache), "0-9"]) == 0
    out = capsys.readouterr().out
    told = [line.rsplit(": ", 1)[1] == str(REJECTED) for line in out.splitlines()
            if line.startswith("index ")]
    assert told == [rejected for _r, _s, rejected, _shift in STORED]


def test_an_unreadable_value_is_named_in_the_editor_the_table_and_the_cli(odd_cache, qtbot, capsys):
    with CacheFile(odd_cache, mode="r") as cache:
        attrs = cache.get_trace_attrs(0)                 # reject = "maybe"
        view = _trace_view(cache, 0, attrs)
        row = TraceRow.from_attrs(0, attrs)
    assert view.state == UNREVIEWED and row.state == UNREVIEWED
    form = AttributesForm()
    qtbot.addWidget(form)
    form.show_trace(view)
    assert form.problems_label.isVisibleTo(form)
    assert "reject is 'maybe'" in form.problems_label.text()
    assert form.state_label.text() == "Unreviewed" and not form.reject_toggle.isChecked()
    table = TraceTable()
    qtbot.addWidget(table)
    table.set_rows([row])
    tip = table.model.data(table.model.index(0, COLUMN_KEYS.index("state")), 0x03)  # ToolTipRole
    assert tip.startswith(str(UNREVIEWED)) and "reject is 'maybe'" in tip

    assert main(["cache", "peek", str(odd_cache), "0"]) == 0
    assert "problem: reject is 'maybe'" in capsys.readouterr().out
    assert main(["cache", "peek", str(odd_cache)]) == 0
    assert "unreadable values: 3 traces" in capsys.readouterr().out   # "maybe", "5.5", "x"

    form.show_trace(_trace_view_of_accepted(view))
    assert not form.problems_label.isVisibleTo(form)


def _trace_view_of_accepted(view: TraceView) -> TraceView:
    attrs = {**view.attrs, keys.REJECT: False, keys.REVIEWED: True}
    return TraceView(view.index, view.data, view.channel_labels, view.sampling_rate,
                     view.samples_pre, attrs)


def test_tracemark_never_writes_an_unreadable_flag(odd_cache):
    with CacheFile(odd_cache) as cache:
        with pytest.raises(CacheValueError, match="reject must be true or false"):
            cache.update(1, {keys.REJECT: "maybe"})
        cache.update(0, {keys.REJECT: 1})           # a readable spelling, stored as Tracemark spells it
        assert cache.get_trace_attrs_raw(0)[keys.REJECT] == "True"
        assert is_rejected(cache.get_trace_attrs(0))
