"""What the messaging channels (Telegram, Zalo) share.

* fitting and splitting long texts, measured in UTF-16 code units (Telegram's
  unit, and the larger of the usual counts, so an emoji never pushes a piece
  over a platform's limit);
* button titles cut to a platform's limit;
* :class:`BackgroundTurns`: webhooks are answered at once and the turn runs in
  a task that is kept referenced and drained when the server stops;
* :class:`RecentKeys` and :class:`SeenDeliveries`: platforms resend a delivery
  they think was lost; the memory is the cheap first check, the shared table
  (``dichvucong.deliveries``) the one that holds across replicas and restarts;
* :func:`retry`: one backoff loop for the outgoing API calls;
* the Vietnamese replies both channels give.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
import unicodedata
from collections import OrderedDict
from typing import Any, Awaitable, Callable, Coroutine, Hashable, List, Optional, Set, TypeVar

from dichvucong.deliveries import Deliveries
from dichvucong.text import normalize

logger = logging.getLogger(__name__)

T = TypeVar("T")

TEXT_ONLY = (
    "Xin lỗi, hiện tôi chỉ đọc được tin nhắn chữ, chưa xem được hình ảnh, nhãn dán, "
    "tin nhắn thoại, tệp hay vị trí. Bạn vui lòng gõ câu hỏi, ví dụ: \"lệ phí làm căn cước\"."
)
FAILURE = "Xin lỗi, hệ thống đang gặp sự cố. Bạn vui lòng thử lại sau ít phút."

SEPARATORS = ("\n\n", "\n", " ")
_ENTITY_TAIL = re.compile(r"&[#A-Za-z0-9]*$")


# --- text ------------------------------------------------------------------


def units(text: str) -> int:
    """Length in UTF-16 code units: a character outside the BMP counts twice."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def fit(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _hard_cut(text: str, end: int, html_entities: bool) -> int:
    """A cut at or before ``end`` that splits no letter from its marks (nor an entity)."""
    if html_entities:
        start = max(0, end - 8)
        tail = _ENTITY_TAIL.search(text[start:end])
        if tail and start + tail.start() > 0:
            end = start + tail.start()
    while 0 < end < len(text) and unicodedata.combining(text[end]):
        end -= 1
    return end or 1


def split_text(text: str, limit: int, *, html_entities: bool = False) -> List[str]:
    """``text`` in pieces of at most ``limit`` UTF-16 units.

    A cut falls on a paragraph break, else a line break, else a space, in the
    last two thirds of the window (a cut earlier would leave a stub of a
    message); then on any space; only a single word longer than ``limit`` (a
    URL) is cut inside. ``html_entities=True`` is for escaped HTML: a hard cut
    then never splits an entity such as ``&amp;``.
    """
    pieces: List[str] = []
    rest = (text or "").strip()
    while rest:
        end = fit(rest, limit)
        if end == len(rest):
            pieces.append(rest)
            break
        window = rest[: end + 1]  # a separator right after the limit is a clean cut too
        cut = -1
        for separator in SEPARATORS:
            position = window.rfind(separator)
            if position > end // 3:
                cut = position
                break
        if cut <= 0:
            cut = window.rfind(" ")
        if cut <= 0:
            cut = _hard_cut(rest, end, html_entities)
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip()
    return pieces


def button_title(title: Any, limit: int, empty: str = "") -> str:
    """``title`` normalised and cut to ``limit`` characters with an ellipsis."""
    title = normalize(str(title or "")) or empty
    if len(title) > limit:
        title = title[: limit - 1].rstrip() + "…"
    return title


# --- background turns ------------------------------------------------------


class BackgroundTurns:
    """Conversation turns running after their webhook was answered.

    asyncio keeps only weak references to tasks, so a task nobody holds can be
    collected mid-turn; this set holds them until they finish. An exception
    that escapes a turn is logged here and goes no further.
    """

    def __init__(self, channel: str):
        self.channel = channel
        self._tasks: Set[asyncio.Task] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def start(self, turn: Coroutine[Any, Any, Any]) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(turn)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s: a background turn failed", self.channel, exc_info=task.exception())

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait up to ``timeout`` seconds for the running turns (server stop)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)


# --- recent keys -----------------------------------------------------------


