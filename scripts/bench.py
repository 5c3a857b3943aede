"""`make bench`: the assistant against the same bot under Rasa's default configuration.

Both stacks (own action server, dossier database and SQL tracker store each)
run at the same time and are loaded in turn, phase by phase, with the same
multi-turn conversations (bench/conversations.yml), so the machine's load
falls on both alike. Figures go to stdout and reports/benchmark.md.

  python scripts/bench.py            # full run (trains the models if missing)
  python scripts/bench.py --quick    # a short run while developing
  python scripts/bench.py --steps    # also: each hot-path fix's effect on ours
  python scripts/bench.py --target http://127.0.0.1:8405   # load a running cluster
"""
from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import bench_load  # noqa: E402
import bench_report  # noqa: E402
from bench_stack import Stack  # noqa: E402

CONFIGS = {"ours": ROOT / "config.yml", "default": ROOT / "config_bench_default.yml"}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def conversations() -> List[List[str]]:
    data = yaml.safe_load((ROOT / "bench" / "conversations.yml").read_text(encoding="utf-8"))
    return [[str(turn) for turn in c["turns"]] for c in data["conversations"]]


def config_for(name: str, epochs: Optional[int]) -> Path:
    """The configuration file, with every ``epochs:`` replaced when asked.

    The default configuration's transformer DIET, TED and UnexpecTED take about
    40 minutes for 100 epochs on a loaded 2-core machine; the number of epochs
    changes the weights, not the work per message, so the side-by-side figures
    hold with fewer (the report says how many were used)."""
    if epochs is None:
        return CONFIGS[name]
    text = re.sub(r"epochs: \d+", f"epochs: {epochs}", CONFIGS[name].read_text())
    path = Path(tempfile.mkdtemp(prefix="scale-bench-config-")) / CONFIGS[name].name
    path.write_text(text)
    return path


