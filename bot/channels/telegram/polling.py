"""Polling mode, for a machine Telegram cannot reach (no public HTTPS address).

    TELEGRAM_BOT_TOKEN=... TELEGRAM_SECRET_TOKEN=... python -m bot.channels.telegram.polling

Long-polls getUpdates and posts each update, unchanged, to the local Rasa
server's /webhooks/telegram/webhook with the secret header: webhook and polling
modes then run exactly the same channel code. The offset moves past an update
only once Rasa has accepted it, so an update is not lost while Rasa restarts.

Environment: TELEGRAM_BOT_TOKEN, TELEGRAM_SECRET_TOKEN (the value the Rasa
server's credentials use), TELEGRAM_API_BASE_URL (optional), RASA_URL
(default http://127.0.0.1:5005), TELEGRAM_POLL_TIMEOUT (seconds, default 30).
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Any, Dict, Optional

import httpx
from telegram import Bot
from telegram.error import Conflict, InvalidToken, NetworkError, TelegramError

from bot.channels.telegram.admin import AdminError, base_url, bot_token, explain, secret_token
from bot.channels.telegram.constants import ALLOWED_UPDATES, SECRET_HEADER, WEBHOOK_PATH
from dichvucong.settings import TelegramToolSettings, settings

logger = logging.getLogger("bot.channels.telegram.polling")
logging.getLogger("httpx").setLevel(logging.WARNING)

MAX_BACKOFF = 60.0


class Poller:
    def __init__(
        self,
        bot: Bot,
        rasa_url: str,
        secret: str,
        poll_timeout: int = 30,
        backoff: float = 1.0,
    ):
        self.bot = bot
        self.webhook = rasa_url.rstrip("/") + WEBHOOK_PATH
        self.secret = secret
        self.poll_timeout = poll_timeout
        self.first_backoff = backoff
        self.offset: Optional[int] = None
        self.stopping = asyncio.Event()

    def stop(self) -> None:
        self.stopping.set()

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        except asyncio.TimeoutError:
            pass

    async def _until_stopped(self, coroutine: Any) -> Any:
        """Run ``coroutine``; None if a stop request came first (a long poll can take 30 s)."""
        work = asyncio.ensure_future(coroutine)
        stop = asyncio.ensure_future(self.stopping.wait())
        done, _ = await asyncio.wait({work, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if work not in done:
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
            return None
        return work.result()

    async def _forward(self, client: httpx.AsyncClient, update: Dict[str, Any]) -> bool:
        """Post one update to Rasa, retrying until Rasa takes it (True) or we are stopped."""
        backoff = self.first_backoff
        while not self.stopping.is_set():
            try:
                reply = await client.post(
                    self.webhook, json=update, headers={SECRET_HEADER: self.secret}
                )
                if reply.status_code < 400:
                    return True
                if reply.status_code == 401:
                    logger.error(
                        "Rasa từ chối mã bí mật: TELEGRAM_SECRET_TOKEN phải trùng với "
                        "secret_token trong credentials của máy chủ Rasa."
                    )
                elif reply.status_code == 404:
                    logger.error(
                        "Máy chủ Rasa tại %s chưa bật kênh Telegram (thiếu "
                        "bot.channels.telegram.TelegramInput trong credentials).", self.webhook
                    )
                elif 400 <= reply.status_code < 500:
                    logger.warning("Rasa không nhận cập nhật %s (HTTP %s), bỏ qua.",
                                   update.get("update_id"), reply.status_code)
                    return True
                else:
                    logger.warning("Rasa trả lỗi HTTP %s, thử lại.", reply.status_code)
            except httpx.HTTPError as error:
                logger.warning("Chưa gửi được tới Rasa (%s): %s; thử lại sau %.0f giây.",
                               self.webhook, error, backoff)
            await self._pause(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)
        return False

    async def _delete_webhook(self) -> None:
        """getUpdates is refused while a webhook is set; retried while the network is down."""
        backoff = self.first_backoff
        while not self.stopping.is_set():
            try:
                await self.bot.initialize()  # getMe: a wrong token fails here, clearly
                await self.bot.delete_webhook(drop_pending_updates=False)
                return
            except InvalidToken:
                raise
            except (NetworkError, TelegramError) as error:
                logger.warning("Chưa xóa được webhook: %s; thử lại sau %.0f giây.", error, backoff)
                await self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)

    async def _confirm(self) -> None:
        # Telegram forgets updates only when a later getUpdates carries the offset;
        # without this, the last batch would be delivered again at the next start.
        if self.offset is None:
            return
        try:
            await self.bot.get_updates(offset=self.offset, timeout=0, limit=1)
        except Exception as error:
            logger.info("Chưa xác nhận được các cập nhật cuối với Telegram: %s", error)

    async def run(self) -> None:
        await self._delete_webhook()
        try:
            await self._poll()
        finally:
            await self._confirm()

    async def _poll(self) -> None:
        backoff = self.first_backoff
        async with httpx.AsyncClient(timeout=30) as client:
            while not self.stopping.is_set():
                try:
                    updates = await self._until_stopped(
                        self.bot.get_updates(
                            offset=self.offset,
                            timeout=self.poll_timeout,
                            allowed_updates=ALLOWED_UPDATES,
                        )
                    )
                except InvalidToken:
                    raise
                except Conflict as error:
                    # Another poller, or a webhook set again by someone else.
                    logger.warning("Telegram báo xung đột: %s", error.message)
                    await self._pause(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                except (NetworkError, TelegramError) as error:
                    logger.warning("Lỗi khi lấy tin nhắn từ Telegram: %s; thử lại sau %.0f giây.",
                                   error, backoff)
                    await self._pause(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF)
                    continue
                if updates is None:
                    break
                backoff = self.first_backoff
                for update in updates:
                    if not await self._forward(client, update.to_dict()):
                        break
                    self.offset = update.update_id + 1


async def main_async(poll_timeout: int) -> int:
    try:
        token, secret = bot_token(), secret_token()
    except AdminError as error:
        print(f"Lỗi: {error}", file=sys.stderr)
        return 2
    rasa_url = settings().rasa_api.url
    bot = Bot(token, base_url=base_url())
    poller = Poller(bot, rasa_url, secret, poll_timeout)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, poller.stop)
        except (NotImplementedError, RuntimeError):  # not the main thread, or Windows
            pass
    print(f"Đang nhận tin nhắn Telegram (polling) và chuyển tới {poller.webhook}. "
          "Nhấn Ctrl-C để dừng.", flush=True)
    try:
        await poller.run()
    except TelegramError as error:
        print(f"Lỗi: {explain(error)}", file=sys.stderr)
        return 2
    finally:
        await bot.shutdown()
    print("Đã dừng nhận tin nhắn Telegram.", flush=True)
    return 0


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        poll_timeout = int(TelegramToolSettings.from_env().poll_timeout)
    except ValueError:
        print("Lỗi: TELEGRAM_POLL_TIMEOUT phải là số giây, ví dụ 30.", file=sys.stderr)
        return 2
    try:
        return asyncio.run(main_async(poll_timeout))
    except KeyboardInterrupt:
        print("Đã dừng nhận tin nhắn Telegram.", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main())
