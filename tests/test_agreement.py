"""Agreement between raters (tracemark.analysis.agreement), the ``tracemark cache agreement``
command and the Agreement dock.

The statistics are checked against oracles computed here by other people's code
(statsmodels' Cohen and Fleiss kappas, pingouin's ICC(2,1)) and against small cases worked
out by hand; the degenerate cases (one category, constant values, too few traces) give None
and a reason, never NaN.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest

from tracemark.analysis.agreement import (
    MEASURED_KEYS,
    REPORT_FORMAT,
    agreement_report,
    cohen_kappa,
    fleiss_kappa,
    icc_2_1,
)
from tracemark.app.cli import main as cli_main
from tracemark.domain.trace_attributes import (
    NEG_PEAK_LATENCY,
    ONSET_SHIFT,
    POS_PEAK_MAGNITUDE,
    REJECT,
    REVIEWED,
)


@dataclass
class FakeRatings:
    """The shape of the cache's Ratings the analysis relies on: raters and values(rater)."""

    table: dict[str, dict[int, dict]]
    problems: list[str] = field(default_factory=list)

    @property
    def raters(self) -> list[str]:
        return list(self.table)

    def values(self, rater: str) -> dict[int, dict]:
        return self.table[rater]


def accepted(**values) -> dict:
    return {REVIEWED: True, REJECT: False, **values}


def rejected(**values) -> dict:
    return {REVIEWED: True, REJECT: True, **values}


def decisions(rejects: list[bool]) -> dict[int, dict]:
    return {i: rejected() if r else accepted() for i, r in enumerate(rejects)}


def no_nan_json(report) -> dict:
    """The report's JSON form; json refuses NaN and infinity here, so any leak fails."""
    return json.loads(json.dumps(report.to_dict(with_values=True), allow_nan=False))


# -- oracles -------------------------------------------------------------------------------------
def statsmodels_cohen(first: np.ndarray, second: np.ndarray) -> float:
    from statsmodels.stats.inter_rater import cohens_kappa

    table = np.array([[np.sum(first & second), np.sum(first & ~second)],
                      [np.sum(~first & second), np.sum(~first & ~second)]])
    return float(cohens_kappa(table).kappa)


def statsmodels_fleiss(rejects: np.ndarray) -> float:
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    counts, _categories = aggregate_raters(rejects.astype(int))
    return float(fleiss_kappa(counts, method="fleiss"))


def pingouin_icc2(table: np.ndarray) -> float:
    import pandas as pd
    import pingouin

    rows = [(trace, rater, table[trace, rater]) for trace in range(table.shape[0])
            for rater in range(table.shape[1])]
    frame = pd.DataFrame(rows, columns=["trace", "rater", "value"])
    with warnings.catch_warnings():   # pingouin's own use of pandas, deprecated by pandas
        warnings.simplefilter("ignore")
        result = pingouin.intraclass_corr(frame, targets="trace", raters="rater", ratings="value")
    # Named "ICC2" up to pingouin 0.5, "ICC(A,1)" (absolute agreement, single rater) since.
    row = result[result["Type"].isin(["ICC2", "ICC(A,1)"])]
    assert len(row) == 1, result
    return float(row["ICC"].iloc[0])


@pytest.mark.parametrize("seed", range(8))
def test_cohens_kappa_matches_statsmodels(seed):
    rng = np.random.default_rng(seed)
    truth = rng.random(60) < 0.3
    first = truth ^ (rng.random(60) < 0.15)
    second = truth ^ (rng.random(60) < 0.25)
    report = agreement_report(FakeRatings({"ann": decisions(list(first)), "bo": decisions(list(second))}))
    (pair,) = report.decisions
    assert pair.raters == ("ann", "bo") and pair.n == 60
    assert pair.kappa == pytest.approx(statsmodels_cohen(first, second), abs=1e-12)
    assert pair.percent_agreement == pytest.approx(100 * np.mean(first == second))
    assert pair.table == (np.sum(first & second), np.sum(~first & ~second),
                          np.sum(first & ~second), np.sum(~first & second))