class RecentKeys:
    """Keys seen recently: the last ``size``, and within ``ttl`` seconds if given.

    Telegram resends an update with the same update_id, Zalo a delivery with
    the same msg_id. One process only: :class:`SeenDeliveries` puts the shared
    table behind it.
    """

    def __init__(self, size: int, ttl: Optional[float] = None):
        self.size = size
        self.ttl = ttl
        self._expiry: OrderedDict[Hashable, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expiry)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._expiry

    def seen(self, key: Hashable, now: Optional[float] = None) -> bool:
        """True if ``key`` was seen (and has not expired); otherwise remembers it."""
        now = time.monotonic() if now is None else now
        # Insertion order is expiry order: the oldest entries are at the front.
        while self._expiry:
            oldest, expiry = next(iter(self._expiry.items()))
            if expiry > now and len(self._expiry) < self.size:
                break
            del self._expiry[oldest]
        if key in self._expiry:
            return True
        self._expiry[key] = now + self.ttl if self.ttl is not None else float("inf")
        return False


class SeenDeliveries:
    """Has a delivery been accepted before, by this process, another replica, or before a restart?

    The in-memory :class:`RecentKeys` answers repeats seen here without a
    query; anything new is inserted into ``channel_deliveries``
    (:class:`dichvucong.deliveries.Deliveries`, in a thread: the calls block).
    When the database cannot be reached in time the memory alone decides and
    a warning is logged: an event is never dropped, nor answered with a 5xx,
    because the database is down. Rows older than ``retention`` seconds are
    pruned at most once an hour.
    """

    PRUNE_EVERY = 3600.0

    def __init__(
        self,
        channel: str,
        size: int,
        retention: float,
        store: Optional[Deliveries] = None,
        database_url: Optional[str] = None,
        timeout: float = 1.5,
    ):
        self.channel = channel
        self.retention = retention
        self.timeout = timeout
        self.recent = RecentKeys(size, ttl=retention)
        self._store = store
        self._database_url = database_url
        self._degraded = False
        self._next_prune = 0.0

    @property
    def store(self) -> Deliveries:
        # Built on first use: a channel that never receives a webhook opens nothing.
        if self._store is None:
            self._store = Deliveries(self._database_url)
        return self._store

    async def first_time(self, key: str) -> bool:
        """True for a delivery not accepted before (and now recorded as accepted)."""
        if self.recent.seen(key):
            return False
        now = dt.datetime.now(dt.timezone.utc)
        try:
            first = await asyncio.wait_for(
                asyncio.to_thread(self.store.first_time, key, self.channel, now), self.timeout
            )
        except Exception as error:  # unreachable, no table, locked, too slow
            self._unavailable(error)
            return True
        if self._degraded:
            self._degraded = False
            logger.info("%s: delivery store reachable again", self.channel)
        await self._maybe_prune(now)
        return first

    def _unavailable(self, error: BaseException) -> None:
        if not self._degraded:
            logger.warning("%s: delivery store unavailable (%s); duplicates are caught by this "
                           "process's memory only until it is back", self.channel,
                           error.__class__.__name__)
        self._degraded = True

    async def _maybe_prune(self, now: dt.datetime) -> None:
        if time.monotonic() < self._next_prune:
            return
        self._next_prune = time.monotonic() + self.PRUNE_EVERY
        older_than = now - dt.timedelta(seconds=self.retention)
        try:
            await asyncio.wait_for(asyncio.to_thread(self.store.prune, older_than), 10)
        except Exception:
            logger.warning("%s: old deliveries not pruned", self.channel, exc_info=True)


# --- retries ---------------------------------------------------------------


class Retryable(Exception):
    """An attempt failed in a way that may pass if repeated.

    ``after`` is the wait the platform asked for (flood control); without it
    the backoff applies. Once the attempts are spent :func:`retry` raises the
    last one, with ``attempts`` set.
    """

    def __init__(self, reason: str, after: Optional[float] = None):
        super().__init__(reason)
        self.reason = reason
        self.after = after
        self.attempts = 0


async def retry(
    attempt: Callable[[], Awaitable[T]],
    attempts: int,
    backoff: float,
    cap: float = 30.0,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> T:
    """``attempt()`` until it returns, at most ``attempts`` times.

    Only :class:`Retryable` is retried; waits start at ``backoff`` and double,
    and no wait (the platform's own included) exceeds ``cap`` seconds.
    """
    delay = backoff
    number = 0
    while True:
        number += 1
        try:
            return await attempt()
        except Retryable as error:
            error.attempts = number
            if number >= attempts:
                raise
            if error.after is not None:
                wait = error.after
            else:
                wait, delay = delay, delay * 2
            await sleep(min(max(wait, 0.0), cap))
