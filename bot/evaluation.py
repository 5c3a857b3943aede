"""Score a model on held-out Rasa NLU YAML files, per writing style.

The parse function is injected (HTTP to a running server, or an in-process
agent), so the same scoring serves `make test` and ad-hoc evaluations.
A file's style is its name without the "heldout_" prefix.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Set, Tuple

from rasa.shared.nlu.training_data.loading import load_data

FALLBACK = "nlu_fallback"
Parse = Callable[[str], Dict[str, Any]]


@dataclass
class Outcome:
    text: str
    expected_intent: str
    predicted_intent: str
    fallback: bool
    expected_procedures: Set[str]
    predicted_procedures: Set[str]

    @property
    def expected_procedure(self) -> str | None:
        return next(iter(sorted(self.expected_procedures)), None)

    @property
    def intent_ok(self) -> bool:
        return self.expected_intent == self.predicted_intent

    @property
    def procedure_ok(self) -> bool:
        return self.expected_procedures == self.predicted_procedures


@dataclass
class StyleScore:
    style: str
    outcomes: List[Outcome] = field(default_factory=list)

    def _ratio(self, hits: int, total: int) -> float:
        return hits / total if total else 1.0

    @property
    def intent_accuracy(self) -> float:
        return self._ratio(sum(o.intent_ok for o in self.outcomes), len(self.outcomes))

    @property
    def procedure_accuracy(self) -> float:
        named = [o for o in self.outcomes if o.expected_procedure]
        return self._ratio(sum(o.procedure_ok for o in named), len(named))

    @property
    def spurious_procedures(self) -> float:
        unnamed = [o for o in self.outcomes if not o.expected_procedure]
        return self._ratio(sum(bool(o.predicted_procedures) for o in unnamed), len(unnamed))

    @property
    def clarification_rate(self) -> float:
        return self._ratio(sum(o.fallback for o in self.outcomes), len(self.outcomes))

    @property
    def confident_errors(self) -> float:
        """Wrong intent that the assistant would have answered without asking."""
        wrong = sum(not o.intent_ok and not o.fallback for o in self.outcomes)
        return self._ratio(wrong, len(self.outcomes))


def _top_intent(parsed: Dict[str, Any]) -> str:
    """The classifier's best real intent, even when the fallback fired."""
    for candidate in parsed.get("intent_ranking") or []:
        if candidate.get("name") != FALLBACK:
            return candidate["name"]
    return (parsed.get("intent") or {}).get("name", "")


def score_file(path: Path, parse: Parse) -> StyleScore:
    style = path.stem.replace("heldout_", "")
    score = StyleScore(style)
    for example in load_data(str(path)).intent_examples:
        parsed = parse(example.get("text"))
        expected = {e["value"] for e in example.get("entities") or [] if e["entity"] == "procedure"}
        score.outcomes.append(
            Outcome(
                text=example.get("text"),
                expected_intent=example.get("intent"),
                predicted_intent=_top_intent(parsed),
                fallback=(parsed.get("intent") or {}).get("name") == FALLBACK,
                expected_procedures=expected,
                predicted_procedures={
                    e["value"] for e in parsed.get("entities") or [] if e["entity"] == "procedure"
                },
            )
        )
    return score


def overall(scores: Iterable[StyleScore]) -> StyleScore:
    total = StyleScore("overall")
    for score in scores:
        total.outcomes.extend(score.outcomes)
    return total


def markdown_table(scores: List[StyleScore]) -> str:
    rows = [
        "| style | n | intent acc. | procedure acc. | asks (fallback) | confident errors | spurious procedure |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in [*scores, overall(scores)]:
        rows.append(
            f"| {s.style} | {len(s.outcomes)} | {s.intent_accuracy:.1%} | {s.procedure_accuracy:.1%}"
            f" | {s.clarification_rate:.1%} | {s.confident_errors:.1%} | {s.spurious_procedures:.1%} |"
        )
    return "\n".join(rows)


def worst(scores: Iterable[StyleScore], limit: int = 15) -> List[str]:
    lines = []
    for s in scores:
        for o in s.outcomes:
            if not o.intent_ok or (o.expected_procedure and not o.procedure_ok):
                lines.append(
                    f"[{s.style}] {o.text!r}: intent {o.expected_intent} -> {o.predicted_intent}"
                    f"; procedure {sorted(o.expected_procedures)} -> {sorted(o.predicted_procedures)}"
                )
    return lines[:limit]


def intents_of(scores: Iterable[StyleScore]) -> List[str]:
    names: Set[str] = set()
    for score in scores:
        for o in score.outcomes:
            names.update((o.expected_intent, o.predicted_intent))
    return sorted(n for n in names if n)


def intent_report(pairs: Iterable[Tuple[str, str]]) -> Dict[str, Dict[str, float]]:
    """Precision, recall, F1 and support for each expected intent of (expected, predicted) pairs."""
    pairs = list(pairs)
    report: Dict[str, Dict[str, float]] = {}
    for intent in sorted({expected for expected, _ in pairs}):
        tp = sum(e == intent == p for e, p in pairs)
        fp = sum(e != intent == p for e, p in pairs)
        fn = sum(e == intent != p for e, p in pairs)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        report[intent] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    return report


def per_intent(score: StyleScore) -> Dict[str, Dict[str, float]]:
    return intent_report((o.expected_intent, o.predicted_intent) for o in score.outcomes)


def report_macro_f1(report: Dict[str, Dict[str, float]]) -> float:
    return sum(r["f1"] for r in report.values()) / len(report) if report else 0.0


def macro_f1(score: StyleScore) -> float:
    return report_macro_f1(per_intent(score))


def rows_report(rows: List[Dict[str, Any]]) -> Dict[str, Dict[str, float]]:
    """intent_report for cross-validation rows (fold_rows)."""
    return intent_report((r["expected"], r["predicted"]) for r in rows)


def confusions(score: StyleScore, limit: int = 10) -> List[Tuple[str, str, int]]:
    """The most frequent (expected, predicted) intent mistakes."""
    counts: Dict[Tuple[str, str], int] = {}
    for o in score.outcomes:
        if not o.intent_ok:
            key = (o.expected_intent, o.predicted_intent)
            counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [(e, p, n) for (e, p), n in ranked[:limit]]


def asks_between_procedures(score: StyleScore) -> float:
    """Share of messages where two procedures were found, so the bot asks which."""
    return score._ratio(sum(len(o.predicted_procedures) > 1 for o in score.outcomes), len(score.outcomes))


def fold_rows(results: Path) -> List[Dict[str, Any]]:
    """Every test row of a cross-validation run (scripts/nlu_study.py's fold_*.json)."""
    import json

    rows: List[Dict[str, Any]] = []
    for path in sorted(results.glob("fold_*.json")):
        rows += json.loads(path.read_text(encoding="utf-8"))["rows"]
    return rows


def row_accuracy(rows: List[Dict[str, Any]], strict: bool = False) -> float:
    """Share of rows whose best real intent is the expected one; strict also fails a fallback."""
    ok = [r["expected"] == r["predicted"] and not (strict and r["fallback"]) for r in rows]
    return sum(ok) / len(ok) if ok else float("nan")
