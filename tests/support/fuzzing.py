"""Send hostile inputs at a running assistant and count what went wrong.

Used by ``make fuzz`` (scripts/fuzz.py: 10,000 inputs by default) and by the
fast subset in ``tests/integration/test_fuzz_http.py``. The assistant runs with
every channel on: REST, web chat, and Telegram and Zalo pointed at the local
fakes of their platforms, so nothing leaves this machine.
"""
from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional

from tests.support.fake_telegram import FakeTelegram
from tests.support.fake_zalo import FakeZalo
from tests.support.hostile import DISCLOSURES, MARKUP, Case, Families
from tests.support.servers import ROOT, Assistant, http

TELEGRAM_TOKEN = "123456:FUZZ"
TELEGRAM_SECRET = "fuzz-secret"
ZALO = {"app_id": "fake-app-id", "oa_secret_key": "fuzz-oa-secret", "app_secret": "fake-app-secret"}
PATHS = {"rest": "/webhooks/rest/webhook", "webchat": "/webhooks/webchat/webhook",
         "telegram": "/webhooks/telegram/webhook", "zalo": "/webhooks/zalo/webhook"}


@dataclasses.dataclass
class Report:
    sent: int = 0
    by_family: Dict[str, int] = dataclasses.field(default_factory=collections.Counter)
    server_errors: List[str] = dataclasses.field(default_factory=list)
    timeouts: List[str] = dataclasses.field(default_factory=list)
    forged_accepted: List[str] = dataclasses.field(default_factory=list)
    replays_accepted: int = 0
    markup_echoed: List[str] = dataclasses.field(default_factory=list)
    disclosures: List[str] = dataclasses.field(default_factory=list)
    alive: bool = True
    rss_before_mb: float = 0.0
    rss_after_mb: float = 0.0
    seconds: float = 0.0

    @property
    def failures(self) -> int:
        return (len(self.server_errors) + len(self.timeouts) + len(self.forged_accepted)
                + self.replays_accepted + len(self.markup_echoed) + len(self.disclosures)
                + (0 if self.alive else 1))

    def lines(self) -> List[str]:
        return [
            f"inputs sent: {self.sent} in {self.seconds:.0f} s "
            f"({len(self.by_family)} families)",
            f"process alive afterwards: {'yes' if self.alive else 'NO'}",
            f"5xx answers: {len(self.server_errors)}",
            f"timeouts or dropped connections: {len(self.timeouts)}",
            f"forged webhooks accepted: {len(self.forged_accepted)}",
            f"replayed Zalo events processed twice: {self.replays_accepted}",
            f"raw markup echoed: {len(self.markup_echoed)}",
            f"dossier details disclosed: {len(self.disclosures)}",
            f"Rasa RSS: {self.rss_before_mb:.0f} MB before, {self.rss_after_mb:.0f} MB after "
            f"({self.rss_after_mb - self.rss_before_mb:+.0f} MB)",
        ]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextlib.contextmanager
def fuzzable_assistant(workdir: Path) -> Iterator[tuple]:
    """The real assistant with all four channels, and the two platform fakes."""
    telegram = FakeTelegram(TELEGRAM_TOKEN).start()
    zalo = FakeZalo(app_id=ZALO["app_id"], app_secret=ZALO["app_secret"]).start()
    blocks = {
        "bot.channels.telegram.TelegramInput": {
            "access_token": TELEGRAM_TOKEN, "secret_token": TELEGRAM_SECRET,
            "base_url": telegram.base_url},
        "bot.channels.zalo.ZaloInput": {
            "app_id": ZALO["app_id"], "oa_secret_key": ZALO["oa_secret_key"],
            "access_token": "access-0", "refresh_token": "refresh-0",
            "app_secret": ZALO["app_secret"], "api_base_url": zalo.url,
            "oauth_base_url": zalo.url, "token_file": str(workdir / "zalo_token.json")},
    }
    credentials = workdir / "credentials.yml"
    credentials.write_text(
        (ROOT / "credentials.yml").read_text(encoding="utf-8") + "\n" + "".join(
            f"{name}:\n" + "".join(f"  {k}: {json.dumps(v)}\n" for k, v in block.items())
            for name, block in blocks.items()),
        encoding="utf-8")
    assistant = Assistant(workdir, credentials=credentials).start()
    try:
        yield assistant, telegram, zalo
    finally:
        assistant.stop()
        telegram.stop()
        zalo.stop()


