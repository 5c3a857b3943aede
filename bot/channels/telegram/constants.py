"""Telegram limits, addresses and the channel's Vietnamese texts; the secret-token rule."""
from __future__ import annotations

import re

from bot.channels import common
from dichvucong.keys import same_secret

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
WEBHOOK_PATH = "/webhooks/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]
# Telegram's own rule for secret_token in setWebhook.
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

MAX_MESSAGE_LENGTH = 4096
MAX_CALLBACK_BYTES = 64
MAX_BUTTON_TITLE = 64
SEEN_UPDATES = 2048
CALLBACK_TABLE_SIZE = 4096

MAX_ATTEMPTS = 4
MAX_RETRY_WAIT = 30.0
BACKOFF_START = 1.0

START_PAYLOAD = "/greet"
HELP_PAYLOAD = "/list_services"
CONTACT_TEXT = "số điện thoại của tôi"
# A shared contact is a platform event, not words to classify: the model reads
# "số điện thoại của tôi" as request_human, which would abandon the lookup. The
# only use of a phone number here is the dossier lookup, so the intent is fixed:
# inside the lookup it answers the second factor, outside it starts the lookup.
CONTACT_INTENT = "check_dossier_status"
CONTACT_BUTTON = "📱 Chia sẻ số điện thoại của tôi"
CONTACT_PROMPT = (
    "Bạn có thể bấm nút bên dưới để chia sẻ số điện thoại của mình, "
    "hoặc nhập 4 chữ số cuối của số căn cước hay số điện thoại đã đăng ký."
)
TEXT_ONLY = common.TEXT_ONLY
FAILURE = common.FAILURE
NOT_OWN_CONTACT = (
    "Xin lỗi, để bảo vệ thông tin hồ sơ, tôi chỉ dùng số điện thoại của chính bạn. "
    "Bạn vui lòng bấm nút \"📱 Chia sẻ số điện thoại của tôi\", hoặc nhập 4 chữ số cuối "
    "của số căn cước hay số điện thoại người nộp hồ sơ."
)
EXPIRED_BUTTON = (
    "Nút bấm này đã hết hạn. Bạn vui lòng gõ lại câu hỏi hoặc gõ /help để xem các thủ tục."
)
BUTTON_PROMPT = "Bạn vui lòng chọn một mục bên dưới:"

# Message kinds we cannot read; anything else without text (service messages
# such as a member joining) is ignored silently.
UNSUPPORTED_KINDS = (
    "sticker", "photo", "voice", "video", "video_note", "audio", "document",
    "animation", "location", "venue", "poll", "dice", "game", "story",
)


def check_secret_token(secret: str) -> str:
    """``secret`` if Telegram accepts it as a webhook secret; ValueError otherwise.

    The one place this rule lives: the channel (credentials) and the admin
    command (environment) both call it.
    """
    if not SECRET_PATTERN.match(secret or ""):
        raise ValueError(
            "telegram: secret_token may only contain A-Z, a-z, 0-9, _ and - (1-256 chars)"
        )
    return secret


def secret_matches(given: str, secret: str) -> bool:
    """Constant-time comparison of the header Telegram sent with our secret."""
    return same_secret(given, secret)
