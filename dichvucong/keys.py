"""The assistant's own secret and the keys derived from it.

One secret (``ASSISTANT_SECRET``, or the file ``var/assistant-secret`` that
``make run`` creates) yields a key per purpose, so replicas that share it
accept each other's web chat sessions. Without one, a random key per process
is used: fine for one process, and sessions simply restart after a restart.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets

from dichvucong.settings import settings

logger = logging.getLogger(__name__)

@functools.lru_cache(maxsize=1)
def assistant_secret() -> bytes:
    value = settings().channels.assistant_secret
    if not value:
        logger.warning("no ASSISTANT_SECRET: using a per-process key (one replica only)")
        value = secrets.token_urlsafe(32)
    return value.encode("utf-8")


def derive(purpose: str) -> bytes:
    return hmac.new(assistant_secret(), purpose.encode("utf-8"), hashlib.sha256).digest()


def conversation_token(conversation: str) -> str:
    """The proof a web chat page holds that ``conversation`` is its own."""
    mac = hmac.new(derive("webchat-session"), conversation.encode("utf-8"), hashlib.sha256)
    return mac.hexdigest()


def same_secret(given: object, expected: str) -> bool:
    """Constant-time comparison of a presented secret (header, token) with ours.

    Written once for every bearer token, header secret and session token:
    whatever the caller sent (None, a lone surrogate, bytes of another
    encoding) it gives False instead of raising, and its timing does not
    depend on how much of the secret was guessed right.
    """
    if not isinstance(given, str) or not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def owns_conversation(conversation: str, token: object) -> bool:
    return same_secret(token, conversation_token(conversation))
