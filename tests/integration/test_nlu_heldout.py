"""Held-out NLU check: files in tests/nlu/ are never used for training."""
from pathlib import Path

import yaml

from bot.evaluation import markdown_table, overall, score_file, worst
from dichvucong.life_event_routing import LIFE_EVENT_INTENT
from dichvucong.life_events import default_life_events

NLU_DIR = Path(__file__).resolve().parent.parent / "nlu"
LIFE_EVENTS = NLU_DIR / "heldout_life_events.yml"
# The life-event set is scored by what the message resolves to, not by intent
# label, so it stays out of the per-style intent figures.
HELDOUT = sorted(p for p in NLU_DIR.glob("heldout_*.yml") if p != LIFE_EVENTS)
MIN_LIFE_EVENT_RESOLUTION = 0.95
# Regression guards a little under what the model reached when they were set
# (reports/nlu_evaluation.md): accented 97.4%, unaccented 96.2%, abbreviations
# 95.5%, typos 98.2%, overall 95.5%, procedures 99.3%; long messages 90.5-95.2%
# over five trainings with the question-part features (reports/nlu_study.md,
# sixth round; 78.6-95.2% without them). The targets
# of the understanding issue are 97% / 95% / 90% / 90% and 95% for procedures.
MIN_INTENT_ACCURACY = 0.93
MIN_PROCEDURE_ACCURACY = 0.97
MIN_BY_STYLE = {
    "accented": 0.95,
    "unaccented": 0.93,
    "abbreviations": 0.90,
    "typos": 0.90,
    "long": 0.85,
    # Where-questions with an old or new address (tests/nlu/heldout_localities.yml).
    "localities": 0.93,
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


def _life_event_examples():
    data = yaml.safe_load(LIFE_EVENTS.read_text(encoding="utf-8"))
    for block in data["nlu"]:
        expected = block["metadata"]["life_event"]
        for line in block["examples"].splitlines():
            text = line.strip()[2:].strip()
            if text:
                yield text, expected


def resolved(parsed) -> tuple:
    """What the assistant acts on: ("event", id) or ("procedures", ids)."""
    intent = (parsed.get("intent") or {}).get("name")
    entities = parsed.get("entities") or []
    if intent == LIFE_EVENT_INTENT:
        events = [e["value"] for e in entities if e["entity"] == "life_event"]
        return ("event", events[0] if events else None)
    if intent and intent.startswith("ask_") and intent != "ask_uncovered":
        return ("procedures", frozenset(e["value"] for e in entities if e["entity"] == "procedure"))
    return ("other", intent)


def _resolves_to(parsed, expected: str) -> bool:
    kind, value = resolved(parsed)
    if kind == "event":
        return value == expected
    if kind == "procedures":
        return bool(value) and value <= set(default_life_events().get(expected).procedures)
    return False


def test_life_event_resolution(assistant, capsys):
    """Situations resolve to their journey or procedure (issue 14: >= 95%)."""
    examples = list(_life_event_examples())
    events = {expected for _, expected in examples}
    assert len(examples) >= 150
    assert events == set(default_life_events().events), "every life event has held-out messages"
    failures = []
    for text, expected in examples:
        parsed = assistant.parse(text)
        if not _resolves_to(parsed, expected):
            failures.append(f"{text!r}: expected {expected}, got {resolved(parsed)}")
    rate = 1 - len(failures) / len(examples)
    with capsys.disabled():
        print(f"\n\nLife-event resolution: {rate:.1%} of {len(examples)}")
        print("  " + "\n  ".join(failures))
    assert rate >= MIN_LIFE_EVENT_RESOLUTION