def train(name: str, out: Path, epochs: Optional[int] = None) -> float:
    """Train one configuration from scratch; returns wall seconds."""
    log(f"training {name} ({CONFIGS[name].name}, epochs {epochs or 'as configured'}) into {out}")
    started = time.time()
    subprocess.run(
        [str(Path(sys.executable).parent / "rasa"), "train", "--config",
         str(config_for(name, epochs)),
         "--domain", "domain", "--data", "data/nlu", "data/rules", "--out", str(out.parent),
         "--fixed-model-name", out.name.replace(".tar.gz", ""), "--force"],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.time() - started


def models(args: argparse.Namespace) -> Dict[str, Dict]:
    found = {}
    for name in CONFIGS:
        path = Path(getattr(args, f"{name}_model"))
        seconds: Optional[float] = None
        epochs = args.default_epochs if name == "default" else None
        if args.train or not path.exists():
            seconds = train(name, path, epochs)
            log(f"{name} trained in {seconds:.0f} s")
        found[name] = {"path": path, "train_seconds": seconds, "epochs": epochs}
    return found


def measure(stack_url: str, pids: List[Stack], phase: str, run) -> Dict:
    cpu_before = sum(s.cpu() for s in pids)
    result = asyncio.run(run)
    cpu = sum(s.cpu() for s in pids) - cpu_before
    row = {
        "phase": phase, "messages": result.messages, "errors": result.errors,
        "throughput": result.throughput, "p50": result.percentile(50) * 1000,
        "p95": result.percentile(95) * 1000, "p99": result.percentile(99) * 1000,
        "cpu_ms": (cpu / max(1, len(result.latencies))) * 1000 if pids else float("nan"),
        "rss": max((s.rss() for s in pids), default=float("nan")),
    }
    log(f"  {phase}: {row['throughput']:.1f} msg/s, p50 {row['p50']:.0f} ms, "
        f"p95 {row['p95']:.0f} ms, p99 {row['p99']:.0f} ms, errors {row['errors']}")
    return row


def phases(args: argparse.Namespace):
    for concurrency in args.concurrency:
        yield (f"closed {concurrency}",
               lambda url, convs, tag, c=concurrency: bench_load.closed_loop(
                   url, convs, c, args.seconds, tag))
    for rate in args.rates:
        yield (f"open {rate:g}/s",
               lambda url, convs, tag, r=rate: bench_load.open_loop(
                   url, convs, r, args.seconds, tag))


def run_side_by_side(args: argparse.Namespace, stacks: Dict[str, Stack]) -> Dict[str, List]:
    convs = conversations()
    for name, stack in stacks.items():
        asyncio.run(bench_load.warm_up(stack.url, convs, f"warm-{name}"))
    rows: Dict[str, List] = {name: [] for name in stacks}
    for phase, make in phases(args):
        log(f"phase {phase}")
        # Interleaved: each phase runs on every stack before the next phase.
        for name, stack in stacks.items():
            pids = [stack] if stack.processes else []
            row = measure(stack.url, pids, f"{name} {phase}", make(stack.url, convs, name))
            row["phase"] = phase
            rows[name].append(row)
    return rows


def run_steps(args: argparse.Namespace, model: Path, workroot: Path) -> List[Dict]:
    """Ours with the hot-path fixes switched on one after the other."""
    sys.path.insert(0, str(ROOT))
    from bot.patches import STEPS

    convs = conversations()
    rows = []
    for count in range(len(STEPS) + 1):
        enabled = ",".join(STEPS[:count]) or "none"
        log(f"hot-path steps: {enabled}")
        stack = Stack(f"steps-{count}", model, workroot / f"steps-{count}",
                      extra_env={"ASSISTANT_HOTPATH": enabled}).start()
        try:
            asyncio.run(bench_load.warm_up(stack.url, convs, "warm"))
            row = measure(stack.url, [stack], f"closed {args.step_concurrency}",
                          bench_load.closed_loop(stack.url, convs, args.step_concurrency,
                                                 args.seconds, "steps"))
            row["steps"] = enabled
            row["ready"] = stack.ready_seconds
            rows.append(row)
        finally:
            stack.stop()
    return rows


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short phases, fewer rates")
    parser.add_argument("--steps", action="store_true", help="measure each hot-path fix")
    parser.add_argument("--train", action="store_true", help="retrain both models, timed")
    parser.add_argument("--target", help="load a running server/cluster instead (ours only)")
    parser.add_argument("--ours-model", default=str(ROOT / "models" / "bench-ours.tar.gz"))
    parser.add_argument("--default-model", default=str(ROOT / "models" / "bench-default.tar.gz"))
    parser.add_argument("--default-epochs", type=int, default=5,
                        help="epochs for the default configuration's model when the bench "
                             "trains it (0 = as configured, 100)")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--rates", type=float, nargs="+", default=[25, 50, 100, 150])
    parser.add_argument("--step-concurrency", type=int, default=10)
    parser.add_argument("--out", default=str(ROOT / "reports" / "benchmark.md"))
    args = parser.parse_args(argv)
    args.default_epochs = args.default_epochs or None
    if args.quick:
        args.seconds = min(args.seconds, 6.0)
        args.rates = [r for r in args.rates if r <= 100] or args.rates[:1]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    load_before = bench_report.machine_load()
    if args.target:
        log(f"loading {args.target} (no servers started)")
        target = Stack("target", Path("-"), Path(tempfile.mkdtemp(prefix="bench-")))
        target.rasa_port = int(args.target.rsplit(":", 1)[1].split("/")[0])
        rows = run_side_by_side(args, {"target": target})
        text = bench_report.target_report(args, rows["target"], load_before)
        Path(args.out).write_text(text, encoding="utf-8")
        print(text)
        return 0
    found = models(args)
    workroot = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    stacks: Dict[str, Stack] = {}
    try:
        for name in CONFIGS:
            log(f"starting {name}")
            stacks[name] = Stack(name, found[name]["path"], workroot / name,
                                 stock=(name == "default")).start()
            log(f"{name} ready in {stacks[name].ready_seconds:.1f} s")
        rows = run_side_by_side(args, stacks)
        ready = {name: stack.ready_seconds for name, stack in stacks.items()}
    finally:
        for stack in stacks.values():
            stack.stop()
    steps = run_steps(args, found["ours"]["path"], workroot) if args.steps else []
    text = bench_report.report(args, rows, found, ready, steps, load_before,
                               bench_report.machine_load())
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    log(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
