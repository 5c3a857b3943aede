"""`make eval`'s targets table: issue 14's minimums against what was measured."""
import json

import pytest

from bot.eval_report import Evaluated, crossval_accuracy, targets_table
from bot.evaluation import Outcome, StyleScore

pytestmark = pytest.mark.unit


def _style(name, right, wrong):
    outcome = lambda ok: Outcome("x", "greet", "greet" if ok else "goodbye", False, set(), set())  # noqa: E731
    return StyleScore(name, [outcome(True)] * right + [outcome(False)] * wrong)


def _evaluated():
    e = Evaluated("ours", None, None)
    e.scores = [_style("accented", 98, 2), _style("unaccented", 96, 4), _style("long", 9, 1)]
    e.latencies = [0.004, 0.006, 0.02]
    return e


def test_each_target_is_judged_against_its_minimum(tmp_path):
    cells = [[c.strip() for c in line.strip("|").split("|")]
             for line in targets_table(_evaluated(), tmp_path)[2:]]
    rows = {label: verdict for label, _, verdict in cells}
    assert rows["held-out accented ≥ 97%"] == "yes"
    assert rows["held-out unaccented ≥ 97%"] == "**no**"
    assert rows["held-out long ≥ 90%"] == "yes"
    assert rows["held-out typos ≥ 95%"] == "–"  # no such test file in this run
    assert rows["median parse ≤ 10 ms"] == "yes"
    assert rows["5-fold cross-validation (make crossval) ≥ 92%"] == "–"


def test_cross_validation_comes_from_make_crossvals_results(tmp_path):
    folds = tmp_path / "crossval" / "results" / "config"
    folds.mkdir(parents=True)
    for fold, hits in enumerate([9, 8]):
        rows = [{"expected": "a", "predicted": "a"}] * hits + [{"expected": "a", "predicted": "b"}] * (10 - hits)
        (folds / f"fold_{fold}.json").write_text(json.dumps({"rows": rows}))
    assert crossval_accuracy(tmp_path) == (0.85, 20)
    line = next(line for line in targets_table(_evaluated(), tmp_path) if "cross-validation" in line)
    assert "85.0% (20 messages)" in line and line.endswith("| **no** |")
