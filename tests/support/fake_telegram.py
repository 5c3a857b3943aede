"""A local stand-in for the Telegram Bot API, so no test needs the internet.

Runs an aiohttp server on a free loopback port in a thread with its own event
loop, so synchronous tests and other event loops can both talk to it. Every
call is recorded (method and parameters); switches make the next sendMessage
calls fail the way Telegram does (429 flood control, 403 blocked by the user).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from typing import Any, Callable, Dict, List, Optional

from aiohttp import web

BOT_USER = {
    "id": 123,
    "is_bot": True,
    "first_name": "Trợ lý dịch vụ công",
    "username": "dich_vu_cong_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

FAILURES = {
    429: {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    },
    403: {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
    400: {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
}


def _decode(value: Any) -> Any:
    # Form-encoded clients (python-telegram-bot) send objects as JSON strings.
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeTelegram:
    def __init__(self, token: str = "123:TEST"):
        self.token = token
        self.port = 0
        self._lock = threading.Lock()
        self._calls: List[Dict[str, Any]] = []
        self._failures: List[int] = []
        self._updates: List[Dict[str, Any]] = []
        self._webhook: Dict[str, Any] = {"url": ""}
        self._message_ids = itertools.count(1000)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._runner: Optional[web.AppRunner] = None
        self._thread: Optional[threading.Thread] = None

    # --- lifecycle ---------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> FakeTelegram:
        ready = threading.Event()
        errors: List[BaseException] = []

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._serve())
            except BaseException as error:  # reported to the starting thread
                errors.append(error)
                ready.set()
                return
            ready.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fake-telegram", daemon=True)
        self._thread.start()
        if not ready.wait(30) or errors:
            raise RuntimeError(f"fake Telegram did not start: {errors}")
        return self

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # A long-polling getUpdates must not hold up stop() for a minute.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=3.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._loop and self._thread and self._runner:
            # Clean up inside the loop, so open requests end instead of being destroyed.
            cleanup = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
            try:
                cleanup.result(timeout=15)
            except Exception:
                pass
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeTelegram:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # --- switches and queues -----------------------------------------------

    def fail_next(self, count: int, status: int = 429) -> None:
        """Answer the next ``count`` sendMessage calls with ``status`` (429, 403 or 400)."""
        with self._lock:
            self._failures.extend([status] * count)

    def queue_update(self, update: Dict[str, Any]) -> None:
        """An update for getUpdates (polling mode)."""
        with self._lock:
            self._updates.append(update)

    # --- what happened -----------------------------------------------------

    def calls(self, method: Optional[str] = None) -> List[Dict[str, Any]]:
        with self._lock:
            return [
                dict(call) for call in self._calls if method is None or call["method"] == method
            ]

    def sent(self, chat_id: Any = None) -> List[Dict[str, Any]]:
        """Parameters of the sendMessage calls that succeeded, optionally for one chat."""
        return [
            call["params"]
            for call in self.calls("sendMessage")
            if call["status"] == 200
            and (chat_id is None or str(call["params"].get("chat_id")) == str(chat_id))
        ]

    def wait_for(
        self, check: Callable[[], Any], timeout: float = 90.0, interval: float = 0.2
    ) -> Any:
        """Poll ``check`` until it returns something truthy (replies come from background tasks)."""
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls so far: {self.calls()}")
            time.sleep(interval)

    # --- the API -----------------------------------------------------------

    async def _params(self, request: web.Request) -> Dict[str, Any]:
        params: Dict[str, Any] = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                params.update({key: _decode(value) for key, value in form.items()})
        return params

    def _record(self, method: str, params: Dict[str, Any], status: int) -> None:
        with self._lock:
            self._calls.append(
                {"method": method, "params": params, "status": status, "time": time.time()}
            )

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        if request.match_info["token"] != self.token:
            self._record(method, params, 401)
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        if method == "sendMessage":
            with self._lock:
                failure = self._failures.pop(0) if self._failures else None
            if failure:
                self._record(method, params, failure)
                return web.json_response(FAILURES[failure], status=failure)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            self._record(method, params, 404)
            return web.json_response(
                {"ok": False, "error_code": 404, "description": "Not Found"}, status=404
            )
        result = await handler(params)
        self._record(method, params, 200)
        return web.json_response({"ok": True, "result": result})

    async def _api_getMe(self, params: Dict[str, Any]) -> Any:
        return BOT_USER

    async def _api_sendMessage(self, params: Dict[str, Any]) -> Any:
        chat_id = params.get("chat_id")
        try:
            chat_id = int(chat_id)
        except (TypeError, ValueError):
            pass
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            "text": params.get("text", ""),
        }

    async def _api_answerCallbackQuery(self, params: Dict[str, Any]) -> Any:
        return True

    async def _api_setWebhook(self, params: Dict[str, Any]) -> Any:
        with self._lock:
            self._webhook = {"url": params.get("url", "")}
        return True

    async def _api_deleteWebhook(self, params: Dict[str, Any]) -> Any:
        with self._lock:
            self._webhook = {"url": ""}
        return True

    async def _api_getWebhookInfo(self, params: Dict[str, Any]) -> Any:
        with self._lock:
            url = self._webhook["url"]
            pending = len(self._updates)
        return {"url": url, "has_custom_certificate": False, "pending_update_count": pending}

    async def _api_getUpdates(self, params: Dict[str, Any]) -> Any:
        offset = int(params.get("offset") or 0)
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), 2.0)
        while True:
            with self._lock:
                # An offset confirms every update before it, as on Telegram.
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = list(self._updates)
            if ready or time.monotonic() >= deadline:
                return ready
            await asyncio.sleep(0.1)
