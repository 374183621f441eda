"""The kit's rate limits: sliding windows in memory, or in Redis through `limits`."""

from __future__ import annotations

import uuid

import pytest

from services.common import ratelimit
from services.common.ratelimit import RateLimiter


class Clock:
    def __init__(self, start: float = 60 * 16_667 + 20.0) -> None:  # 20 s into a minute
        self.now = start

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(ratelimit.time, "monotonic", clock)
    return clock


class TestInMemory:
    async def test_up_to_the_limit_passes_then_it_is_refused_until_the_window_has_room(
        self, clock: Clock
    ) -> None:
        limiter = RateLimiter()
        assert [await limiter.hit("3/minute", "app") for _ in range(3)] == [None] * 3
        retry_after = await limiter.hit("3/minute", "app")
        assert retry_after == pytest.approx(40.0)  # the next minute window starts in 40 s
        clock.now += 40.0
        # Now the previous window's three still weigh in fully at its very end...
        assert await limiter.hit("3/minute", "app") is not None
        # ...and less and less: after half of the new window, 3 × 0.5 = 1.5 leaves room for one.
        clock.now += 30.0
        assert await limiter.hit("3/minute", "app") is None

    async def test_keys_are_counted_apart_and_a_cost_counts_whole(self, clock: Clock) -> None:
        limiter = RateLimiter()
        assert await limiter.hit("5/minute", "device", "a", cost=5) is None
        assert await limiter.hit("5/minute", "device", "a") is not None
        assert await limiter.hit("5/minute", "device", "b", cost=5) is None
        assert await limiter.hit("5/minute", "device", "c", cost=6) is not None

    async def test_a_refused_hit_counts_nothing(self, clock: Clock) -> None:
        limiter = RateLimiter()
        assert await limiter.hit("2/minute", "app", cost=2) is None
        assert await limiter.hit("2/minute", "app", cost=2) is not None
        clock.now += 100.0  # two windows later nothing is left
        assert await limiter.hit("2/minute", "app", cost=2) is None

    async def test_many_keys_are_swept_once_expired(self, clock: Clock) -> None:
        limiter = RateLimiter()
        local = limiter._local
        assert local is not None
        local.SWEEP_AT = local._sweep_at = 10
        for n in range(11):
            await limiter.hit("1/minute", "device", str(n))
        clock.now += 200.0  # the first eleven are long expired
        for n in range(12):
            await limiter.hit("1/minute", "device", f"late-{n}")
        # The map grew past twice what the last sweep kept: swept, only the late ones stay.
        assert len(local._windows) == 12


class TestQuota:
    async def test_says_what_remains_and_when_the_window_resets(self, clock: Clock) -> None:
        limiter = RateLimiter()
        first = await limiter.take("3/minute", "app")
        assert (first.limit, first.window_seconds, first.remaining) == (3, 60, 2)
        assert first.allowed and first.reset == pytest.approx(40.0)
        await limiter.take("3/minute", "app")
        await limiter.take("3/minute", "app")
        refused = await limiter.take("3/minute", "app")
        assert not refused.allowed and refused.remaining == 0
        assert refused.retry_after == refused.reset == pytest.approx(40.0)

    async def test_the_previous_windows_weight_is_not_remaining(self, clock: Clock) -> None:
        limiter = RateLimiter()
        await limiter.take("4/minute", "app", cost=4)
        clock.now += 55.0  # 15 s into the next window: 4 × 0.75 = 3 still weigh in
        quota = await limiter.take("4/minute", "app")
        assert quota.allowed and quota.remaining == 0


@pytest.mark.parametrize("storage", [None, "async+redis://127.0.0.1:6379"])
async def test_hits_for_many_keys_count_as_one_hit_each(storage: str | None) -> None:
    limiter = RateLimiter(storage)
    a, b = f"a-{uuid.uuid4()}", f"b-{uuid.uuid4()}"
    waits = await limiter.hit_each("2/minute", "device", [a, b, a, a, b])
    assert [w is None for w in waits] == [True, True, True, False, True]
    refused = waits[3]
    assert refused is not None and 1 <= refused <= 60
    # Counted where single hits count: the same keys are now full.
    assert await limiter.hit("2/minute", "device", a) is not None
    assert await limiter.hit("2/minute", "device", b) is not None


class TestRedis:
    async def test_counters_are_shared_through_redis(self) -> None:
        url = "async+redis://127.0.0.1:6379"
        key = f"test-{uuid.uuid4()}"
        first, second = RateLimiter(url), RateLimiter(url)
        try:
            assert await first.hit("2/minute", key) is None
        except Exception as exc:  # pragma: no cover - Redis is part of the machine
            pytest.fail(f"Redis at {url} is not reachable: {exc}")
        assert await second.hit("2/minute", key) is None
        assert await first.hit("2/minute", key) is not None

    async def test_a_quota_from_redis_says_what_remains(self) -> None:
        limiter = RateLimiter("async+redis://127.0.0.1:6379")
        key = f"test-{uuid.uuid4()}"
        first = await limiter.take("2/minute", key)
        assert first.allowed and (first.limit, first.remaining) == (2, 1)
        await limiter.take("2/minute", key)
        refused = await limiter.take("2/minute", key)
        assert not refused.allowed and refused.remaining == 0
        assert refused.retry_after is not None and 1 <= refused.retry_after <= 60
