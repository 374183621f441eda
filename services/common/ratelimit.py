"""Rate limits over the `limits` library: sliding windows, in memory or in Redis.

A limit is a string such as ``"60/minute"``. In memory by default (one process); with a
storage URL (``async+redis://127.0.0.1:6379``) the counters are shared by every replica.
The sliding-window counter keeps two numbers per key, whatever the limit's size.
"""

from __future__ import annotations

import math
import time
from functools import lru_cache
from typing import Any

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
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


class RateLimiter:
    def __init__(self, storage_url: str | None = None) -> None:
        storage: Storage = storage_from_string(storage_url) if storage_url else MemoryStorage()
        self._limiter = SlidingWindowCounterRateLimiter(storage)

    async def hit(self, rule: str, *keys: str, cost: int = 1) -> float | None:
        """Count `cost` against `rule` for `keys`: None when allowed, else the seconds until
        the window has room again (nothing is counted for a refused hit)."""
        item = limit(rule)
        if await self._limiter.hit(item, *keys, cost=cost):
            return None
        stats = await self._limiter.get_window_stats(item, *keys)
        return max(1.0, stats.reset_time - time.time())

    async def enforce(self, rule: str, *keys: str, cost: int = 1, what: str = "requests") -> None:
        """`hit`, raising 429 with `Retry-After` when the limit is reached."""
        retry_after = await self.hit(rule, *keys, cost=cost)
        if retry_after is not None:
            raise TooManyRequests(
                f"Too many {what}: at most {rule}; retry in {math.ceil(retry_after)} s",
                retry_after=retry_after,
            )