@pytest.mark.parametrize(("seed", "raters"), [(0, 3), (1, 3), (2, 4), (3, 5), (4, 6)])
def test_fleiss_kappa_matches_statsmodels(seed, raters):
    rng = np.random.default_rng(seed)
    truth = rng.random(50) < 0.4
    rejects = np.stack([truth ^ (rng.random(50) < 0.2) for _ in range(raters)], axis=1)
    names = [f"r{i}" for i in range(raters)]
    report = agreement_report(FakeRatings({name: decisions(list(rejects[:, i])) for i, name in enumerate(names)}))
    group = report.decisions_all
    assert group is not None and group.kind == "fleiss" and group.n == 50
    assert group.kappa == pytest.approx(statsmodels_fleiss(rejects), abs=1e-12)
    assert group.percent_agreement == pytest.approx(100 * np.mean(rejects.all(axis=1) | ~rejects.any(axis=1)))
    assert len(report.decisions) == raters * (raters - 1) // 2
    for pair in report.decisions:
        i, j = (names.index(r) for r in pair.raters)
        assert pair.kappa == pytest.approx(statsmodels_cohen(rejects[:, i], rejects[:, j]), abs=1e-12)


@pytest.mark.parametrize(("seed", "raters", "n"), [(0, 2, 30), (1, 2, 8), (2, 3, 25), (3, 4, 12), (4, 2, 3)])
def test_icc_2_1_matches_pingouin(seed, raters, n):
    rng = np.random.default_rng(seed)
    bias = rng.normal(scale=2.0, size=raters)
    table = 20 + rng.normal(scale=4.0, size=(n, 1)) + bias + rng.normal(scale=1.5, size=(n, raters))
    icc, undefined = icc_2_1(table)
    assert undefined == ""
    assert icc == pytest.approx(pingouin_icc2(table), abs=1e-10)


def test_icc_from_ratings_matches_pingouin_per_pair_and_over_all():
    rng = np.random.default_rng(11)
    latency = 20 + rng.normal(scale=3, size=(40, 3)) + rng.normal(scale=5, size=(40, 1))
    table = {name: {i: accepted(**{NEG_PEAK_LATENCY: float(latency[i, r])}) for i in range(40)}
             for r, name in enumerate(("ann", "bo", "cy"))}
    report = agreement_report(FakeRatings(table))
    pairs = {m.raters: m for m in report.measurements[NEG_PEAK_LATENCY]}
    ann_bo = pairs[("ann", "bo")]
    assert ann_bo.n == 40 and ann_bo.icc == pytest.approx(pingouin_icc2(latency[:, :2]), abs=1e-10)
    assert pairs[("bo", "cy")].icc == pytest.approx(pingouin_icc2(latency[:, 1:]), abs=1e-10)
    everyone = report.measurements_all[NEG_PEAK_LATENCY]
    assert everyone.n == 40 and everyone.icc == pytest.approx(pingouin_icc2(latency), abs=1e-10)
    differences = latency[:, 0] - latency[:, 1]
    assert ann_bo.mean_difference == pytest.approx(differences.mean())
    spread = 1.96 * differences.std(ddof=1)
    assert ann_bo.limits == pytest.approx((differences.mean() - spread, differences.mean() + spread))


# -- worked by hand ----------------------------------------------------------------------------------
def test_a_small_case_worked_by_hand():
    # Ten traces; ann rejects 0-3, bo rejects 0-2 and 4: both reject 3, both accept 5,
    # one each alone. p_o = 0.8, p_e = 0.4 * 0.4 + 0.6 * 0.6 = 0.52, kappa = 0.28 / 0.48.
    ann = decisions([True] * 4 + [False] * 6)
    bo = decisions([True] * 3 + [False, True] + [False] * 5)
    report = agreement_report(FakeRatings({"ann": ann, "bo": bo}))
    (pair,) = report.decisions
    assert pair.percent_agreement == pytest.approx(80.0)
    assert pair.kappa == pytest.approx(0.28 / 0.48)
    assert pair.table == (3, 5, 1, 1)
    assert report.decisions_all is None and report.measurements_all == {}
    assert [(c.rater, c.decided, c.accepted, c.rejected) for c in report.counts] == [("ann", 10, 6, 4),
                                                                                       ("bo", 10, 6, 4)]


