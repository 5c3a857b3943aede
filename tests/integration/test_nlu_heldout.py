"""Held-out NLU check: files in tests/nlu/ are never used for training."""
from pathlib import Path

from bot.evaluation import markdown_table, overall, score_file, worst

HELDOUT = sorted((Path(__file__).resolve().parent.parent / "nlu").glob("heldout_*.yml"))
# Regression guards a little under what the model reached when they were set
# (reports/nlu_evaluation.md): accented 97.4%, unaccented 96.2%, abbreviations
# 95.5%, typos 98.2%, long 83.3%, overall 95.5%, procedures 99.3%. The targets
# of the understanding issue are 97% / 95% / 90% / 90% and 95% for procedures.
MIN_INTENT_ACCURACY = 0.93
MIN_PROCEDURE_ACCURACY = 0.97
MIN_BY_STYLE = {
    "accented": 0.95,
    "unaccented": 0.93,
    "abbreviations": 0.90,
    "typos": 0.90,
    "long": 0.75,
}


def test_heldout_accuracy(assistant, capsys):
    assert HELDOUT, "no held-out files"
    scores = [score_file(path, assistant.parse) for path in HELDOUT]
    total = overall(scores)
    report = markdown_table(scores)
    results = Path("results")
    results.mkdir(exist_ok=True)
    (results / "nlu_heldout.md").write_text(report + "\n", encoding="utf-8")
    with capsys.disabled():
        print("\n\nHeld-out NLU evaluation (tests/nlu/):\n" + report)
        print("\nSome errors:\n  " + "\n  ".join(worst(scores)))
    assert len(total.outcomes) >= 400
    assert total.intent_accuracy >= MIN_INTENT_ACCURACY
    assert total.procedure_accuracy >= MIN_PROCEDURE_ACCURACY
    by_style = {score.style: score.intent_accuracy for score in scores}
    for style, minimum in MIN_BY_STYLE.items():
        assert by_style[style] >= minimum, f"{style}: {by_style[style]:.1%} < {minimum:.0%}"
