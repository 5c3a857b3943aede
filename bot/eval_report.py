"""`make eval`: evaluate NLU models on held-out files and write a Markdown report.

    python -m bot.eval_report [--model M.tar.gz] [--tests FILE ...] [--train]
                              [--config config.yml] [--baseline-config config_rasa_default.yml]
                              [--previous-config bench/nlu/c0_current.yml] [--out reports/]

Each test file is one writing style (its name without "heldout_"/"dev_").
With --train, both configurations are trained NLU-only on data/nlu first, so
the report can compare training time too; otherwise --model is evaluated and
the baseline model is trained once and reused from reports/models/.
--previous-config adds the pipeline config.yml replaced, trained NLU-only the
same way, so a pipeline change is reported next to what it replaced. The
targets table takes the cross-validation figure from `make crossval`'s
results (reports/crossval/), when they are there.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from bot.evaluation import (
    StyleScore,
    asks_between_procedures,
    confusions,
    fold_rows,
    intents_of,
    macro_f1,
    overall,
    per_intent,
    row_accuracy,
    score_file,
    worst,
)
from dichvucong.settings import rasa_env

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TESTS = sorted((ROOT / "tests" / "nlu").glob("heldout_*.yml"))


def train_nlu(config: Path, out_dir: Path, name: str) -> Tuple[Path, float]:
    """Train an NLU-only model; returns its path and the wall-clock seconds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    # A private cache directory: Rasa would otherwise restore components trained
    # earlier and the timing would mean nothing.
    cache = tempfile.mkdtemp(prefix="rasa-cache-")
    subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), "train", "nlu", "--config", str(config),
         "--nlu", str(ROOT / "data" / "nlu"), "--out", str(out_dir), "--fixed-model-name", name],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env=rasa_env(RASA_CACHE_DIRECTORY=cache),
    )
    shutil.rmtree(cache, ignore_errors=True)
    return out_dir / f"{name}.tar.gz", time.perf_counter() - started


def stale(model: Path, *inputs: Path) -> bool:
    """True when the model is missing or older than its config or training data."""
    if not model.exists():
        return True
    newest = max(
        p.stat().st_mtime for i in inputs for p in ([i] if i.is_file() else i.rglob("*.yml"))
    )
    return model.stat().st_mtime < newest


def reference_model(config: Path, models: Path, name: str) -> Tuple[Path, Optional[float]]:
    """A comparison model, retrained only when its config or the training data changed.

    Rasa's default pipeline takes a quarter of an hour here, so it is kept in
    reports/models/ with its training time beside it."""
    model, stamp = models / f"{name}.tar.gz", models / f"{name}.seconds"
    if stale(model, config, ROOT / "data" / "nlu"):
        model, seconds = train_nlu(config, models, name)
        stamp.write_text(str(seconds))
        return model, seconds
    return model, float(stamp.read_text()) if stamp.exists() else None


class Evaluated:
    def __init__(self, label: str, model: Path, train_seconds: Optional[float]):
        self.label, self.model, self.train_seconds = label, model, train_seconds
        self.scores: List[StyleScore] = []
        self.latencies: List[float] = []

    @property
    def total(self) -> StyleScore:
        return overall(self.scores)

    def latency(self, quantile: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))] * 1000


def evaluate(label: str, model: Path, tests: List[Path], train_seconds=None) -> Evaluated:
    from rasa.core.agent import Agent

    result = Evaluated(label, model, train_seconds)
    agent = Agent.load(str(model))
    loop = asyncio.new_event_loop()

    def parse(text: str) -> Dict[str, Any]:
        started = time.perf_counter()
        parsed = loop.run_until_complete(agent.parse_message(text))
        result.latencies.append(time.perf_counter() - started)
        return parsed

    parse("xin chào")  # warm-up: the first call builds TensorFlow graphs
    result.latencies.clear()
    result.scores = [score_file(path, parse) for path in tests]
    loop.close()
    return result


