"""The Zalo Official Account channel (docs/zalo.md).

    signature   compute_mac, authenticate: the webhook's MAC and replay window
    format      split_text, buttons, compose_messages, choice_from_events
    tokens      ZaloTokenManager: the one token refresher
    token_state where the token pair and its lock live: a file, or Redis for replicas
    output      ZaloOutput: the OA message API, retries, error codes
    input       ZaloInput: the webhook, events to Rasa messages

``bot.channels.zalo.ZaloInput`` is what credentials.yml names.
"""
from bot.channels.zalo.format import (
    CHOOSE_TEXT,
    MAX_BUTTON_TITLE,
    MAX_BUTTONS,
    MORE_CHOICES_TEXT,
    TEXT_LIMIT,
    button_title,
    choice_from_events,
    compose_messages,
    split_text,
    zalo_buttons,
)
from bot.channels.zalo.input import (
    FAILURE_REPLY,
    NON_TEXT_EVENTS,
    RECEIPT_EVENTS,
    TEXT_ONLY_REPLY,
    ZaloInput,
)
from bot.channels.zalo.output import (
    DEFAULT_API_BASE_URL,
    RETRYABLE_ERRORS,
    TOKEN_ERRORS,
    WINDOW_ERRORS,
    ZaloOutput,
)
from bot.channels.zalo.signature import (
    DEFAULT_MAX_SKEW_SECONDS,
    SIGNATURE_HEADER,
    authenticate,
    compute_mac,
)
from bot.channels.zalo.tokens import DEFAULT_OAUTH_BASE_URL, DEFAULT_TOKEN_FILE, ZaloTokenManager

__all__ = [
    "CHOOSE_TEXT", "DEFAULT_API_BASE_URL", "DEFAULT_MAX_SKEW_SECONDS", "DEFAULT_OAUTH_BASE_URL",
    "DEFAULT_TOKEN_FILE", "FAILURE_REPLY", "MAX_BUTTONS", "MAX_BUTTON_TITLE",
    "MORE_CHOICES_TEXT", "NON_TEXT_EVENTS", "RECEIPT_EVENTS", "RETRYABLE_ERRORS",
    "SIGNATURE_HEADER", "TEXT_LIMIT", "TEXT_ONLY_REPLY", "TOKEN_ERRORS", "WINDOW_ERRORS",
    "ZaloInput", "ZaloOutput", "ZaloTokenManager", "authenticate", "button_title",
    "choice_from_events", "compose_messages", "compute_mac", "split_text", "zalo_buttons",
]
