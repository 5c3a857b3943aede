"""Candidate against current model: the overall and per-intent metric differences."""

from __future__ import annotations

from typing import Any, Dict

OVERALL_METRICS = [
    # key, Vietnamese label, higher is better
    ("intent_accuracy", "Độ chính xác ý định", True),
    ("macro_f1", "F1 trung bình các ý định (macro)", True),
    ("weighted_f1", "F1 theo số câu (weighted)", True),
    ("macro_precision", "Precision trung bình", True),
    ("macro_recall", "Recall trung bình", True),
    ("procedure_accuracy", "Nhận đúng thủ tục", True),
    ("clarification_rate", "Tỉ lệ phải hỏi lại", False),
    ("confident_errors", "Trả lời sai mà không hỏi lại", False),
]


def compare(candidate: Dict[str, Any], current: Dict[str, Any] | None) -> Dict[str, Any]:
    """Overall and per-intent differences, candidate minus current."""
    rows = []
    for key, label, higher in OVERALL_METRICS:
        new = candidate.get(key)
        old = current.get(key) if current else None
        delta = None if new is None or old is None else new - old
        better = None if delta is None or abs(delta) < 1e-9 else (delta > 0) == higher
        rows.append(
            {"key": key, "label": label, "candidate": new, "current": old,
             "delta": delta, "better": better}
        )
    intents = []
    new_intents = candidate.get("per_intent") or {}
    old_intents = (current or {}).get("per_intent") or {}
    for name in sorted(set(new_intents) | set(old_intents)):
        new, old = new_intents.get(name), old_intents.get(name)
        entry = {"intent": name, "support": (new or old or {}).get("support", 0)}
        for part in ("precision", "recall", "f1"):
            a = new.get(part) if new else None
            b = old.get(part) if old else None
            entry[part] = a
            entry[f"current_{part}"] = b
            entry[f"delta_{part}"] = None if a is None or b is None else a - b
        intents.append(entry)
    intents.sort(key=lambda e: (-(e["support"] or 0), e["intent"]))
    return {"overall": rows, "per_intent": intents}
