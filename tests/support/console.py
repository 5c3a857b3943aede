"""Shared pieces of the console tests: a tracker store filled with realistic Rasa
events, a throw-away copy of the training data, accounts, and small fakes.

The tracker database is written with Rasa's own SQLTrackerStore and event
classes, so its rows are exactly what a running assistant stores.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import re
import shutil
import sys
import textwrap
import threading
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

ROOT = Path(__file__).resolve().parents[2]
VIETNAM = dt.timezone(dt.timedelta(hours=7))
PASSWORD = "mat-khau-du-dai-123"
TRAINER, REVIEWER, DISABLED = "trang.trainer", "minh.reviewer", "cu.nhanvien"
# Staff who take handoff tickets (role "operator"); two, to race for one ticket.
OPERATOR, OPERATOR_2 = "hoa.canbo", "nam.canbo"

# Messages that carry personal numbers: the console must never show them.
PHONE = "0912 345 678"
IDENTITY = "001099012345"
SECOND_FACTOR = "4567"

CLARIFY_BUTTONS = [
    {"title": "Hỏi về thủ tục", "payload": "/ask_procedure"},
    {"title": "Gặp nhân viên", "payload": "/request_human"},
]
RATING_BUTTONS = [
    {"title": "👍 Hữu ích", "payload": '/rate_answer{"rating":"up"}'},
    {"title": "👎 Chưa đúng", "payload": '/rate_answer{"rating":"down"}'},
]


def ranking(top: str, confidence: float, *others: str) -> List[Dict[str, Any]]:
    rest = (1.0 - confidence) / (len(others) + 1)
    return [{"name": top, "confidence": confidence}] + [
        {"name": name, "confidence": rest} for name in others
    ]


class Conversation:
    """Events of one conversation as Rasa 3.6 writes them, with advancing timestamps."""

    def __init__(self, sender: str, start: dt.datetime, channel: str = "webchat") -> None:
        from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet

        self.sender, self.channel = sender, channel
        self.ts = start.timestamp()
        self.events: List[Any] = []
        self._add(ActionExecuted("action_session_start"))
        self._add(SessionStarted())
        self._add(SlotSet("session_started_metadata", {"channel": channel}))
        self._add(ActionExecuted("action_listen"))

    def _add(self, event) -> Conversation:
        self.ts += 1.5
        event.timestamp = self.ts
        self.events.append(event)
        return self

    def user(
        self,
        text: str,
        intent: str,
        confidence: float = 0.98,
        *others: str,
        entities: Optional[List[Dict[str, Any]]] = None,
        fallback: bool = False,
    ) -> Conversation:
        from rasa.shared.core.events import UserUttered

        ranked = ranking(intent, confidence, *(others or ("out_of_scope", "inform")))
        shown = {"name": "nlu_fallback", "confidence": 0.55} if fallback else ranked[0]
        if fallback:
            ranked = [shown] + ranked
        entities = entities or []
        parse = {
            "intent": shown,
            "entities": entities,
            "text": text,
            "message_id": os.urandom(8).hex(),
            "metadata": {"channel": self.channel},
            "intent_ranking": ranked,
        }
        return self._add(
            UserUttered(
                text, shown, entities, parse_data=parse, input_channel=self.channel,
                message_id=parse["message_id"], metadata={"channel": self.channel},
            )
        )

    def procedure(self, value: str, text: str) -> Dict[str, Any]:
        return {"entity": "procedure", "value": value, "start": 0, "end": len(text),
                "extractor": "ProcedureEntityExtractor"}

    def payload(self, payload: str, intent: str, entities=None) -> Conversation:
        return self.user(payload, intent, 1.0, entities=entities or [])

    def action(self, name: str) -> Conversation:
        from rasa.shared.core.events import ActionExecuted

        return self._add(ActionExecuted(name, policy="RulePolicy", confidence=1.0))

    def slot(self, name: str, value: Any) -> Conversation:
        from rasa.shared.core.events import SlotSet

        return self._add(SlotSet(name, value))

    def bot(self, text: str, utter: str | None = None, buttons=None) -> Conversation:
        from rasa.shared.core.events import BotUttered

        metadata = {"utter_action": utter} if utter else {}
        return self._add(BotUttered(text, {"buttons": buttons}, metadata))

    def listen(self) -> Conversation:
        return self.action("action_listen")


def sample_conversations(today: dt.date) -> List[Conversation]:
    """Six conversations over the last days: answers, fallbacks, a handoff with a
    phone number, a dossier lookup with its 4 digits, ratings up and down."""

    def at(days_ago: int, hour: int) -> dt.datetime:
        day = today - dt.timedelta(days=days_ago)
        return dt.datetime(day.year, day.month, day.day, hour, 0, tzinfo=VIETNAM)

    answered = Conversation("web-answered", at(1, 9))
    text = "làm căn cước cho con 10 tuổi cần gì"
    (answered.user("chào bạn", "greet").action("utter_greet")
        .bot("Xin chào! Tôi là trợ lý ảo hướng dẫn thủ tục hành chính.", "utter_greet").listen()
        .user(text, "ask_documents", 0.97, "ask_procedure",
              entities=[answered.procedure("can_cuoc", text)])
        .slot("procedure", "can_cuoc").action("action_answer_procedure")
        .bot("Giấy tờ cần chuẩn bị – Thẻ căn cước…", "utter_procedure_answer", RATING_BUTTONS)
        .listen()
        .payload('/rate_answer{"rating":"up"}', "rate_answer",
                 [{"entity": "rating", "value": "up", "start": 13, "end": 27}])
        .action("action_rate_answer").bot("Cảm ơn bạn đã đánh giá!").listen())

    handoff = Conversation("web-handoff", at(0, 10))
    (handoff.user("cho hỏi thủ tục gì đó ở xã", "ask_procedure", 0.41, "ask_where",
                  fallback=True)
        .action("action_clarify")
        .bot("Bạn muốn hỏi về việc nào?", "utter_clarify", CLARIFY_BUTTONS).listen()
        .user(f"số điện thoại của tôi là {PHONE}, gọi lại giúp", "request_human", 0.93)
        .action("action_handoff")
        .bot("Bạn có thể gọi tổng đài 18001096 hoặc đến Bộ phận Một cửa.").listen())

    lookup = Conversation("web-lookup", at(0, 11))
    (lookup.user("tra cứu hồ sơ", "check_dossier_status", 0.99)
        .action("dossier_status_form").slot("requested_slot", "dossier_code")
        .bot("Vui lòng nhập mã hồ sơ…", "utter_ask_dossier_code").listen()
        .user("000.45.02.H58-261120-0012", "check_dossier_status", 0.85)
        .action("dossier_status_form").slot("dossier_code", "000.45.02.H58-261120-0012")
        .slot("requested_slot", "second_factor")
        .bot("Để bảo vệ thông tin cá nhân, vui lòng nhập 4 chữ số cuối của số căn cước "
             "hoặc của số điện thoại người nộp hồ sơ.", "utter_ask_second_factor").listen()
        .user(SECOND_FACTOR, "out_of_scope", 0.31, "inform")
        .action("dossier_status_form").slot("second_factor", "verified")
        .slot("requested_slot", None).action("action_dossier_status")
        .bot("Hồ sơ 000.45.02.H58-261120-0012 – Đăng ký kết hôn\nNgười nộp: Trần T. B. N.",
             "utter_dossier_status").listen()
        .user('/EXTERNAL_dossier_update{"dossier_code":"000.45.02.H58-261120-0012"}',
              "EXTERNAL_dossier_update", 1.0)
        .action("action_notify_dossier_update").bot("Hồ sơ của bạn vừa được cập nhật.").listen())

    text = "lệ phí đổi bằng lái xe bao nhiêu"
    rated_down = Conversation("8123456789", at(2, 14), channel="telegram")
    (rated_down.user(text, "ask_fee", 0.62, "ask_processing_time",
                     entities=[rated_down.procedure("doi_gplx", text)])
        .slot("procedure", "doi_gplx").action("action_answer_procedure")
        .bot("Lệ phí – Đổi giấy phép lái xe…", "utter_procedure_answer", RATING_BUTTONS).listen()
        .payload('/rate_answer{"rating":"down"}', "rate_answer",
                 [{"entity": "rating", "value": "down", "start": 13, "end": 29}])
        .action("action_rate_answer").bot("Cảm ơn bạn đã góp ý.").listen())

    unsure = Conversation("web-unsure", at(3, 8))
    (unsure.user("giờ làm việc của bộ phận một cửa thế nào", "ask_where", 0.35,
                 "ask_processing_time", fallback=True)
        .action("action_clarify").bot("Bạn muốn hỏi về việc nào?", "utter_clarify").listen()
        .user(f"cccd của tôi {IDENTITY} bị sai tên thì sửa sao", "ask_procedure", 0.58,
              "ask_documents")
        .action("action_answer_procedure").bot("Bạn muốn hỏi thủ tục nào ạ?").listen())

    known = Conversation("web-known", at(4, 16))
    (known.user("tạm biệt nhé", "goodbye", 0.5, "thank", fallback=True)
        .action("action_default_fallback").bot("Xin lỗi, tôi chưa hiểu ý bạn.").listen()
        .user("hello bot", "greet", 0.66, "goodbye")
        .action("utter_greet").bot("Xin chào!", "utter_greet").listen())
    return [answered, handoff, lookup, rated_down, unsure, known]


def write_tracker(path: Path, conversations: List[Conversation]) -> Path:
    """Store the conversations with Rasa's SQLTrackerStore, as the assistant would."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(dialect="sqlite", db=str(path))

    async def save_all() -> None:
        for conversation in conversations:
            tracker = DialogueStateTracker.from_events(conversation.sender, conversation.events)
            await store.save(tracker)

    asyncio.run(save_all())
    store.engine.dispose()
    return path


