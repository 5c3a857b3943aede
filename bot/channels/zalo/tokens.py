"""The Zalo OA access token: one holder, one refresher, shared through a locked store."""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Any, Dict, Optional

import aiohttp

from bot.channels.zalo.token_state import TokenStoreUnavailable, token_state

logger = logging.getLogger(__name__)

DEFAULT_OAUTH_BASE_URL = "https://oauth.zaloapp.com"
DEFAULT_TOKEN_FILE = "var/zalo_token.json"
TOKEN_PATH = "/v4/oa/access_token"

def _fingerprint(secret: Optional[str]) -> str:
    return hashlib.sha256((secret or "").encode("utf-8")).hexdigest()


class ZaloTokenManager:
    """The one holder of the OA access token, and the only code that refreshes it.

    A refresh token works once: the refresh returns a new pair and the old
    refresh token is dead. Two refreshes racing with the same refresh token
    leave one of them with a dead chain, so refreshes are serialised inside
    the process (asyncio.Lock) and across processes (the store's lock: flock
    on a side file, or a Redis key for replicas on several machines), and
    each refresh first re-reads the store: if another worker already
    refreshed, its token is used instead of refreshing again.

    The stored pair outlives restarts (the refresh token in credentials.yml
    is spent after the first refresh). It records a fingerprint of the
    refresh token from credentials it descends from, so new tokens put in
    credentials.yml after a re-authorisation take precedence over it.
    """

    def __init__(
        self,
        app_id: str,
        app_secret: Optional[str],
        access_token: str,
        refresh_token: Optional[str],
        oauth_base_url: str = DEFAULT_OAUTH_BASE_URL,
        token_file: str = DEFAULT_TOKEN_FILE,
        refresh_margin_seconds: float = 600,
        lock_timeout_seconds: float = 30,
        http_timeout_seconds: float = 15,
        token_store: Optional[str] = None,
    ):
        self.app_id = app_id
        self.app_secret = app_secret or ""
        self.oauth_url = oauth_base_url.rstrip("/") + TOKEN_PATH
        self.state = token_state(token_file, token_store, app_id)
        self.refresh_margin = refresh_margin_seconds
        self.lock_timeout = lock_timeout_seconds
        self.http_timeout = http_timeout_seconds
        self.refresh_count = 0
        self._origin = _fingerprint(refresh_token)
        self._access = access_token
        self._refresh: Optional[str] = refresh_token
        self._expires_at: Optional[float] = None  # unknown for tokens from credentials
        self._lock = asyncio.Lock()
        self._loaded = False
        self._retry_load_at = 0.0

    @property
    def can_refresh(self) -> bool:
        return bool(self._refresh and self.app_secret)

    async def _read_stored(self) -> Optional[Dict[str, Any]]:
        stored = await self.state.read()
        if not isinstance(stored, dict) or not stored.get("access_token"):
            return None
        if stored.get("origin") != self._origin:
            logger.info("zalo: credentials hold new tokens; %s is superseded",
                        self.state.describe())
            return None
        return stored

    async def _load_once(self) -> None:
        # Read lazily: the Redis store needs the channel's event loop.
        if self._loaded or time.monotonic() < self._retry_load_at:
            return
        try:
            stored = await self._read_stored()
        except TokenStoreUnavailable as error:
            # Not on every message: a store that is down must not slow replies.
            self._retry_load_at = time.monotonic() + 30
            logger.error("zalo: token store unavailable (%s); using the token from "
                         "credentials until it is back", error)
            return
        self._loaded = True
        if stored:
            self._adopt(stored)

    def _adopt(self, stored: Dict[str, Any]) -> None:
        self._access = stored["access_token"]
        self._refresh = stored.get("refresh_token") or self._refresh
        expires_at = stored.get("expires_at")
        self._expires_at = float(expires_at) if isinstance(expires_at, (int, float)) else None

    def _expiring(self, expires_at: Optional[float]) -> bool:
        return expires_at is not None and time.time() >= expires_at - self.refresh_margin

    async def access_token(self) -> str:
        """The current access token, refreshed first when it is about to expire."""
        await self._load_once()
        if self.can_refresh and self._expiring(self._expires_at):
            await self.refresh(rejected=None)
        return self._access

    async def refresh(self, rejected: Optional[str]) -> Optional[str]:
        """A working access token after ``rejected`` was refused, or None.

        ``rejected=None`` is a proactive refresh of a token that still works.
        """
        await self._load_once()
        async with self._lock:
            if rejected is not None and self._access != rejected:
                return self._access  # refreshed by another coroutine meanwhile
            if rejected is None and not self._expiring(self._expires_at):
                return self._access  # likewise, for a proactive refresh
            if not self.can_refresh:
                logger.error("zalo: the access token needs a refresh but refresh_token or "
                             "app_secret is not configured")
                return None
            try:
                async with self.state.lock(self.lock_timeout):
                    return await self._refresh_locked(rejected)
            except TimeoutError:
                logger.error("zalo: another process holds the token lock; refresh skipped")
                return None
            except TokenStoreUnavailable as error:
                # Refreshing without the store would spend the refresh token
                # where no other process can find its successor.
                logger.error("zalo: token store unavailable (%s); refresh skipped", error)
                return None

    async def _refresh_locked(self, rejected: Optional[str]) -> Optional[str]:
        stored = await self._read_stored()
        if stored:
            expires_at = stored.get("expires_at")
            fresh = not self._expiring(expires_at if isinstance(expires_at, (int, float)) else None)
            if fresh and (rejected is None or stored["access_token"] != rejected):
                self._adopt(stored)  # another worker refreshed: its refresh token is the live one
                return self._access
            # The file holds the newest refresh token, even when ours looks the same.
            self._refresh = stored.get("refresh_token") or self._refresh
        issued = await self._request(self._refresh or "")
        if issued is None:
            return None
        state = {
            "access_token": issued["access_token"],
            "refresh_token": issued.get("refresh_token") or self._refresh,
            "expires_at": time.time() + issued["expires_in"],
            "refreshed_at": time.time(),
            "origin": self._origin,
        }
        self.refresh_count += 1
        self._adopt(state)
        try:
            await self.state.write(state)
        except (OSError, TokenStoreUnavailable):
            logger.exception("zalo: NEW TOKENS NOT SAVED to %s; they live only in this process "
                             "until it stops", self.state.describe())
        logger.info("zalo: access token refreshed (valid %d s)", issued["expires_in"])
        return self._access

    async def _request(self, refresh_token: str) -> Optional[Dict[str, Any]]:
        # One attempt only: if the request reached Zalo, the refresh token is
        # spent whatever happened to the answer, and a retry would be refused.
        form = {"app_id": self.app_id, "grant_type": "refresh_token", "refresh_token": refresh_token}
        try:
            timeout = aiohttp.ClientTimeout(total=self.http_timeout)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(
                    self.oauth_url, data=form, headers={"secret_key": self.app_secret}
                ) as answer:
                    status = answer.status
                    body = await answer.json(content_type=None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            logger.error("zalo: token refresh failed: %s", error.__class__.__name__)
            return None
        if not isinstance(body, dict) or not body.get("access_token"):
            # Zalo reports OAuth errors with error/error_name/error_description,
            # sometimes with HTTP 200, so the body decides, not the status.
            details = body if isinstance(body, dict) else {}
            logger.error(
                "zalo: token refresh refused (HTTP %s, error %s %s: %s)",
                status, details.get("error"), details.get("error_name"),
                details.get("error_description") or details.get("message"),
            )
            return None
        try:
            expires_in = int(str(body.get("expires_in") or 3600))
        except ValueError:
            expires_in = 3600
        return {
            "access_token": str(body["access_token"]),
            "refresh_token": str(body["refresh_token"]) if body.get("refresh_token") else None,
            "expires_in": expires_in,
        }

