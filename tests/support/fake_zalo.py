"""A local stand-in for Zalo's OA API and OAuth server, for tests that must not touch the internet.

It runs aiohttp on 127.0.0.1 in a thread with its own event loop, so it serves
both in-process tests and a Rasa server started as a subprocess. It is strict
where the real API is known to be strict: the access token, single-use refresh
tokens, the app secret header, and the text and button limits. It accepts
the consultation message the channel sends (``text`` plus an
``attachment`` of type "template" whose ``payload.buttons`` holds
oa.query.show / oa.query.hide / oa.open.url buttons) and can be told to
refuse every message with buttons, as Zalo does for an OA or a message type
it will not show them for (``refuse_buttons``).
"""
from __future__ import annotations

import asyncio
import itertools
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from aiohttp import web

from tests.support.servers import free_port

TEXT_LIMIT = 2000
MAX_BUTTONS = 5
MAX_BUTTON_TITLE = 100


class FakeZalo:
    def __init__(
        self,
        app_id: str = "fake-app-id",
        app_secret: str = "fake-app-secret",
        access_token: str = "access-0",
        refresh_token: str = "refresh-0",
        expires_in: int = 90000,
    ):
        self.app_id = app_id
        self.app_secret = app_secret
        self.expires_in = expires_in
        self.port = free_port()
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._valid_access = {access_token}
        self._live_refresh = {refresh_token}
        self._spent_refresh: set = set()
        self._planned: List[Dict[str, Any]] = []
        self.calls: List[Dict[str, Any]] = []
        self.refreshes: List[Dict[str, Any]] = []
        self.refresh_delay = 0.0
        self._buttons_refused: Optional[int] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------ control

    def start(self) -> FakeZalo:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("fake Zalo did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        future.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def __enter__(self) -> FakeZalo:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def fail_next(self, error: int = 0, times: int = 1, http_status: int = 200) -> None:
        """Answer the next ``times`` send calls with this Zalo error code or HTTP status."""
        with self._lock:
            self._planned.extend({"error": error, "http": http_status} for _ in range(times))

    def refuse_buttons(self, error: Optional[int] = -201) -> None:
        """Answer every message with an attachment with ``error`` (None: accept them again)."""
        with self._lock:
            self._buttons_refused = error

    def expire_access_tokens(self) -> None:
        """Every access token issued so far stops working (-216) until a refresh."""
        with self._lock:
            self._valid_access.clear()

    @property
    def refresh_count(self) -> int:
        with self._lock:
            return sum(1 for r in self.refreshes if r["ok"])

    @property
    def current_access_token(self) -> Optional[str]:
        with self._lock:
            return next(iter(self._valid_access), None)

    def sent(self, user_id: Optional[str] = None) -> List[Dict[str, Any]]:
        """Messages accepted (error 0), optionally only those to ``user_id``."""
        with self._lock:
            return [
                c["body"]["message"] for c in self.calls
                if c["error"] == 0 and (user_id is None or c["user_id"] == user_id)
            ]

    def texts(self, user_id: Optional[str] = None) -> List[str]:
        return [m.get("text", "") for m in self.sent(user_id)]

    def wait_for(
        self,
        predicate: Callable[[], Any],
        timeout: float = 60,
        interval: float = 0.1,
    ) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(interval)
        return predicate()

    # ------------------------------------------------------------ server

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        app = web.Application()
        app.router.add_post("/v3.0/oa/message/cs", self._send)
        app.router.add_post("/v4/oa/access_token", self._token)
        self._runner = web.AppRunner(app)
        loop.run_until_complete(self._runner.setup())
        loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._loop = loop
        ready.set()
        loop.run_forever()
        loop.close()

    def _record(self, token: Optional[str], body: Any, error: int) -> None:
        user_id = None
        if isinstance(body, dict):
            user_id = (body.get("recipient") or {}).get("user_id")
        self.calls.append({"access_token": token, "body": body, "user_id": user_id, "error": error})

    async def _send(self, request: web.Request) -> web.Response:
        token = request.headers.get("access_token")
        try:
            body = await request.json()
        except ValueError:
            body = None
        with self._lock:
            if self._planned:
                plan = self._planned.pop(0)
                self._record(token, body, plan["error"] or -1)
                if plan["http"] != 200:
                    return web.Response(status=plan["http"], text="unavailable")
                return web.json_response({"error": plan["error"], "message": "planned failure"})
            if token not in self._valid_access:
                self._record(token, body, -216)
                return web.json_response({"error": -216, "message": "Access token is invalid"})
            problem = _problem(body)
            if not problem and self._buttons_refused is not None and "attachment" in body["message"]:
                problem = (self._buttons_refused, "attachment is not allowed")
            if problem:
                self._record(token, body, problem[0])
                return web.json_response({"error": problem[0], "message": problem[1]})
            self._record(token, body, 0)
            message_id = f"fake-msg-{next(self._counter)}"
        user_id = body["recipient"]["user_id"]
        return web.json_response(
            {"error": 0, "message": "Success", "data": {"message_id": message_id, "user_id": user_id}}
        )

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        secret = request.headers.get("secret_key")
        refresh = form.get("refresh_token")
        if self.refresh_delay:
            await asyncio.sleep(self.refresh_delay)
        with self._lock:
            entry = {"refresh_token": refresh, "ok": False}
            self.refreshes.append(entry)
            # Zalo reports OAuth failures in the body, with HTTP 200.
            if secret != self.app_secret or form.get("app_id") != self.app_id:
                return web.json_response(
                    {"error": -14014, "error_name": "invalid_app",
                     "error_description": "app id or secret key is wrong"}
                )
            if form.get("grant_type") != "refresh_token" or refresh not in self._live_refresh:
                reused = refresh in self._spent_refresh
                return web.json_response(
                    {"error": -14020, "error_name": "invalid_refresh_token",
                     "error_description": "refresh token reused" if reused else "unknown token"}
                )
            number = next(self._counter)
            self._live_refresh.discard(refresh)
            self._spent_refresh.add(refresh)
            access, new_refresh = f"access-{number}", f"refresh-{number}"
            self._valid_access = {access}
            self._live_refresh.add(new_refresh)
            entry["ok"] = True
        return web.json_response(
            {"access_token": access, "refresh_token": new_refresh, "expires_in": str(self.expires_in)}
        )


def _problem(body: Any) -> Optional[tuple]:
    """What the real API would refuse in a consultation message, as (code, message)."""
    if not isinstance(body, dict):
        return -201, "body is invalid"
    user_id = (body.get("recipient") or {}).get("user_id")
    message = body.get("message")
    if not isinstance(user_id, str) or not user_id:
        return -201, "user_id is invalid"
    if not isinstance(message, dict):
        return -201, "message is invalid"
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        return -201, "text is invalid"
    if len(text) > TEXT_LIMIT:
        return -210, "text exceeds the limit"
    attachment = message.get("attachment")
    return _attachment_problem(attachment) if attachment is not None else None


def _attachment_problem(attachment: Any) -> Optional[tuple]:
    buttons = (attachment.get("payload") or {}).get("buttons") or []
    if attachment.get("type") != "template" or not buttons or len(buttons) > MAX_BUTTONS:
        return -210, "buttons are invalid"
    for button in buttons:
        title = button.get("title")
        if not isinstance(title, str) or not title or len(title) > MAX_BUTTON_TITLE:
            return -210, "button title is invalid"
        if button.get("type") not in ("oa.query.show", "oa.query.hide", "oa.open.url"):
            return -201, "button type is invalid"
    return None