def today_vn() -> dt.date:
    return dt.datetime.now(VIETNAM).date()


# --- training data workspace ---------------------------------------------------------------


@dataclass
class Workspace:
    root: Path

    @property
    def config(self) -> Path:
        return self.root / "config.yml"

    @property
    def domain(self) -> Path:
        return self.root / "domain"

    @property
    def nlu(self) -> Path:
        return self.root / "nlu"

    @property
    def rules(self) -> Path:
        return self.root / "rules"

    @property
    def heldout(self) -> Path:
        return self.root / "heldout"

    @property
    def models(self) -> Path:
        return self.root / "models"

    def env(self) -> Dict[str, str]:
        return {
            "CONSOLE_TRAIN_CONFIG": str(self.config),
            "CONSOLE_DOMAIN_DIR": str(self.domain),
            "CONSOLE_NLU_DIR": str(self.nlu),
            "CONSOLE_RULES_DIR": str(self.rules),
            "CONSOLE_HELDOUT_DIR": str(self.heldout),
            "CONSOLE_MODELS_DIR": str(self.models),
            # Keep Rasa's training cache out of the project folder.
            "RASA_CACHE_DIRECTORY": str(self.root / "rasa-cache"),
        }


def make_workspace(root: Path, heldout=("heldout_accented.yml", "heldout_long.yml")) -> Workspace:
    """A copy of the project's training data with a tiny DIET (2 epochs): fast to train,
    and the tests never write into the real data/ folder."""
    root.mkdir(parents=True, exist_ok=True)
    config = (ROOT / "config.yml").read_text(encoding="utf-8")
    tiny = re.sub(r"epochs:\s*\d+", "epochs: 2", config)
    assert "epochs: 2" in tiny
    (root / "config.yml").write_text(tiny, encoding="utf-8")
    shutil.copytree(ROOT / "domain", root / "domain")
    shutil.copytree(ROOT / "data" / "nlu", root / "nlu")
    shutil.copytree(ROOT / "data" / "rules", root / "rules")
    (root / "heldout").mkdir()
    for name in heldout:
        shutil.copy2(ROOT / "tests" / "nlu" / name, root / "heldout" / name)
    (root / "models").mkdir()
    return Workspace(root)


