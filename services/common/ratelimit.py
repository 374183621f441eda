"""Rate limits over the `limits` library: sliding windows, in memory or in Redis.

A limit is a string such as ``"60/minute"``. In memory by default (one process); with a
storage URL (``async+redis://127.0.0.1:6379``) the counters are shared by every replica.
The sliding-window counter keeps two numbers per key, whatever the limit's size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from services.common.errors import AppError


class TooManyRequests(AppError):
    status, code, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after: float, **extra: Any) -> None:
        seconds = max(1, math.ceil(retry_after))
        super().__init__(
            detail, headers={"Retry-After": str(seconds)}, retry_after=seconds, **extra
        )


@lru_cache(maxsize=64)
def limit(text: str) -> RateLimitItem:
    """``"60/minute"`` parsed (once)."""
    return parse(text)


@dataclass(frozen=True)
class Quota:
    """Where a key stands against a rule after a hit: what the RateLimit header fields say.

    `remaining` is what is left in the window, `reset` the seconds until the window has room
    again (refused) or starts afresh, `retry_after` None when the hit was allowed."""

    limit: int
    window_seconds: int
    remaining: int
    reset: float
    retry_after: float | None

    @property
    def allowed(self) -> bool:
        return self.retry_after is None


class _LocalWindows:
    """Sliding-window counters of one process: per key the current and the previous fixed
    window's counts, the previous weighted by how much of it still overlaps the sliding
    window (the approximation `limits`' sliding-window counter makes, too).

    `limits`' own in-memory storage rescans every key after each hit, so its cost grows with
    the number of keys: a rating intake sees one key per device. Here a hit is O(1), and
    expired keys are dropped in one sweep when the map has grown."""

    SWEEP_AT = 100_000

    def __init__(self) -> None:
        self._windows: dict[tuple[Any, ...], list[float]] = {}
        self._sweep_at = self.SWEEP_AT

    def hit(self, item: RateLimitItem, keys: tuple[str, ...], cost: int) -> float | None:
        return self.take(item, keys, cost)[0]

    def take(
        self, item: RateLimitItem, keys: tuple[str, ...], cost: int
    ) -> tuple[float | None, float, float]:
        """`(retry_after, weighted count after the hit, seconds until the window ends)`."""
        span = float(item.get_expiry())
        now = time.monotonic()
        index = now // span
        # The rule's size and span beside the keys (`limits`' own key string costs more to
        # build than the rest of the hit).
        key = (item.amount, span, *keys)
        window = self._windows.get(key)
        if window is None or window[0] < index - 1:
            window = [index, 0.0, 0.0, span]
        elif window[0] == index - 1:
            window = [index, window[2], 0.0, span]
        into = (now - index * span) / span  # how far into the current window, 0..1
        previous, current = window[1], window[2]
        weighted = previous * (1 - into) + current
        ends_in = (index + 1) * span - now
        if weighted + cost > item.amount:
            self._windows[key] = window
            room = item.amount - current - cost
            if room < 0 or previous <= 0:  # only the next window has room
                return ends_in, weighted, ends_in
            # The previous window's share shrinks as time passes: until it fits.
            return max(0.0, (1 - room / previous) - into) * span, weighted, ends_in
        window[2] = current + cost
        self._windows[key] = window
        if len(self._windows) > self._sweep_at:
            self._sweep(now)
        return None, weighted + cost, ends_in

    def _sweep(self, now: float) -> None:
        # A key whose last count is two windows old counts nothing any more.
        self._windows = {
            key: window
            for key, window in self._windows.items()
            if window[0] >= now // window[3] - 1
        }
        self._sweep_at = max(self.SWEEP_AT, 2 * len(self._windows))


class RateLimiter:
    """In memory (one process) by default; with a storage URL, `limits` over that storage,
    shared by every replica."""

    def __init__(self, storage_url: str | None = None) -> None:
        self._local = None if storage_url else _LocalWindows()
        if storage_url:
            storage: Storage = storage_from_string(storage_url)
            self._limiter = SlidingWindowCounterRateLimiter(storage)

    async def hit(self, rule: str, *keys: str, cost: int = 1) -> float | None:
        """Count `cost` against `rule` for `keys`: None when allowed, else the seconds until
        the window has room again (nothing is counted for a refused hit)."""
        item = limit(rule)
        if self._local is not None:
            retry_after = self._local.hit(item, keys, cost)
            return None if retry_after is None else max(1.0, retry_after)
        if await self._limiter.hit(item, *keys, cost=cost):
            return None
        stats = await self._limiter.get_window_stats(item, *keys)
        return max(1.0, stats.reset_time - time.time())

    async def hit_each(self, rule: str, prefix: str, keys: Sequence[str]) -> list[float | None]:
        """`hit(rule, prefix, key)` for each of `keys`, in order (one call for many: an
        intake counts every response of a batch against its device)."""
        if self._local is None:
            return [await self.hit(rule, prefix, key) for key in keys]
        item, local = limit(rule), self._local
        answers: list[float | None] = []
        for key in keys:
            retry_after = local.hit(item, (prefix, key), 1)
            answers.append(None if retry_after is None else max(1.0, retry_after))
        return answers

    async def take(self, rule: str, *keys: str, cost: int = 1) -> Quota:
        """`hit`, answering where the key stands: the limit, what remains, when it resets."""
        item = limit(rule)
        window = int(item.get_expiry())
        if self._local is not None:
            retry_after, used, ends_in = self._local.take(item, keys, cost)
            if retry_after is not None:
                retry_after = max(1.0, retry_after)
            remaining = max(0, math.floor(item.amount - used))
            return Quota(item.amount, window, remaining, retry_after or ends_in, retry_after)
        allowed = await self._limiter.hit(item, *keys, cost=cost)
        stats = await self._limiter.get_window_stats(item, *keys)
        reset = max(0.0, stats.reset_time - time.time())
        retry_after = None if allowed else max(1.0, reset)
        return Quota(
            item.amount, window, max(0, stats.remaining), retry_after or reset, retry_after
        )

    async def enforce(self, rule: str, *keys: str, cost: int = 1, what: str = "requests") -> None:
        """`hit`, raising 429 with `Retry-After` when the limit is reached."""
        retry_after = await self.hit(rule, *keys, cost=cost)
        if retry_after is not None:
            raise TooManyRequests(
                f"Too many {what}: at most {rule}; retry in {math.ceil(retry_after)} s",
                retry_after=retry_after,
            )
