"""Compare NLU pipeline candidates: 5-fold CV on data/nlu, dev and held-out sets, latency.

    nice -n 10 .venv/bin/python scripts/nlu_study.py run bench/nlu/<candidate>.yml [--folds 0,1,2,3,4] [--no-full]
    .venv/bin/python scripts/nlu_study.py report      # the tables of reports/nlu_study.md
    .venv/bin/python scripts/nlu_study.py check M.tar.gz  # test_nlu_heldout's thresholds, in process
    .venv/bin/python scripts/nlu_study.py crossval NAME [NAME ...]  # reports/crossval.md

Folds are stratified by intent with a fixed seed and written once, so every
candidate sees the same folds. Augmentation lives in the pipeline
(bot.nlu.augmenter.TrainingAugmenter), so it only ever touches the training
folds. Intent accuracy is the classifier's best real intent (as in
bot/evaluation.py); "strict" also counts a fallback as wrong.
Results go to $NLU_STUDY_DIR (default /tmp/nlu-study) as one JSON per candidate and fold.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
WORK = Path(os.environ.get("NLU_STUDY_DIR", "/tmp/nlu-study"))
os.environ.setdefault("RASA_CACHE_DIRECTORY", str(WORK / "cache"))
SEED = 20261202
HELDOUT = ["accented", "unaccented", "abbreviations", "typos", "long"]


def _folds(k: int = 5) -> Path:
    """Write data/nlu (snapshot) and its stratified folds once."""
    base = WORK / "folds"
    if (base / "done").exists():
        return base
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData
    from sklearn.model_selection import StratifiedKFold

    data = load_data(str(ROOT / "data" / "nlu"))
    # NLU_STUDY_EXTRA: more labelled files pooled into the folds (e.g. the dev set).
    for extra in filter(None, os.environ.get("NLU_STUDY_EXTRA", "").split(",")):
        data = data.merge(load_data(str(ROOT / extra)))
    examples = data.intent_examples
    labels = [m.get("intent") for m in examples]
    base.mkdir(parents=True, exist_ok=True)
    (base / "all.yml").write_text(data.nlu_as_yaml(), encoding="utf-8")
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=SEED)
    for fold, (train_idx, test_idx) in enumerate(splitter.split(examples, labels)):
        train = TrainingData(
            training_examples=[examples[i] for i in train_idx],
            entity_synonyms=data.entity_synonyms,
            regex_features=data.regex_features,
            lookup_tables=data.lookup_tables,
        )
        test = TrainingData(training_examples=[examples[i] for i in test_idx])
        (base / f"train_{fold}.yml").write_text(train.nlu_as_yaml(), encoding="utf-8")
        (base / f"test_{fold}.yml").write_text(test.nlu_as_yaml(), encoding="utf-8")
    (base / "done").write_text(str(len(examples)))
    return base


def _train(config: Path, data: Path, out: Path) -> tuple[Path, float]:
    from rasa.model_training import train_nlu

    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    model = train_nlu(str(config), str(data), str(out), fixed_model_name="m")
    return Path(model), time.perf_counter() - start


class _Parser:
    def __init__(self, model: Path) -> None:
        from rasa.core.agent import Agent

        self.loop = asyncio.new_event_loop()
        start = time.perf_counter()
        self.agent = Agent.load(str(model))
        self.load_s = time.perf_counter() - start
        self.latencies: List[float] = []

    def __call__(self, text: str) -> Dict[str, Any]:
        start = time.perf_counter()
        parsed = self.loop.run_until_complete(self.agent.parse_message(text))
        self.latencies.append(time.perf_counter() - start)
        return parsed


def _score_rows(path: Path, parse: _Parser) -> List[Dict[str, Any]]:
    """One row per message; the ranking and entities let a post-classifier rule be replayed."""
    from bot.evaluation import score_file

    parsed: List[Dict[str, Any]] = []

    def capture(text: str) -> Dict[str, Any]:
        parsed.append(parse(text))
        return parsed[-1]

    outcomes = score_file(path, capture).outcomes
    return [
        {"text": o.text, "expected": o.expected_intent, "predicted": o.predicted_intent, "fallback": o.fallback,
         "ranking": [[r["name"], round(r["confidence"], 4)] for r in (p.get("intent_ranking") or [])[:5]],
         "entities": [[e["entity"], e.get("value")] for e in p.get("entities") or []]}
        for o, p in zip(outcomes, parsed, strict=True)
    ]


def run(config: Path, folds: List[int], full: bool) -> None:
    base = _folds()
    name = config.stem
    out_dir = WORK / "results" / name
    out_dir.mkdir(parents=True, exist_ok=True)
    for fold in folds:
        model, seconds = _train(config, base / f"train_{fold}.yml", WORK / "models" / name / str(fold))
        parse = _Parser(model)
        rows = _score_rows(base / f"test_{fold}.yml", parse)
        (out_dir / f"fold_{fold}.json").write_text(
            json.dumps({"train_s": seconds, "rows": rows}, ensure_ascii=False), encoding="utf-8"
        )
        print(f"{name} fold {fold}: {sum(r['expected'] == r['predicted'] for r in rows) / len(rows):.3f}"
              f" ({seconds:.0f} s)", flush=True)
    if not full:
        return
    model, seconds = _train(config, base / "all.yml", WORK / "models" / name / "full")
    parse = _Parser(model)
    sets: Dict[str, Any] = {}
    for style in HELDOUT:
        sets[f"heldout_{style}"] = _score_rows(ROOT / "tests" / "nlu" / f"heldout_{style}.yml", parse)
    for path in sorted((ROOT / "tests" / "nlu" / "dev").glob("*.yml")):
        sets[path.stem] = _score_rows(path, parse)
    (out_dir / "full.json").write_text(
        json.dumps(
            {
                "train_s": seconds,
                "load_s": parse.load_s,
                "size_mb": model.stat().st_size / 1e6,
                "latency_ms": [t * 1000 for t in parse.latencies],
                "sets": sets,
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    print(f"{name} full: trained in {seconds:.0f} s", flush=True)


def _accuracy(rows: List[Dict[str, Any]], strict: bool = False) -> float:
    from bot.evaluation import row_accuracy

    return row_accuracy(rows, strict)


def _macro_f1(rows: List[Dict[str, Any]]) -> float:
    from bot.evaluation import report_macro_f1, rows_report

    return report_macro_f1(rows_report(rows))


def summary(name: str) -> Dict[str, Any]:
    out_dir = WORK / "results" / name
    folds = sorted(out_dir.glob("fold_*.json"))
    rows: List[Dict[str, Any]] = []
    train_s: List[float] = []
    for path in folds:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows += data["rows"]
        train_s.append(data["train_s"])
    result: Dict[str, Any] = {"name": name, "folds": len(folds)}
    if rows:
        result.update(cv=_accuracy(rows), cv_strict=_accuracy(rows, True), cv_f1=_macro_f1(rows),
                      fold_train_s=statistics.mean(train_s))
    full = out_dir / "full.json"
    if full.exists():
        data = json.loads(full.read_text(encoding="utf-8"))
        lat = sorted(data["latency_ms"])
        result.update(
            train_s=data["train_s"], size_mb=data["size_mb"], load_s=data["load_s"],
            p50=statistics.median(lat), p95=lat[int(0.95 * (len(lat) - 1))],
            sets={k: _accuracy(v) for k, v in data["sets"].items()},
            dev=_accuracy([r for k, v in data["sets"].items() if k.startswith("dev_") for r in v]),
            heldout=_accuracy([r for k, v in data["sets"].items() if k.startswith("heldout_") for r in v]),
        )
        grouped: Dict[str, List[Dict[str, Any]]] = {}
        for key, rows_ in data["sets"].items():
            if key.startswith("dev_"):
                grouped.setdefault(key[4:].rstrip("2"), []).extend(rows_)
        result["dev_styles"] = {style: _accuracy(v) for style, v in sorted(grouped.items())}
    return result


def report() -> str:
    names = sorted(p.name for p in (WORK / "results").iterdir() if p.is_dir())
    results = [summary(n) for n in names]
    pct = lambda v: "–" if v is None else f"{v:.1%}"  # noqa: E731
    lines = [
        "| candidate | CV folds | 5-fold CV acc. | CV strict | CV macro-F1 | dev | held-out | "
        + " | ".join(f"h. {s}" for s in HELDOUT)
        + " | parse p50 / p95 | training (full) | model |",
        "|---|" + "---|" * (9 + len(HELDOUT)),
    ]
    for r in results:
        sets = r.get("sets", {})
        lines.append(
            f"| {r['name']} | {r['folds']} | {pct(r.get('cv'))} | {pct(r.get('cv_strict'))} | "
            f"{pct(r.get('cv_f1'))} | {pct(r.get('dev'))} | {pct(r.get('heldout'))} | "
            + " | ".join(pct(sets.get(f"heldout_{s}")) for s in HELDOUT)
            + (f" | {r['p50']:.1f} / {r['p95']:.1f} ms | {r['train_s']:.0f} s | {r['size_mb']:.1f} MB |"
               if "p50" in r else " | – | – | – |")
        )
    lines += ["", "Dev set per style (tests/nlu/dev: first batch dev_<style>.yml and second batch"
              " dev_<style>2.yml together):", ""]
    styles: List[str] = []
    for r in results:
        for style in r.get("dev_styles", {}):
            if style not in styles:
                styles.append(style)
    lines += ["| candidate | " + " | ".join(styles) + " |", "|---|" + "---|" * len(styles)]
    for r in results:
        if "dev_styles" in r:
            lines.append(f"| {r['name']} | " + " | ".join(pct(r["dev_styles"].get(s)) for s in styles) + " |")
    return "\n".join(lines)


def _fold_rows(name: str) -> List[Dict[str, Any]]:
    from bot.evaluation import fold_rows

    return fold_rows(WORK / "results" / name)


def crossval_markdown(names: List[str]) -> str:
    """reports/crossval.md: the first candidate's per-intent figures, the others side by side."""
    lines = [
        "# 5-fold cross-validation on data/nlu",
        "",
        "Folds stratified by intent (seed 20261202), written by scripts/nlu_study.py; training-time",
        "augmentation (if the pipeline has it) only ever sees the training folds. Accuracy is the",
        "classifier's best real intent, as in the held-out report; \"strict\" also counts a",
        "clarification (FallbackClassifier) as wrong. The training data holds deliberately hard",
        "material (one-off out-of-scope topics, bare procedure names labelled inform, gibberish,",
        "context-first long messages), so these figures sit below the held-out set's.",
        "",
        "| pipeline | n | accuracy | strict | macro-F1 |",
        "|---|---|---|---|---|",
    ]
    for name in names:
        rows = _fold_rows(name)
        lines.append(f"| {name} | {len(rows)} | {_accuracy(rows):.1%} | {_accuracy(rows, True):.1%} | {_macro_f1(rows):.3f} |")
    rows = _fold_rows(names[0])
    lines += ["", f"## Per intent ({names[0]})", "", "| intent | precision | recall | F1 | n |", "|---|---|---|---|---|"]
    from bot.evaluation import rows_report

    for intent, r in rows_report(rows).items():
        lines.append(f"| {intent} | {r['precision']:.2f} | {r['recall']:.2f} | {r['f1']:.2f} | {r['support']} |")
    return "\n".join(lines) + "\n"


