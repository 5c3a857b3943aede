"""Held-out NLU check: files in tests/nlu/ are never used for training."""
from pathlib import Path

from bot.evaluation import markdown_table, overall, score_file, worst

HELDOUT = sorted((Path(__file__).parent / "nlu").glob("heldout_*.yml"))
MIN_INTENT_ACCURACY = 0.90
MIN_PROCEDURE_ACCURACY = 0.90


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
