"""make fuzz: hostile inputs of every family against a running assistant.

    python scripts/fuzz.py [--inputs 10000] [--seconds 3600] [--concurrency 8] [--seed N]

Starts the assistant with every channel (Telegram and Zalo against local fakes
of their APIs), sends the inputs, prints the figures and writes
reports/fuzz.md. Exits 1 if anything went wrong (a crash, a 5xx, a timeout, a
forged webhook accepted, a replay processed twice, markup echoed, a dossier
disclosed, or Rasa's memory growing by 50 MB or more).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.fuzzing import fuzzable_assistant, run  # noqa: E402

MAX_RSS_GROWTH_MB = 50


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=3600)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--report", type=Path, default=ROOT / "reports" / "fuzz.md")
    args = parser.parse_args()
    concurrency = max(1, min(args.concurrency, 8))
    with tempfile.TemporaryDirectory(prefix="fuzz-") as workdir:
        print("Starting the assistant with every channel (about a minute)...", flush=True)
        with fuzzable_assistant(Path(workdir)) as (assistant, telegram, zalo):
            def platform_texts():
                return [str(m.get("text") or "") for m in telegram.sent()] + [
                    str(m.get("text") or "") for m in zalo.sent()]

            last = [0]

            def progress(sent: int) -> None:
                if sent - last[0] >= 500:
                    last[0] = sent
                    print(f"  {sent} / {args.inputs} sent", flush=True)

            report = run(assistant, args.inputs, args.seconds, args.seed, concurrency,
                         progress, platform_texts)
    growth = report.rss_after_mb - report.rss_before_mb
    ok = report.failures == 0 and growth < MAX_RSS_GROWTH_MB
    lines = report.lines() + ["families: " + ", ".join(
        f"{name} {count}" for name, count in sorted(report.by_family.items()))]
    problems = (report.server_errors + report.timeouts + report.forged_accepted
                + report.markup_echoed + report.disclosures)[:20]
    print("\n".join(lines))
    for problem in problems:
        print("  problem:", problem)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(
        f"# Fuzzing report\n\n`make fuzz` on {dt.date.today().isoformat()}, seed {args.seed}, "
        f"concurrency {concurrency}.\n\n" + "\n".join(f"- {line}" for line in lines)
        + ("\n\nProblems (first 20):\n\n" + "\n".join(f"- {p}" for p in problems)
           if problems else "") + f"\n\nVerdict: {'pass' if ok else 'FAIL'}.\n",
        encoding="utf-8")
    print(f"Verdict: {'pass' if ok else 'FAIL'} (written to {args.report})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
