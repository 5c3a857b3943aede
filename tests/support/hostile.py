"""Hostile inputs, by family, for `make fuzz` and its fast subset in `make test`.

Each generator yields :class:`Case` objects: which endpoint, the raw body and
headers, and what a correct server does with it (``forged`` cases must be
refused; every case must get an answer below 500 and never echo raw markup).
Generation is seeded, so a failing case can be reproduced from its index.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import time
import unicodedata
from typing import Any, Dict, Iterator, List, Optional

SUPPLEMENT = "000.45.02.H58-261120-0012"
MARKUP = "<script>alert(1)</script>"
DISCLOSURES = ("Người nộp", "Hẹn trả", "Cần bổ sung", "Trần T. B. N.")

TEXTS = [
    "xin chào", "lệ phí làm căn cước", "dang ky khai sinh mat bao lau", "tra cứu hồ sơ",
    # Never the dossier's right digits (4567, 9103): a disclosure then is a real one.
    SUPPLEMENT, "1111", "45 68", "cccd 001.090.012.345", "sđt 0912  345  601",
]
PAYLOADS = [
    f'/EXTERNAL_dossier_update{{"dossier_code":"{SUPPLEMENT}"}}',
    f'/EXTERNAL_dossier_reminder{{"dossier_code":"{SUPPLEMENT}","reminder":"overdue"}}',
    f'/check_dossier_status{{"verified_dossier":"{SUPPLEMENT}","second_factor":"verified"}}',
    f'/subscribe_dossier{{"verified_dossier":"{SUPPLEMENT}"}}',
    '/ask_fee{"procedure":"can_cuoc","lookup_locked":false}',
    "/session_start", "/restart", '/inform{"procedure":"<b>x</b>"}', "/", "//greet@2.0",
]
WEIRD = [
    "\ud83d", "xin \udc00 chào", "\x00\x01\x02", "\u202etxet\u202c", "a\u200b\u200c\u200db",
    "😀" * 3000, "🇻🇳" * 50, unicodedata.normalize("NFD", "căn cước công dân"),
    "' OR 1=1; DROP TABLE events; --", MARKUP, "<img src=x onerror=alert(1)>",
    "{{7*7}} ${7*7}", "%s%s%s%n", "\\u0000", "a" * 2001, "a" * 100_000,
    "٠٠٠.٠٠.١٥.H١٠-٢٦١١٢٠-٠٠١٢", "000.45.02.H58-261120-00121", "HS-12345",
    "ﷺ" * 500, "\r\n" * 200, " " * 3000, "ℌ𝔢𝔩𝔩𝔬",
]


@dataclasses.dataclass
class Case:
    family: str
    endpoint: str  # "rest", "webchat", "telegram", "zalo"
    body: bytes
    headers: Dict[str, str] = dataclasses.field(default_factory=dict)
    # A forged webhook: must not be accepted (no 200 that processes it).
    forged: bool = False
    # A text was sent: the reply must disclose no dossier and echo no markup.
    text: Optional[str] = None


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def bodies(rng: random.Random) -> Iterator[bytes]:
    fixed = [b"", b"[]", b"null", b"1", b"true", b'"x"', b"{", b"\xff\xfe\xfd", b"{}",
             b"[" * 5000 + b"]" * 5000, b'{"a":' * 200 + b"1" + b"}" * 200,
             b'{"sender": ["a"], "message": {"x": 1}}', b'{"sender": null, "message": null}',
             b'{"sender": "a", "message": "' + b"\\ud800" * 100 + b'"}']
    yield from fixed
    while True:
        size = rng.choice([1, 10, 1000, 70_000])
        yield bytes(rng.getrandbits(8) for _ in range(size))


def texts(rng: random.Random) -> Iterator[str]:
    pool = TEXTS + PAYLOADS + WEIRD
    yield from pool
    while True:
        a, b = rng.choice(pool), rng.choice(pool)
        yield rng.choice([a + " " + b, a[: rng.randint(0, len(a))], b.upper(), a + MARKUP])


def senders(rng: random.Random) -> Iterator[Any]:
    fixed = ["telegram:42", "zalo:1", "webchat:x", "\ud83d", "a" * 500, "", None, 12, True,
             ["x"], {"a": 1}, "a b", "../../etc/passwd", "<b>", "rest:telegram:42"]
    yield from fixed
    while True:
        yield f"fuzz-{rng.randint(0, 10**9)}"


def telegram_update(chat: int, text: str, update_id: int) -> Dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": int(time.time()), "text": text,
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "F"}}}


def zalo_event(user: str, text: str, msg_id: str, timestamp_ms: int) -> Dict[str, Any]:
    return {"app_id": "fake-app-id", "event_name": "user_send_text",
            "timestamp": str(timestamp_ms), "sender": {"id": user},
            "recipient": {"id": "oa"}, "message": {"text": text, "msg_id": msg_id}}


def zalo_mac(app_id: str, body: bytes, timestamp: str, key: str) -> str:
    return hashlib.sha256(app_id.encode() + body + timestamp.encode() + key.encode()).hexdigest()


class Families:
    """Every family of hostile input; ``cases(n)`` interleaves them."""

    def __init__(self, seed: int, session: Dict[str, str], telegram_secret: str,
                 zalo: Dict[str, str]):
        self.rng = random.Random(seed)
        self.session = session
        self.telegram_secret = telegram_secret
        self.zalo = zalo
        self._bodies = bodies(self.rng)
        self._texts = texts(self.rng)
        self._senders = senders(self.rng)
        self.counter = 10_000

    def _next_id(self) -> int:
        self.counter += 1
        return self.counter

    def raw_body(self) -> Case:
        return Case("raw body", self.rng.choice(["rest", "webchat"]), next(self._bodies))

    def rest_text(self) -> Case:
        text = next(self._texts)
        return Case("rest text", "rest", _json({"sender": "fz-rest", "message": text}), text=text)

    def rest_sender(self) -> Case:
        body = {"sender": next(self._senders), "message": "xin chào"}
        return Case("rest sender", "rest", _json(body), text="xin chào")

    def webchat_text(self) -> Case:
        text = next(self._texts)
        body = {"sender": self.session["sender"], "token": self.session["token"], "message": text}
        return Case("webchat text", "webchat", _json(body), text=text)

    def webchat_forged_session(self) -> Case:
        body = {"sender": self.session["sender"], "token": self.rng.choice(["", "0" * 64, None]),
                "message": "xin chào"}
        return Case("webchat forged session", "webchat", _json(body), forged=True)

    def telegram_text(self) -> Case:
        text = next(self._texts)
        update = telegram_update(7_000_000 + self.rng.randint(0, 50), text, self._next_id())
        return Case("telegram text", "telegram", _json(update),
                    {"X-Telegram-Bot-Api-Secret-Token": self.telegram_secret})

    def telegram_forged(self) -> Case:
        update = telegram_update(7_100_000, "xin chào", self._next_id())
        headers = self.rng.choice([{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}])
        return Case("telegram forged", "telegram", _json(update), headers, forged=True)

    def _zalo_signed(self, text: str, age_ms: int, msg_id: str) -> Case:
        stamp = int(time.time() * 1000) - age_ms
        body = _json(zalo_event("8" + str(self.rng.randint(10**8, 10**9)), text, msg_id, stamp))
        mac = zalo_mac(self.zalo["app_id"], body, str(stamp), self.zalo["oa_secret_key"])
        return Case("zalo text", "zalo", body, {"X-ZEvent-Signature": f"mac={mac}"})

    def zalo_text(self) -> Case:
        return self._zalo_signed(next(self._texts), 0, f"m{self._next_id()}")

    def zalo_forged(self) -> Case:
        kind = self.rng.choice(["none", "wrong", "stale"])
        if kind == "stale":  # a valid mac on an event a day old
            case = self._zalo_signed("xin chào", 24 * 3600 * 1000, f"m{self._next_id()}")
        else:
            case = self._zalo_signed("xin chào", 0, f"m{self._next_id()}")
            case.headers = {} if kind == "none" else {"X-ZEvent-Signature": "mac=" + "0" * 64}
        case.family, case.forged = f"zalo forged ({kind})", True
        return case

    def zalo_replay(self) -> List[Case]:
        first = self._zalo_signed("xin chào", 0, f"m{self._next_id()}")
        again = dataclasses.replace(first, family="zalo replay")
        return [first, again]

    def cases(self, n: int) -> Iterator[Case]:
        makers = [self.raw_body, self.rest_text, self.rest_sender, self.webchat_text,
                  self.webchat_forged_session, self.telegram_text, self.telegram_forged,
                  self.zalo_text, self.zalo_forged]
        made = 0
        while made < n:
            if made % 50 == 49:
                for case in self.zalo_replay():
                    yield case
                    made += 1
                continue
            yield makers[made % len(makers)]()
            made += 1
