"""Register or remove the Telegram webhook, or show what Telegram knows about the bot.

    python -m bot.channels.telegram.admin set-webhook --url https://host/webhooks/telegram/webhook
    python -m bot.channels.telegram.admin delete-webhook
    python -m bot.channels.telegram.admin info

Reads TELEGRAM_BOT_TOKEN, TELEGRAM_SECRET_TOKEN (set-webhook) and
TELEGRAM_API_BASE_URL (optional). Registering is an explicit command, never a
side effect of starting the server: a server must start without internet, and
two servers must not fight over one bot's webhook.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any, Callable, Dict, List, Optional

from telegram import Bot
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, TelegramError

from bot.channels.telegram.constants import (
    ALLOWED_UPDATES,
    DEFAULT_BASE_URL,
    WEBHOOK_PATH,
    check_secret_token,
)
from dichvucong.settings import TelegramToolSettings

# httpx logs request URLs, which contain the bot token, at INFO.
logging.getLogger("httpx").setLevel(logging.WARNING)


class AdminError(Exception):
    """A problem the operator can fix; the message is shown as is."""


def env(name: str, missing: str) -> str:
    """A Telegram tool setting (read by ``TelegramToolSettings``), or AdminError."""
    field = {"TELEGRAM_BOT_TOKEN": "bot_token", "TELEGRAM_SECRET_TOKEN": "secret_token"}[name]
    value = getattr(TelegramToolSettings.from_env(), field)
    if not value:
        raise AdminError(missing)
    return value


def bot_token() -> str:
    return env(
        "TELEGRAM_BOT_TOKEN",
        "Chưa có TELEGRAM_BOT_TOKEN. Hãy lấy token từ @BotFather trên Telegram rồi chạy: "
        "export TELEGRAM_BOT_TOKEN=<token>",
    )


def secret_token() -> str:
    secret = env(
        "TELEGRAM_SECRET_TOKEN",
        "Chưa có TELEGRAM_SECRET_TOKEN. Hãy tạo một chuỗi bí mật, ví dụ: export "
        "TELEGRAM_SECRET_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')",
    )
    try:
        return check_secret_token(secret)
    except ValueError:
        raise AdminError(
            "TELEGRAM_SECRET_TOKEN chỉ được chứa chữ cái không dấu, chữ số, dấu _ và - "
            "(tối đa 256 ký tự)."
        ) from None


def base_url() -> str:
    return TelegramToolSettings.from_env().base_url or DEFAULT_BASE_URL


def make_bot(token: Optional[str] = None) -> Bot:
    return Bot(token or bot_token(), base_url=base_url())


def explain(error: Exception) -> str:
    """A Vietnamese sentence for a failed Bot API call; never shows the token."""
    if isinstance(error, InvalidToken):
        return "Telegram không chấp nhận TELEGRAM_BOT_TOKEN. Hãy kiểm tra lại token trong @BotFather."
    if isinstance(error, (BadRequest, Forbidden)):
        return f"Telegram từ chối yêu cầu: {error.message}"
    if isinstance(error, NetworkError):
        return (
            "Không kết nối được tới máy chủ Telegram "
            f"({base_url().split('/bot')[0]}): {error.message}. Hãy kiểm tra kết nối mạng."
        )
    if isinstance(error, TelegramError):
        return f"Telegram từ chối yêu cầu: {error.message}"
    return f"Lỗi không mong đợi: {error}"


async def set_webhook(url: str, drop_pending: bool) -> List[str]:
    if not url.startswith("https://"):
        raise AdminError("Telegram chỉ gửi webhook tới địa chỉ HTTPS, ví dụ: https://ten-mien" + WEBHOOK_PATH)
    secret = secret_token()
    notes = []
    if not url.rstrip("/").endswith(WEBHOOK_PATH):
        notes.append(f"Lưu ý: địa chỉ của trợ lý thường kết thúc bằng {WEBHOOK_PATH}.")
    async with make_bot() as bot:
        await bot.set_webhook(
            url=url,
            secret_token=secret,
            allowed_updates=ALLOWED_UPDATES,
            drop_pending_updates=drop_pending,
        )
    return notes + [f"Đã đăng ký webhook: {url}",
                    "Telegram sẽ gửi kèm TELEGRAM_SECRET_TOKEN; máy chủ Rasa phải dùng đúng giá trị này."]


async def delete_webhook(drop_pending: bool) -> List[str]:
    async with make_bot() as bot:
        await bot.delete_webhook(drop_pending_updates=drop_pending)
    return ["Đã xóa webhook. Có thể dùng chế độ polling: python -m bot.channels.telegram.polling"]


async def info() -> List[str]:
    async with make_bot() as bot:
        me = await bot.get_me()
        hook = await bot.get_webhook_info()
    lines = [f"Bot: @{me.username} ({me.first_name}, id {me.id})"]
    if hook.url:
        lines.append(f"Webhook: {hook.url}")
    else:
        lines.append("Webhook: chưa đăng ký (dùng chế độ polling hoặc chạy set-webhook)")
    lines.append(f"Cập nhật đang chờ: {hook.pending_update_count}")
    if hook.last_error_message:
        lines.append(f"Lỗi gần nhất Telegram gặp khi gọi webhook: {hook.last_error_message}")
    return lines


def run(command: Callable[..., Any], **kwargs: Any) -> int:
    try:
        lines = asyncio.run(command(**kwargs))
    except AdminError as error:
        print(f"Lỗi: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        print(f"Lỗi: {explain(error)}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.channels.telegram.admin",
        description="Quản lý webhook Telegram của trợ lý (TELEGRAM_BOT_TOKEN, "
        "TELEGRAM_SECRET_TOKEN, TELEGRAM_API_BASE_URL).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    hook = commands.add_parser("set-webhook", help="đăng ký địa chỉ webhook với Telegram")
    hook.add_argument("--url", required=True, help=f"https://ten-mien{WEBHOOK_PATH}")
    hook.add_argument("--drop-pending-updates", action="store_true",
                      help="bỏ các tin nhắn Telegram còn giữ chưa giao")
    delete = commands.add_parser("delete-webhook", help="xóa webhook (để chạy polling)")
    delete.add_argument("--drop-pending-updates", action="store_true",
                        help="bỏ các tin nhắn Telegram còn giữ chưa giao")
    commands.add_parser("info", help="thông tin bot và webhook (getMe, getWebhookInfo)")
    args = parser.parse_args(argv)

    actions: Dict[str, Callable[[], int]] = {
        "set-webhook": lambda: run(set_webhook, url=args.url, drop_pending=args.drop_pending_updates),
        "delete-webhook": lambda: run(delete_webhook, drop_pending=args.drop_pending_updates),
        "info": lambda: run(info),
    }
    return actions[args.command]()


if __name__ == "__main__":
    sys.exit(main())
