"""Summarise `rasa test nlu --cross-validation` output as Markdown."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def main(folder: str) -> int:
    report_file = Path(folder) / "intent_report.json"
    if not report_file.exists():
        print(f"Không thấy {report_file}: hãy chạy cross-validation trước.", file=sys.stderr)
        return 2
    report = json.loads(report_file.read_text(encoding="utf-8"))
    lines = [
        "# 5-fold cross-validation (config.yml on data/nlu)",
        "",
        f"- accuracy: {report.get('accuracy', 0):.3f}",
        f"- macro F1: {report['macro avg']['f1-score']:.3f}",
        f"- weighted F1: {report['weighted avg']['f1-score']:.3f}",
        "",
        "Each fold trains on 80% of data/nlu and tests on the rest. The training data holds",
        "deliberately hard material (near-miss out-of-scope questions, bare procedure names",
        "labelled inform vs ask_procedure, long context-first messages), so these figures sit",
        "well below the held-out set's (reports/nlu_evaluation.md), which was written to be",
        "unambiguous to a human reader.",
        "",
        "| intent | precision | recall | F1 | n |",
        "|---|---|---|---|---|",
    ]
    for intent, row in sorted(report.items()):
        if isinstance(row, dict) and "support" in row and intent not in ("macro avg", "weighted avg", "micro avg"):
            lines.append(
                f"| {intent} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1-score']:.2f} | {row['support']} |"
            )
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "reports/crossval"))