def check(model: Path) -> None:
    """The thresholds of tests/integration/test_nlu_heldout.py, in process, for one NLU model."""
    from bot.evaluation import overall, score_file
    from tests.integration import test_nlu_heldout as t

    parse = _Parser(model)
    scores = [score_file(path, parse) for path in t.HELDOUT]
    total = overall(scores)
    print(f"overall intent {total.intent_accuracy:.1%} (min {t.MIN_INTENT_ACCURACY:.0%}), "
          f"procedures {total.procedure_accuracy:.1%} (min {t.MIN_PROCEDURE_ACCURACY:.0%}), n={len(total.outcomes)}")
    for score in scores:
        minimum = t.MIN_BY_STYLE.get(score.style)
        print(f"  {score.style}: {score.intent_accuracy:.1%}" + (f" (min {minimum:.0%})" if minimum else ""))
    examples = list(t._life_event_examples())
    hits = sum(t._resolves_to(parse(text), expected) for text, expected in examples)
    print(f"life-event resolution {hits / len(examples):.1%} (min {t.MIN_LIFE_EVENT_RESOLUTION:.0%})")
    lat = sorted(parse.latencies)
    print(f"parse median {statistics.median(lat) * 1000:.1f} ms, p95 {lat[int(0.95 * (len(lat) - 1))] * 1000:.1f} ms"
          f" over {len(lat)} messages")


if __name__ == "__main__":
    if sys.argv[1] == "crossval":
        print(crossval_markdown(sys.argv[2:]), end="")
    elif sys.argv[1] == "check":
        check(Path(sys.argv[2]))
    elif sys.argv[1] == "run":
        args = sys.argv[2:]
        fold_arg = args[args.index("--folds") + 1] if "--folds" in args else "0,1,2,3,4"
        run(Path(args[0]), [int(f) for f in fold_arg.split(",") if f], "--no-full" not in args)
    else:
        print(report())
