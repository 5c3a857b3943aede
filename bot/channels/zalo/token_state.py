"""Where the Zalo OA token pair lives between refreshes: a file or Redis.

A refresh token works once, so every process answering one OA must read the
newest pair and refresh under one lock. On one machine a locked file does
that; replicas on several machines share nothing on disk, so they keep the
pair and the lock in Redis (``token_store: redis://…`` in credentials.yml).
Both stores offer the same three operations: read, write, lock.
"""
from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import tempfile
import time
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, Optional

logger = logging.getLogger(__name__)

# Compare-and-delete: a lock that expired and was taken by another process is
# not released by its former holder.
_RELEASE = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) else return 0 end"
)


class TokenStoreUnavailable(RuntimeError):
    """The store could not be read, written or locked."""


class FileTokenState:
    """The pair in a 0600 JSON file, replaced atomically, locked with flock."""

    def __init__(self, path: str):
        self.path = path
        self.lock_path = path + ".lock"

    def describe(self) -> str:
        return self.path

    async def read(self) -> Optional[Dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                return json.load(handle)
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            logger.warning("zalo: token file %s unreadable (%s); ignoring it", self.path, error)
            return None

    async def write(self, state: Dict[str, Any]) -> None:
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".zalo_token.", dir=directory)  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temporary, 0o600)
            # A reader sees the old file or the new one, never half of one.
            os.replace(temporary, self.path)
        except BaseException:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            raise

    @asynccontextmanager
    async def lock(self, timeout: float) -> AsyncIterator[None]:
        os.makedirs(os.path.dirname(os.path.abspath(self.lock_path)), exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"lock {self.lock_path} held too long") from None
                    await asyncio.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


class RedisTokenState:
    """The pair under one Redis key, and a lock key that expires on its own.

    The lock expires after ``hold_seconds`` so a process killed mid-refresh
    does not block the others for ever; that bound is longer than one
    refresh request can take. A client is opened per operation: refreshes
    happen about once a day, and the channel's event loop may be replaced
    (tests, reloads) between them.
    """

    def __init__(self, url: str, key: str, hold_seconds: float = 60):
        self.url = url
        self.key = key
        self.lock_key = key + ":lock"
        self.hold_seconds = hold_seconds

    def describe(self) -> str:
        return f"redis key {self.key}"

    def _client(self):
        import redis.asyncio as redis_asyncio  # Rasa's own dependency (lock store)

        return redis_asyncio.from_url(self.url, socket_timeout=5, socket_connect_timeout=5)

    async def _call(self, operation):
        import redis

        client = self._client()
        try:
            return await operation(client)
        except (redis.RedisError, OSError) as error:
            raise TokenStoreUnavailable(f"{self.describe()}: {error.__class__.__name__}") from error
        finally:
            await client.close()
            await client.connection_pool.disconnect()

    async def read(self) -> Optional[Dict[str, Any]]:
        raw = await self._call(lambda client: client.get(self.key))
        if raw is None:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            logger.warning("zalo: %s unreadable; ignoring it", self.describe())
            return None

    async def write(self, state: Dict[str, Any]) -> None:
        await self._call(lambda client: client.set(self.key, json.dumps(state)))

    @asynccontextmanager
    async def lock(self, timeout: float) -> AsyncIterator[None]:
        token = uuid.uuid4().hex
        hold_ms = int(self.hold_seconds * 1000)
        deadline = time.monotonic() + timeout
        while not await self._call(
            lambda client: client.set(self.lock_key, token, nx=True, px=hold_ms)
        ):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.lock_key} held too long")
            await asyncio.sleep(0.05)
        try:
            yield
        finally:
            try:
                await self._call(lambda client: client.eval(_RELEASE, 1, self.lock_key, token))
            except TokenStoreUnavailable:
                logger.warning("zalo: could not release %s; it expires in %d s",
                               self.lock_key, self.hold_seconds)


def token_state(token_file: str, token_store: Optional[str], app_id: str):
    """The store credentials.yml names: Redis when ``token_store`` is a URL, else the file."""
    if token_store:
        if not token_store.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("zalo channel: token_store must be a redis:// URL")
        return RedisTokenState(token_store, f"zalo:oa_token:{app_id}")
    return FileTokenState(token_file)
