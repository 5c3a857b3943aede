"""Held-out evaluation of one or more models, run in its own process.

    python -m bot.console.evaluate --heldout tests/nlu --out result.json MODEL [MODEL ...]

Each model is loaded in-process with ``rasa.core.agent.Agent`` and scored by
``bot.evaluation.score_file`` on every ``heldout_*.yml``; the JSON written to
``--out`` holds, per model, the scores of ``make test`` plus per-intent
precision, recall and F1. TensorFlow stays out of the console process: a
training run can take gigabytes that a web server should give back.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def per_intent(outcomes) -> Dict[str, Dict[str, float]]:
    """Precision, recall and F1 of each intent, predicting the best real intent
    as ``make test`` does (a clarification still names the likeliest intent)."""
    tp, fp, fn, support = Counter(), Counter(), Counter(), Counter()
    for o in outcomes:
        support[o.expected_intent] += 1
        if o.intent_ok:
            tp[o.expected_intent] += 1
        else:
            fn[o.expected_intent] += 1
            fp[o.predicted_intent] += 1
    result = {}
    for intent in sorted(set(support) | set(fp)):
        p_den, r_den = tp[intent] + fp[intent], tp[intent] + fn[intent]
        precision = tp[intent] / p_den if p_den else 0.0
        recall = tp[intent] / r_den if r_den else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        result[intent] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": support[intent],
        }
    return result


def _style(score) -> Dict[str, Any]:
    return {
        "n": len(score.outcomes),
        "intent_accuracy": score.intent_accuracy,
        "procedure_accuracy": score.procedure_accuracy,
        "clarification_rate": score.clarification_rate,
        "confident_errors": score.confident_errors,
        "spurious_procedures": score.spurious_procedures,
    }


def metrics(scores) -> Dict[str, Any]:
    from bot.evaluation import overall

    total = overall(scores)
    intents = per_intent(total.outcomes)
    supported = [m for m in intents.values() if m["support"]]
    n = sum(m["support"] for m in supported) or 1
    result = _style(total)
    result.update(
        macro_precision=sum(m["precision"] for m in supported) / max(len(supported), 1),
        macro_recall=sum(m["recall"] for m in supported) / max(len(supported), 1),
        macro_f1=sum(m["f1"] for m in supported) / max(len(supported), 1),
        weighted_f1=sum(m["f1"] * m["support"] for m in supported) / n,
        styles={s.style: _style(s) for s in scores},
        per_intent=intents,
        errors=[
            {"text": o.text, "expected": o.expected_intent, "predicted": o.predicted_intent}
            for o in total.outcomes
            if not o.intent_ok
        ][:40],
    )
    return result


def evaluate(models: List[Path], heldout: List[Path]) -> Dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    from bot.evaluation import score_file

    # One debug line per parsed message would bury the progress lines.
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)

    total = len(models) * sum(len(load_data(str(p)).intent_examples) for p in heldout)
    done = 0
    loop = asyncio.new_event_loop()
    results: Dict[str, Any] = {}
    for model in models:
        print(f"STAGE loading {model.name}", flush=True)
        agent = Agent.load(str(model))

        def parse(text: str, agent=agent) -> Dict[str, Any]:
            nonlocal done
            done += 1
            if done % 10 == 0 or done == total:
                print(f"PROGRESS {done}/{total}", flush=True)
            return loop.run_until_complete(agent.parse_message(text))

        scores = [score_file(path, parse) for path in heldout]
        results[str(model)] = metrics(scores)
    loop.close()
    return results


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heldout", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("models", type=Path, nargs="+")
    args = parser.parse_args(argv)
    files = sorted(args.heldout.glob("heldout_*.yml"))
    if not files:
        print(f"no heldout_*.yml in {args.heldout}", file=sys.stderr)
        return 2
    results = evaluate(args.models, files)
    args.out.write_text(
        json.dumps({"heldout": [p.name for p in files], "models": results}, ensure_ascii=False),
        encoding="utf-8",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