def settings_for(workspace: Workspace, tracker_db: Path, database_url: str, **env):
    from bot.console.settings import Settings

    values = {
        **workspace.env(),
        "TRACKER_DB": str(tracker_db),
        "DATABASE_URL": database_url,
        "RASA_URL": "http://127.0.0.1:9",  # nothing listens on the discard port
        "RASA_API_TOKEN": "test-token",
        **env,
    }
    return Settings.from_env(values)


def start_console(root: Path, env: Dict[str, str], timeout: float = 90):
    """``python -m bot.console`` with ``env``, once its login page answers.

    Returns the process and its URL; the log is ``root/console.log``, whose end
    is the error when the console stops or never answers.
    """
    import subprocess
    import time
    import urllib.request

    with open(root / "console.log", "wb") as log:  # the child keeps its own handle
        process = subprocess.Popen([sys.executable, "-m", "bot.console"], cwd=ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{env['CONSOLE_PORT']}"
    deadline = time.time() + timeout
    while True:
        try:
            urllib.request.urlopen(url + "/login", timeout=2).close()
            return process, url
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                raise RuntimeError((root / "console.log").read_text()[-3000:]) from None
            time.sleep(0.3)


def add_users(database_url: str) -> None:
    from bot.console.auth import Accounts
    from bot.console.db import Database

    db = Database(database_url, auto_migrate=True)
    accounts = Accounts(db)
    accounts.add_user(TRAINER, PASSWORD, "trainer")
    accounts.add_user(REVIEWER, PASSWORD, "reviewer")
    accounts.add_user(DISABLED, PASSWORD, "reviewer")
    accounts.set_active(DISABLED, False)
    db.dispose()


def add_operators(database_url: str) -> None:
    from bot.console.auth import Accounts
    from bot.console.db import Database

    db = Database(database_url, auto_migrate=True)
    accounts = Accounts(db)
    accounts.add_user(OPERATOR, PASSWORD, "operator")
    accounts.add_user(OPERATOR_2, PASSWORD, "operator")
    db.dispose()


# --- fakes ------------------------------------------------------------------------------------


class FakeRasa:
    """Records PUT /model calls like the Rasa HTTP API (204 when the token matches),
    and POST /conversations/<id>/trigger_intent ones (200, in ``triggers``)."""

    def __init__(self, token: str = "test-token") -> None:
        self.calls: List[Dict[str, Any]] = []
        self.triggers: List[Dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def do_PUT(self):  # noqa: N802 - http.server's naming
                body = self._body()
                fake.calls.append({"path": self.path, "body": body})
                ok = self.path.startswith("/model") and f"token={token}" in self.path
                self.send_response(204 if ok else 401)
                self.end_headers()

            def do_POST(self):  # noqa: N802
                body = self._body()
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query))
                ok = url.path.endswith("/trigger_intent") and query.get("token") == token
                if ok:
                    fake.triggers.append({
                        "conversation": url.path.split("/")[2],
                        "intent": body.get("name"), "entities": body.get("entities") or {},
                        "output_channel": query.get("output_channel"),
                    })
                self.send_response(200 if ok else 401)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def fake_rasa_bin(directory: Path, model: Path) -> Path:
    """A ``rasa`` that trains instantly: prints DIET-like progress and copies ``model``.
    Other commands (``data validate``) go to the real Rasa."""
    real = Path(sys.executable).parent / "rasa"
    script = directory / "fake-rasa"
    script.write_text(
        textwrap.dedent(
            f"""\
            #!{sys.executable}
            import os, shutil, sys, time
            args = sys.argv[1:]
            if args[:1] != ["train"]:
                os.execv({str(real)!r}, [{str(real)!r}, *args])
            out = args[args.index("--out") + 1]
            name = args[args.index("--fixed-model-name") + 1]
            for percent in (0, 50, 100):
                sys.stderr.write(f"\\rEpochs: {{percent:3d}}%|#####| {{percent // 50}}/2 [00:01<00:00]")
                sys.stderr.flush()
                time.sleep(0.2)
            sys.stderr.write("\\nFinished training component 'DIETClassifier'.\\n")
            os.makedirs(out, exist_ok=True)
            shutil.copy({str(model)!r}, os.path.join(out, name + ".tar.gz"))
            print("Your Rasa model is trained and saved at " + out)
            """
        ),
        encoding="utf-8",
    )
    script.chmod(0o755)
    return script


# --- HTTP helpers for the in-process app ------------------------------------------------------

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


async def login(client, username: str, password: str = PASSWORD, expect: int = 303):
    """Log in through the form like a browser; returns the session's CSRF token (or the response)."""
    page = await client.get("/login")
    token = _TOKEN.search(await page.text()).group(1)
    response = await client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
        allow_redirects=False,
    )
    assert response.status == expect, (response.status, await response.text())
    if expect != 303:
        return response
    me = await client.get("/api/me")
    assert me.status == 200
    return (await me.json())["csrf_token"]