def test_icc_by_hand_a_constant_offset_costs_absolute_agreement():
    # bo reads every peak 1 uV higher. MSR = 8, MSC = 1.5, MSE = 0:
    # ICC(2,1) = 8 / (8 + 0 + 2 * 1.5 / 3) = 8 / 9; every difference is -1, so are the limits.
    ann = {i: accepted(**{POS_PEAK_MAGNITUDE: v}) for i, v in enumerate((1.0, 3.0, 5.0))}
    bo = {i: accepted(**{POS_PEAK_MAGNITUDE: v + 1}) for i, v in enumerate((1.0, 3.0, 5.0))}
    result = agreement_report(FakeRatings({"ann": ann, "bo": bo})).measurements[POS_PEAK_MAGNITUDE][0]
    assert result.n == 3 and result.icc == pytest.approx(8 / 9)
    assert result.mean_difference == pytest.approx(-1.0) and result.limits == pytest.approx((-1.0, -1.0))
    assert result.unit == "uV" and result.indexes == (0, 1, 2) and result.second == (2.0, 4.0, 6.0)


def test_fleiss_by_hand():
    # Three raters, four traces: unanimous reject, unanimous accept, and two split 2:1.
    # P_i = 1, 1, 1/3, 1/3 -> P = 2/3; shares 6/12 and 6/12 -> P_e = 1/2; kappa = 1/3.
    rejects = np.array([[1, 1, 1], [0, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=bool)
    kappa, undefined = fleiss_kappa(rejects)
    assert kappa == pytest.approx(1 / 3) and undefined == ""


# -- which traces enter ----------------------------------------------------------------------------------
def test_only_traces_both_raters_decided_enter_and_n_says_how_many():
    ann = {0: rejected(), 1: accepted(), 2: accepted(), 3: accepted(), 4: {REVIEWED: False}}
    bo = {0: rejected(), 1: rejected(), 2: accepted(), 4: accepted(), 5: accepted()}
    report = agreement_report(FakeRatings({"ann": ann, "bo": bo}))
    (pair,) = report.decisions
    assert pair.n == 3                     # traces 0, 1, 2: 3 and 5 only one decided, 4 ann did not
    assert pair.percent_agreement == pytest.approx(200 / 3)
    assert [(c.decided, c.accepted, c.rejected) for c in report.counts] == [(4, 3, 1), (5, 3, 2)]


def test_measurements_count_traces_both_accepted_and_measured():
    ann = {0: accepted(onset_shift=4, **{NEG_PEAK_LATENCY: 21.0}),
           1: accepted(onset_shift=-2, **{NEG_PEAK_LATENCY: 22.5}),
           2: accepted(**{NEG_PEAK_LATENCY: None}),              # no shift stored: 0
           3: rejected(onset_shift=9, **{NEG_PEAK_LATENCY: 30.0}),  # rejected: never compared
           4: accepted(onset_shift=1, **{NEG_PEAK_LATENCY: 19.0})}
    bo = {0: accepted(onset_shift=5, **{NEG_PEAK_LATENCY: 21.5}),
          1: accepted(onset_shift=-2, **{NEG_PEAK_LATENCY: 23.0}),
          2: accepted(onset_shift="3", **{NEG_PEAK_LATENCY: 20.0}),
          3: accepted(onset_shift=9, **{NEG_PEAK_LATENCY: 30.0}),
          4: accepted(onset_shift=1, **{NEG_PEAK_LATENCY: float("nan")})}
    report = agreement_report(FakeRatings({"ann": ann, "bo": bo}))
    shift = report.measurements[ONSET_SHIFT][0]
    assert shift.indexes == (0, 1, 2, 4) and shift.first == (4, -2, 0, 1) and shift.second == (5, -2, 3, 1)
    assert shift.mean_difference == pytest.approx(-1.0)
    latency = report.measurements[NEG_PEAK_LATENCY][0]
    assert latency.indexes == (0, 1) and latency.n == 2
    assert latency.mean_difference == pytest.approx(-0.5) and latency.limits == pytest.approx((-0.5, -0.5))
    assert list(report.measurements) == list(MEASURED_KEYS)


# -- degenerate cases ----------------------------------------------------------------------------------------
def test_everyone_accepting_everything_leaves_kappa_undefined_with_a_reason():
    report = agreement_report(FakeRatings({"ann": decisions([False] * 6), "bo": decisions([False] * 6),
                                           "cy": decisions([False] * 6)}))
    for result in (*report.decisions, report.decisions_all):
        assert result.percent_agreement == 100.0 and result.kappa is None
        assert "undefined" in result.undefined and "accepted all 6" in result.undefined
    described = no_nan_json(report)
    assert described["reject"]["pairs"][0]["kappa"] is None
    assert "accepted all 6" in described["reject"]["all"]["undefined"]


def test_all_rejected_and_one_sided_categories():
    all_rejected = agreement_report(FakeRatings({"a": decisions([True] * 4), "b": decisions([True] * 4)}))
    assert all_rejected.decisions[0].kappa is None and "rejected all 4" in all_rejected.decisions[0].undefined
    # Each rater used one category, but not the same one: chance agreement is 0, kappa 0.
    opposite = agreement_report(FakeRatings({"a": decisions([True] * 4), "b": decisions([False] * 4)}))
    assert opposite.decisions[0].kappa == 0.0 and opposite.decisions[0].percent_agreement == 0.0


def test_fewer_than_two_traces():
    report = agreement_report(FakeRatings({"a": {7: accepted(onset_shift=3)}, "b": {7: accepted(onset_shift=5)}}))
    pair = report.decisions[0]
    assert pair.n == 1 and pair.percent_agreement == 100.0 and pair.kappa is None
    assert "only 1 trace in common" in pair.undefined
    shift = report.measurements[ONSET_SHIFT][0]
    assert shift.n == 1 and shift.icc is None and shift.mean_difference == -2.0 and shift.limits is None
    assert "only 1 trace" in shift.undefined and "limits of agreement need" in shift.undefined
    nothing = report.measurements[NEG_PEAK_LATENCY][0]
    assert nothing.n == 0 and nothing.icc is None and nothing.mean_difference is None
    assert "no trace that both raters accepted and measured" in nothing.undefined
    assert cohen_kappa(np.zeros((0, 2), dtype=bool)) == (None, "only 0 traces in common; at least 2 are needed")
    no_nan_json(report)


def test_raters_without_a_trace_in_common():
    report = agreement_report(FakeRatings({"a": {0: accepted()}, "b": {1: rejected()}}))
    pair = report.decisions[0]
    assert (pair.n, pair.percent_agreement, pair.kappa) == (0, None, None)
    assert pair.undefined == "no trace that both raters decided"


def test_constant_values_leave_the_icc_undefined():
    same = {i: accepted() for i in range(5)}            # nobody shifted any onset: all 0
    report = agreement_report(FakeRatings({"a": same, "b": dict(same)}))
    shift = report.measurements[ONSET_SHIFT][0]
    assert shift.n == 5 and shift.icc is None and "same value (0)" in shift.undefined
    assert shift.mean_difference == 0.0 and shift.limits == (0.0, 0.0)
    assert not any(isinstance(v, float) and math.isnan(v) for v in (shift.icc, shift.mean_difference))


def test_one_rater_and_none():
    one = agreement_report(FakeRatings({"solo": decisions([True, False])}))
    assert one.raters == ("solo",) and one.decisions == () and one.decisions_all is None
    assert one.measurements[ONSET_SHIFT] == () and one.counts[0].decided == 2
    assert no_nan_json(one)["format"] == REPORT_FORMAT
    empty = agreement_report(FakeRatings({}))
    assert empty.raters == () and empty.counts == ()


def test_a_report_on_some_of_the_raters():
    ratings = FakeRatings({"ann": decisions([True, False]), "bo": decisions([True, True]),
                           "cy": decisions([False, False])})
    report = agreement_report(ratings, ["cy", "ann"])
    assert report.raters == ("cy", "ann") and [d.raters for d in report.decisions] == [("cy", "ann")]
    assert report.decisions_all is None and [c.rater for c in report.counts] == ["cy", "ann"]
    with pytest.raises(ValueError, match="no rater named 'dee'; the raters are ann, bo, cy"):
        agreement_report(ratings, ["ann", "dee"])


def test_the_json_layout_is_stable():
    report = agreement_report(FakeRatings({"ann": decisions([True, False, False]),
                                           "bo": decisions([True, True, False])}))
    described = no_nan_json(report)
    assert list(described) == ["format", "raters", "counts", "reject", "measurements"]
    assert described["counts"][0] == {"rater": "ann", "decided": 3, "accepted": 2, "rejected": 1}
    pair = described["reject"]["pairs"][0]
    assert list(pair) == ["raters", "statistic", "n", "percent_agreement", "kappa", "undefined", "table"]
    assert pair["table"] == {"both_rejected": 1, "both_accepted": 1, "only_first_rejected": 0,
                             "only_second_rejected": 1}
    assert list(described["measurements"]) == list(MEASURED_KEYS)
    shift = described["measurements"][ONSET_SHIFT]
    assert shift["unit"] == "samples" and shift["all"] is None
    assert list(shift["pairs"][0]) == ["raters", "n", "icc", "mean_difference", "limits", "undefined", "values"]
    assert "values" not in report.to_dict()["measurements"][ONSET_SHIFT]["pairs"][0]


# -- the command ----------------------------------------------------------------------------------------------
@pytest.fixture
def fake_cache(tmp_path, monkeypatch):
    """A file the command accepts, whose raters are a fake (the cache's own raters are
    tested with real journals below)."""
    import tracemark.app.cli_raters  # noqa: F401 (imported before the patch: it binds the real reader)
    import tracemark.io_backends.cache as cache_package

    path = tmp_path / "rated.h5"
    path.write_bytes(b"")
    ratings = FakeRatings({
        "ann": {i: accepted(onset_shift=i % 3) for i in range(6)} | {6: rejected(), 7: rejected()},
        "bo": {i: accepted(onset_shift=(i + 1) % 3) for i in range(6)} | {6: rejected(), 7: accepted()},
    })
    monkeypatch.setattr(cache_package, "read_ratings", lambda p: ratings, raising=False)
    return path


def test_the_command_prints_a_table(fake_cache, capsys):
    assert cli_main(["cache", "agreement", str(fake_cache)]) == 0
    out = capsys.readouterr().out
    assert "raters: ann, bo" in out
    assert "ann" in out and "8  (6 accepted, 2 rejected)" in out
    # 7 of 8 traces decided alike; p_e = (2/8)(1/8) + (6/8)(7/8) = 44/64, kappa = (56-44)/(64-44)
    (row,) = [line.split() for line in out.splitlines() if line.startswith("  ann · bo")][:1]
    assert row == ["ann", "·", "bo", "8", "87.5", "%", "0.600", "(cohen)"]
    assert "onset_shift (samples)" in out
    assert "only 0 traces" not in out and "no trace that both raters accepted and measured" in out


def test_the_command_prints_json(fake_cache, capsys):
    assert cli_main(["cache", "agreement", str(fake_cache), "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["format"] == REPORT_FORMAT
    assert described["reject"]["pairs"][0]["kappa"] == pytest.approx(0.6)
    assert described["measurements"][ONSET_SHIFT]["pairs"][0]["n"] == 6


@pytest.mark.parametrize("what", ["missing", "folder"])
def test_the_command_refuses_what_is_not_a_cache_in_one_line(tmp_path, capsys, what):
    target = tmp_path / "nothing.h5"
    if what == "folder":
        target.mkdir()
    assert cli_main(["cache", "agreement", str(target)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and str(target) in lines[0] and lines[0].startswith("tracemark: error:")


# -- the dock ------------------------------------------------------------------------------------------------------
def three_rater_report():
    rng = np.random.default_rng(5)
    table = {}
    for r, name in enumerate(("ann", "bo", "cy")):
        table[name] = {i: (rejected() if (i % 7 == 0) != (r == 2 and i == 3) else
                           accepted(onset_shift=int(rng.integers(0, 3)),
                                    **{NEG_PEAK_LATENCY: 20 + i * 0.5 + rng.normal(scale=0.3)}))
                       for i in range(20)}
    return agreement_report(FakeRatings(table))


def cell(table, row, column) -> str:
    return table.item(row, column).text()


def test_the_view_shows_the_numbers(qtbot):
    from tracemark.widgets.plots.agreement_view import AgreementView

    view = AgreementView()
    qtbot.addWidget(view)
    assert view.decisions.rowCount() == 0
    report = three_rater_report()
    view.set_report(report)
    assert view.summary.text() == "3 raters: ann, bo, cy"
    assert [cell(view.counts, row, 0) for row in range(3)] == ["ann", "bo", "cy"]
    assert cell(view.counts, 2, 1) == str(report.counts[2].decided)
    assert view.decisions.rowCount() == 4           # three pairs and Fleiss over all
    first = report.decisions[0]
    assert cell(view.decisions, 0, 0) == "ann · bo" and cell(view.decisions, 0, 1) == str(first.n)
    assert cell(view.decisions, 0, 2) == f"{first.percent_agreement:.1f} %"
    assert cell(view.decisions, 3, 0) == "all 3 raters"
    assert cell(view.decisions, 3, 3) == f"{report.decisions_all.kappa:.3f} (Fleiss)"
    rows = {(cell(view.measurements, r, 0), cell(view.measurements, r, 1)): r
            for r in range(view.measurements.rowCount())}
    latency = report.measurements[NEG_PEAK_LATENCY][1]          # ann · cy
    row = rows[(f"{NEG_PEAK_LATENCY} (ms)", "ann · cy")]
    assert cell(view.measurements, row, 2) == str(latency.n)
    assert cell(view.measurements, row, 3) == f"{latency.icc:.3f}"
    assert cell(view.measurements, row, 4) == f"{latency.mean_difference:.2f}"
    assert cell(view.measurements, row, 5) == f"{latency.limits[0]:.2f} … {latency.limits[1]:.2f}"
    assert ("pos_peak_magnitude_uv (µV)", "ann · bo") in rows
    # The Bland-Altman plot of a chosen pair and attribute: one point per trace, lines at
    # the mean difference and the limits.
    view.pair_choice.setCurrentIndex(1)
    view.key_choice.setCurrentIndex(list(MEASURED_KEYS).index(NEG_PEAK_LATENCY))
    assert view.shown_pair() is latency
    x, y = view.scatter.getData()
    assert len(x) == latency.n
    assert np.allclose(y, np.array(latency.first) - np.array(latency.second))
    assert view.mean_line.value() == pytest.approx(latency.mean_difference)
    assert [line.value() for line in view.limit_lines] == pytest.approx(list(latency.limits))
    assert view.mean_line.isVisible() and all(line.isVisible() for line in view.limit_lines)
    # A new report keeps the chosen pair; a click on a point opens its trace.
    view.set_report(three_rater_report())
    assert view.pair_choice.currentText() == "ann · cy"
    with qtbot.waitSignal(view.trace_selected) as blocker:
        view._point_clicked(view.scatter, [view.scatter.points()[2]])
    assert blocker.args == [latency.indexes[2]]


def test_the_view_tells_why_a_value_is_missing_and_asks_for_a_refresh(qtbot):
    from tracemark.widgets.plots.agreement_view import AgreementView

    view = AgreementView()
    qtbot.addWidget(view)
    view.set_report(agreement_report(FakeRatings({"a": decisions([False] * 3), "b": decisions([False] * 3)})))
    assert cell(view.decisions, 0, 3) == "—"
    assert "accepted all 3" in cell(view.decisions, 0, 4)
    assert "n = 3" in view.plot_note.text() and "the ICC is undefined" in view.plot_note.text()
    view.set_report(agreement_report(FakeRatings({"solo": decisions([True])})))
    assert view.summary.text().startswith("Only one rater so far (solo)")
    assert view.decisions.rowCount() == 0 and view.pair_choice.count() == 0
    view.set_report(None, "the raters' journals cannot be read")
    assert view.summary.text() == "the raters' journals cannot be read"
    with qtbot.waitSignal(view.refresh_requested):
        view.refresh_button.click()


def test_the_agreement_dock_is_built_when_shown_and_asks_for_a_report(qtbot):
    from PyQt6.QtWidgets import QMainWindow

    from tracemark.app.plot_docks import PlotDocks

    window = QMainWindow()
    qtbot.addWidget(window)
    docks = PlotDocks(window)
    assert docks.agreement_view_built is None and not docks.agreement_wanted
    assert docks.agreement_dock.toggleViewAction() in docks.toggle_actions()
    report = three_rater_report()
    docks.set_agreement(report)                 # before the view exists: kept for it
    window.show()
    with qtbot.waitSignal(docks.agreement_refresh_requested):
        docks.agreement_dock.show()
    view = docks.agreement_view_built
    assert view is not None and view.report is report and docks.agreement_wanted
    assert view.decisions.rowCount() == 4
    docks.set_agreement(None, "no raters")
    assert view.summary.text() == "no raters"
    with qtbot.waitSignal(docks.agreement_refresh_requested):
        view.refresh_button.click()
    with qtbot.waitSignal(docks.trace_selected):
        view.trace_selected.emit(3)


# -- real raters, through the cache's rater sessions ----------------------------------------------------------
def rate(cache, rater: str, choices: dict[int, dict]) -> None:
    from tracemark.io_backends.cache import RaterSession

    with RaterSession(cache, rater, mode="w") as session:
        for index, values in choices.items():
            session.commit(index, values)


@pytest.fixture
def rated_cache(tmp_path):
    from testkit.cache import make_cache

    cache = make_cache(tmp_path / "rated.h5", n_traces=10)
    # ann rejects 0 and 1, bo only 0; both decide traces 0-5; bo also 6, which ann left.
    rate(cache, "ann", {i: {REVIEWED: True, REJECT: i < 2, ONSET_SHIFT: i} for i in range(6)})
    rate(cache, "bo", {i: {REVIEWED: True, REJECT: i < 1, ONSET_SHIFT: i + i % 2} for i in range(7)})
    return cache


def test_real_ratings_give_the_statistics(rated_cache):
    from tracemark.io_backends.cache import read_ratings

    report = agreement_report(read_ratings(rated_cache))
    assert report.raters == ("ann", "bo")
    assert [(c.decided, c.rejected) for c in report.counts] == [(6, 2), (7, 1)]
    (pair,) = report.decisions
    assert pair.n == 6 and pair.table == (1, 4, 1, 0)
    assert pair.kappa == pytest.approx(statsmodels_cohen(np.arange(6) < 2, np.arange(6) < 1))
    shift = report.measurements[ONSET_SHIFT][0]        # traces both accepted: 2-5
    assert shift.indexes == (2, 3, 4, 5) and shift.first == (2, 3, 4, 5) and shift.second == (2, 4, 4, 6)
    assert shift.icc == pytest.approx(pingouin_icc2(np.array([shift.first, shift.second]).T), abs=1e-10)
    assert shift.mean_difference == pytest.approx(-0.5)


def test_the_command_on_a_rated_cache(rated_cache, capsys):
    from tracemark.io_backends.cache import read_ratings

    assert cli_main(["cache", "agreement", str(rated_cache), "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == no_nan_json_without_values(agreement_report(read_ratings(rated_cache)))
    assert captured.err == ""
    assert cli_main(["cache", "agreement", str(rated_cache)]) == 0
    assert "ann · bo" in capsys.readouterr().out


def no_nan_json_without_values(report) -> dict:
    return json.loads(json.dumps(report.to_dict(), allow_nan=False))


def test_the_command_on_a_cache_nobody_rated(tmp_path, capsys):
    from testkit.cache import make_cache

    cache = make_cache(tmp_path / "fresh.h5", n_traces=4)
    assert cli_main(["cache", "agreement", str(cache)]) == 0
    assert "no raters" in capsys.readouterr().out


def test_the_command_refuses_a_file_that_is_not_a_cache(tmp_path, capsys):
    target = tmp_path / "notes.h5"
    target.write_text("not a cache")
    assert cli_main(["cache", "agreement", str(target)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and str(target) in lines[0]


_RATER_PROCESS = """
import sys
from tracemark.io_backends.cache import RaterSession
cache, rater, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
import numpy as np
rng = np.random.default_rng(seed)
truth = np.random.default_rng(0).random(30) < 0.4
with RaterSession(cache, rater, mode="w") as session:
    for index in range(30):
        reject = bool(truth[index] ^ (rng.random() < 0.2))
        session.commit(index, {"reviewed": True, "reject": reject,
                               "neg_peak_latency_ms": float(20 + index % 7 + rng.normal(scale=0.5))})
"""


def test_two_raters_in_two_processes_at_once_match_the_oracles(tmp_path):
    import subprocess
    import sys

    from testkit.cache import make_cache
    from tracemark.io_backends.cache import read_ratings

    cache = make_cache(tmp_path / "shared.h5", n_traces=30)
    processes = [subprocess.Popen([sys.executable, "-c", _RATER_PROCESS, str(cache), rater, str(seed)])
                 for rater, seed in (("ann", 1), ("bo", 2))]
    assert [process.wait(timeout=240) for process in processes] == [0, 0]
    ratings = read_ratings(cache)
    report = agreement_report(ratings)
    first, second = (np.array([ratings.value(r, i, REJECT) for i in range(30)], dtype=bool) for r in ("ann", "bo"))
    (pair,) = report.decisions
    assert pair.n == 30 and pair.kappa == pytest.approx(statsmodels_cohen(first, second), abs=1e-12)
    latency = report.measurements[NEG_PEAK_LATENCY][0]
    both = ~first & ~second
    assert latency.n == int(both.sum())
    values = np.array([[ratings.value(r, i, NEG_PEAK_LATENCY) for r in ("ann", "bo")] for i in np.flatnonzero(both)])
    assert latency.icc == pytest.approx(pingouin_icc2(values), abs=1e-10)