def confusion_png(evaluated: Evaluated, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    total = evaluated.total
    labels = intents_of([total])
    index = {name: i for i, name in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for o in total.outcomes:
        matrix[index[o.expected_intent]][index[o.predicted_intent]] += 1
    fig, ax = plt.subplots(figsize=(11, 9))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels=labels, rotation=90, fontsize=8)
    ax.set_yticks(range(len(labels)), labels=labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("expected")
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            if count:
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                        color="white" if i == j else "black")
    ax.set_title(f"Intent confusion matrix – {evaluated.label}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pct(value: float) -> str:
    return f"{value:.1%}"


def style_table(evaluated: Evaluated) -> List[str]:
    rows = [
        "| style | n | intent acc. | macro-F1 | procedure acc. | asks (low confidence) | asks (two procedures) | confident errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for s in [*evaluated.scores, evaluated.total]:
        rows.append(
            f"| {s.style} | {len(s.outcomes)} | {_pct(s.intent_accuracy)} | {macro_f1(s):.3f} "
            f"| {_pct(s.procedure_accuracy)} | {_pct(s.clarification_rate)} "
            f"| {_pct(asks_between_procedures(s))} | {_pct(s.confident_errors)} |"
        )
    return rows


# Issue 14's targets for the chosen pipeline: (label, held-out style or key, minimum).
TARGETS = [
    ("5-fold cross-validation (make crossval)", "crossval", 0.92),
    ("held-out accented", "accented", 0.97),
    ("held-out unaccented", "unaccented", 0.97),
    ("held-out abbreviations", "abbreviations", 0.95),
    ("held-out typos", "typos", 0.95),
    ("held-out long", "long", 0.90),
]
MAX_PARSE_MEDIAN_MS = 10.0


def crossval_accuracy(out: Path) -> Optional[Tuple[float, int]]:
    """config.yml's 5-fold accuracy from `make crossval`'s results, if it was run."""
    rows = fold_rows(out / "crossval" / "results" / "config")
    return (row_accuracy(rows), len(rows)) if rows else None


def targets_table(ours: Evaluated, out: Path) -> List[str]:
    styles = {s.style: s.intent_accuracy for s in ours.scores}
    cv = crossval_accuracy(out)
    lines = ["| target | measured | met? |", "|---|---|---|"]
    for label, key, minimum in TARGETS:
        if key == "crossval":
            value = cv[0] if cv else None
            shown = f"{cv[0]:.1%} ({cv[1]} messages)" if cv else "not run here (`make crossval`)"
        else:
            value = styles.get(key)
            shown = _pct(value) if value is not None else "no such test file"
        verdict = "–" if value is None else ("yes" if value >= minimum else "**no**")
        lines.append(f"| {label} ≥ {minimum:.0%} | {shown} | {verdict} |")
    median = ours.latency(0.5)
    lines.append(f"| median parse ≤ {MAX_PARSE_MEDIAN_MS:.0f} ms | {median:.1f} ms | "
                 f"{'yes' if median <= MAX_PARSE_MEDIAN_MS else '**no**'} |")
    return lines


def report(ours: Evaluated, baseline: Optional[Evaluated], tests: List[Path], out: Path,
           previous: Optional[Evaluated] = None) -> str:
    compared = [e for e in (ours, previous, baseline) if e]
    lines = [
        f"# NLU evaluation – {dt.date.today().isoformat()}",
        "",
        f"Test files (never used for training): {', '.join(p.name for p in tests)}.",
        f"Model: `{ours.model.relative_to(ROOT) if ours.model.is_relative_to(ROOT) else ours.model}`.",
        "",
        "## Side by side",
        "",
        "| configuration | intent acc. | macro-F1 | procedure acc. | training time | parse median | parse p95 |",
        "|---|---|---|---|---|---|---|",
    ]
    for e in compared:
        trained = f"{e.train_seconds:.0f} s" if e.train_seconds else "–"
        lines.append(
            f"| {e.label} | {_pct(e.total.intent_accuracy)} | {macro_f1(e.total):.3f} "
            f"| {_pct(e.total.procedure_accuracy)} | {trained} | {e.latency(0.5):.1f} ms | {e.latency(0.95):.1f} ms |"
        )
    if baseline:
        lines += [
            "",
            "Rasa's default pipeline has no procedure extractor; our training data carries no "
            "entity annotations (procedures are resolved from the knowledge base), so its "
            "procedure accuracy is what DIET alone recovers.",
        ]
    lines += ["", "## Targets (issue 14, our pipeline)", "", *targets_table(ours, out),
              "", "Parse latency depends on the machine's load (the load average is printed "
              "below); compare configurations measured in the same run."]
    for e in compared:
        lines += ["", f"## {e.label}: by writing style", "", *style_table(e)]
    lines += ["", "## Per intent (our pipeline)", "", "| intent | precision | recall | F1 | n |", "|---|---|---|---|---|"]
    for intent, r in per_intent(ours.total).items():
        lines.append(f"| {intent} | {r['precision']:.2f} | {r['recall']:.2f} | {r['f1']:.2f} | {r['support']} |")
    lines += ["", "## Worst confusions (our pipeline)", ""]
    lines += [f"- {e} → {p}: {n}" for e, p, n in confusions(ours.total)] or ["- none"]
    lines += ["", "## Examples of errors", ""] + [f"- {w}" for w in worst(ours.scores, 25)]
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    lines += [
        "",
        f"Peak memory of this evaluation process (models loaded in turn): {peak:.0f} MB. "
        f"Load average at the end: {load} on {os.cpu_count()} cores.",
        "",
        "![confusion matrix](confusion_matrix.png)",
        "",
    ]
    text = "\n".join(lines)
    (out / "nlu_evaluation.md").write_text(text, encoding="utf-8")
    (out / "nlu_evaluation.json").write_text(
        json.dumps(
            {
                e.label: {
                    "intent_accuracy": e.total.intent_accuracy,
                    "macro_f1": macro_f1(e.total),
                    "procedure_accuracy": e.total.procedure_accuracy,
                    "train_seconds": e.train_seconds,
                    "parse_ms_median": e.latency(0.5),
                    "parse_ms_p95": e.latency(0.95),
                    "styles": {s.style: s.intent_accuracy for s in e.scores},
                }
                for e in compared
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return text


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.eval_report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "current.tar.gz")
    parser.add_argument("--tests", type=Path, nargs="+", default=DEFAULT_TESTS)
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--baseline-config", type=Path, default=ROOT / "config_rasa_default.yml")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--previous-config", type=Path, default=None,
                        help="the pipeline config.yml replaced, reported beside it")
    parser.add_argument("--train", action="store_true", help="train both NLU models first and time it")
    parser.add_argument("--out", type=Path, default=ROOT / "reports")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    from rasa.utils.log_utils import configure_structlog

    # Rasa's structlog otherwise prints a debug line for every parsed message.
    configure_structlog(logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    models = args.out / "models"

    for path in args.tests:
        if not path.exists():
            print(f"Không tìm thấy tệp kiểm thử: {path}", file=sys.stderr)
            return 2
    ours_seconds = None
    model = args.model
    if args.train:
        model, ours_seconds = train_nlu(args.config, models, "ours")
    elif not model.exists():
        print(f"Không tìm thấy mô hình {model}: chạy `make train` trước.", file=sys.stderr)
        return 2
    ours = evaluate(f"our pipeline ({args.config.name})", model, args.tests, ours_seconds)

    baseline = None
    if not args.no_baseline:
        baseline_model, seconds = reference_model(args.baseline_config, models, "rasa_default")
        baseline = evaluate("Rasa default config", baseline_model, args.tests, seconds)

    previous = None
    if args.previous_config:
        previous_model, seconds = reference_model(args.previous_config, models, "previous")
        previous = evaluate(f"previous pipeline ({args.previous_config.name})", previous_model,
                            args.tests, seconds)

    confusion_png(ours, args.out / "confusion_matrix.png")
    print(report(ours, baseline, args.tests, args.out, previous))
    print(f"\nReport: {args.out / 'nlu_evaluation.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