def _post(url: str, case: Case, timeout: float) -> tuple:
    request = urllib.request.Request(url, data=case.body, method="POST",
                                     headers={"Content-Type": "application/json", **case.headers})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _judge(report: Report, case: Case, status: int, body: bytes, label: str) -> None:
    if status >= 500:
        report.server_errors.append(label)
    if case.forged and status == 200:
        report.forged_accepted.append(label)
    if case.endpoint in ("rest", "webchat") and status == 200 and case.text is not None:
        reply = body.decode("utf-8", "replace")
        if MARKUP in reply:
            report.markup_echoed.append(label)
        if any(marker in reply for marker in DISCLOSURES):
            report.disclosures.append(label)


def _send(url: str, index: int, case: Case) -> tuple:
    try:
        return (index, case, *_post(url + PATHS[case.endpoint], case, 60))
    except Exception as error:  # refused or dropped connection, timeout
        return index, case, None, repr(error).encode()


def _replays(zalo_answers: Dict[bytes, List[tuple]]) -> int:
    """Later copies of a body delivered twice that were processed again."""
    return sum(
        sum(accepted for _, accepted in sorted(answers)[1:])
        for answers in zalo_answers.values() if len(answers) > 1
    )


def _finish(report: Report, assistant: Assistant,
            platform_texts: Optional[Callable[[], List[str]]]) -> None:
    time.sleep(2)  # background turns (Telegram, Zalo) finish
    alive = assistant.processes[-1].poll() is None
    report.alive = alive and "Xin chào" in "".join(
        m.get("text") or "" for m in assistant.say("fuzz-after", "xin chào"))
    report.rss_after_mb = rss_mb(assistant.processes[-1].pid) if alive else 0.0
    for text in platform_texts() if platform_texts else []:
        if MARKUP in text:
            report.markup_echoed.append("platform reply")
        if any(marker in text for marker in DISCLOSURES):
            report.disclosures.append("platform reply")


def run(assistant: Assistant, n: int, seconds: float, seed: int = 20261201,
        concurrency: int = 8, progress: Optional[Callable[[int], None]] = None,
        platform_texts: Optional[Callable[[], List[str]]] = None) -> Report:
    """Send ``n`` cases (or as many as fit in ``seconds``) and judge every answer."""
    status, body = http("POST", f"{assistant.url}/webhooks/webchat/session")
    families = Families(seed, json.loads(body), TELEGRAM_SECRET, ZALO)
    report = Report(rss_before_mb=rss_mb(assistant.processes[-1].pid))
    started = time.time()
    zalo_answers: Dict[bytes, List[tuple]] = collections.defaultdict(list)

    def collect(futures) -> None:
        for future in futures:
            _collect(report, future.result(), zalo_answers)
        if progress:
            progress(report.sent)

    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        pending: set = set()
        for index, case in enumerate(families.cases(n)):
            if time.time() - started > seconds:
                break
            if case.family == "zalo replay" or len(pending) >= concurrency * 4:
                # A replayed copy follows its original's acknowledgement.
                wait_for = concurrent.futures.ALL_COMPLETED if case.family == "zalo replay" \
                    else concurrent.futures.FIRST_COMPLETED
                done, pending = concurrent.futures.wait(pending, return_when=wait_for)
                collect(done)
            pending.add(pool.submit(_send, assistant.url, index, case))
        collect(concurrent.futures.as_completed(pending))
    report.seconds = time.time() - started
    report.replays_accepted = _replays(zalo_answers)
    _finish(report, assistant, platform_texts)
    return report


def _collect(report: Report, result: tuple, zalo_answers: Dict[bytes, List[tuple]]) -> None:
    index, case, status, body = result
    report.sent += 1
    report.by_family[case.family] += 1
    label = f"#{index} {case.family}"
    if status is None:
        report.timeouts.append(f"{label}: {body[:200]!r}")
        return
    _judge(report, case, status, body, label)
    if case.endpoint == "zalo" and not case.forged:
        zalo_answers[case.body].append((index, status == 200 and b"accepted" in body))
