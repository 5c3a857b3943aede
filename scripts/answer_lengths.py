"""How long the first replies are, for fourteen typical first questions.

A phone shows about 600 characters; a Zalo text is capped at 2,000. Issue 11
asks for a median of at most 700 and a maximum of 1,500 characters.

Three ways to reach the assistant:

    --url http://127.0.0.1:5005        a running assistant, over the REST channel
    --serve --model /tmp/x/current.tar.gz
                                       start both servers with that model (as the
                                       integration tests do), ask, stop them
    --model /tmp/x/current.tar.gz      no server: the model's NLU, then the real
                                       answer action on a tracker (the default)

Prints each reply's characters, lines and number of messages, then the median
and the maximum; exits 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Callable, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = (
    "làm căn cước cần giấy tờ gì",
    "đăng ký thường trú cần gì",
    "dang ky khai sinh online the nao",
    "lệ phí làm lại căn cước bị mất",
    "khai sinh cho con mất bao lâu",
    "xin lý lịch tư pháp ở đâu",
    "doi bang lai xe het bao nhieu tien",
    "đăng ký tạm trú cần giấy tờ gì",
    "thủ tục đăng ký kết hôn",
    "lam the can cuoc cho con 5 tuoi o dau",
    "đăng ký khai tử cho bố cần những gì",
    "xác nhận tình trạng hôn nhân mất bao lâu",
    "dang ky xe may moi can giay to gi",
    "kích hoạt định danh điện tử mức 2 thế nào",
)
MEDIAN_TARGET = 700
MAX_TARGET = 1500


def over_rest(url: str) -> Callable[[int, str], List[str]]:
    from tests.support.servers import http

    def ask(index: int, text: str) -> List[str]:
        status, body = http("POST", f"{url.rstrip('/')}/webhooks/rest/webhook",
                            {"sender": f"lengths-{os.getpid()}-{index}", "message": text})
        if status != 200:
            raise RuntimeError(f"{status}: {body[:200]!r}")
        return [m["text"] for m in json.loads(body) if m.get("text")]

    return ask


def in_process(model: str) -> Callable[[int, str], List[str]]:
    """The model's NLU, then the same action the server would run."""
    from rasa.core.agent import Agent
    from rasa_sdk.executor import CollectingDispatcher

    from actions.fallback import ActionClarify
    from actions.procedures import ActionAnswerProcedure
    from tests.support.trackers import make_tracker

    agent = Agent.load(model)

    def ask(index: int, text: str) -> List[str]:
        parsed = asyncio.run(agent.parse_message(text))
        intent = parsed["intent"]["name"]
        tracker = make_tracker(text, intent, parsed.get("entities"),
                               ranking=parsed.get("intent_ranking"))
        action = ActionAnswerProcedure() if intent.startswith("ask_") else ActionClarify()
        dispatcher = CollectingDispatcher()
        asyncio.run(action.run(dispatcher, tracker, {}))
        return [m.get("answer") or m.get("text") or "" for m in dispatcher.messages]

    return ask


def measure(ask: Callable[[int, str], List[str]]) -> int:
    sizes, worst = [], 0
    print(f"{'chars':>5} {'lines':>5} {'msgs':>4}  question")
    for index, question in enumerate(QUESTIONS):
        replies = ask(index, question)
        text = "\n".join(replies)
        sizes.append(len(text))
        worst = max([worst] + [len(r) for r in replies])
        first = replies[0].splitlines()[0] if replies else "(no reply)"
        print(f"{len(text):>5} {text.count(chr(10)) + 1:>5} {len(replies):>4}  {question}  → {first}")
    median = statistics.median(sizes)
    print(f"\nmedian {median:.0f} (target ≤ {MEDIAN_TARGET}), max {max(sizes)} "
          f"(target ≤ {MAX_TARGET}), longest single message {worst}")
    return 0 if median <= MEDIAN_TARGET and max(sizes) <= MAX_TARGET else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running assistant (REST channel)")
    parser.add_argument("--model", default=str(ROOT / "models" / "current.tar.gz"))
    parser.add_argument("--serve", action="store_true", help="start the servers with --model")
    args = parser.parse_args()
    os.environ.setdefault("ASSISTANT_TODAY", "2026-12-02")
    if args.url:
        return measure(over_rest(args.url))
    if args.serve:
        os.environ["ASSISTANT_TEST_MODEL"] = args.model
        from tests.support.servers import Assistant

        with tempfile.TemporaryDirectory(prefix="answer-lengths-") as workdir:
            assistant = Assistant(Path(workdir)).start()
            try:
                return measure(over_rest(assistant.url))
            finally:
                assistant.stop()
    return measure(in_process(args.model))


if __name__ == "__main__":
    sys.exit(main())
