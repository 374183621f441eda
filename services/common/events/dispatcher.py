"""Delivering the outbox: claim due deliveries, sign, send, record, retry, dead-letter.

Several dispatchers (one per replica) share the work: on PostgreSQL each claims rows with
`FOR UPDATE SKIP LOCKED` and leases them, so no delivery is sent by two at once; a lease
that expires (its dispatcher died) makes the row claimable again. A delivery waits while an
earlier delivery of the same aggregate to the same subscription is unfinished, so each
subscriber sees one aggregate's events in order; other aggregates go on meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import asyncpg
import httpx
import structlog
from sqlalchemy import (
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import aliased

from services.common.db import Database, UTCDateTime, new_id, utcnow
from services.common.events import inbox, signing
from services.common.events.outbox import emit, notify_channel
from services.common.events.subscriptions import sync_siblings
from services.common.events.targets import InvalidTarget, validate_target
from services.common.models import CommonTables
from services.common.observability import Metrics
from services.common.settings import ComponentSettings

log = structlog.get_logger("govperf.events")
EXCERPT = 500
MAX_RETRY_AFTER = 24 * 3600.0


@dataclass
class Claimed:
    seq: int
    attempts: int
    subscription_id: Any
    url: str
    secrets: list[str]
    event_id: Any
    event_type: str
    body: str
    request_id: str | None
    created_at: datetime
    external: bool = False


@dataclass
class Outcome:
    claimed: Claimed
    started_at: datetime
    duration_ms: float
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None
    retry_after: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def finished_at(self) -> datetime:
        return self.started_at + timedelta(milliseconds=self.duration_ms)


def valid_secrets(subscription_secrets: list[dict[str, Any]], now: datetime) -> list[str]:
    """Secrets to sign with: the current one and any rotated one still in its grace period."""
    out = []
    for entry in subscription_secrets:
        expires = entry.get("expires_at")
        if expires is None or datetime.fromisoformat(expires) > now:
            out.append(entry["secret"])
    return out


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        return min(MAX_RETRY_AFTER, max(0.0, (parsedate_to_datetime(value) - now).total_seconds()))
    except (TypeError, ValueError):
        return None


async def _close_quietly(connection: asyncpg.Connection) -> None:
    try:
        await asyncio.wait_for(connection.close(), 2)
    except (Exception, asyncio.CancelledError):
        connection.terminate()


# The claim statements of a service's tables and batch size, built once per process: a
# statement holds no state, and building one costs more than starting a dispatcher otherwise.
_CLAIM_STATEMENTS: dict[tuple[CommonTables, int], tuple[Any, Any]] = {}


class Dispatcher:
    def __init__(
        self,
        *,
        component: str,
        db: Database,
        tables: CommonTables,
        http: httpx.AsyncClient,
        settings: ComponentSettings,
        metrics: Metrics,
        sibling_subscribers: Mapping[str, tuple[str, ...]] | None = None,
    ) -> None:
        self.component = component
        self.sibling_subscribers = dict(sibling_subscribers or {})
        self.siblings_synced = False
        self.db = db
        self.tables = tables
        self.http = http
        self.settings = settings
        self.metrics = metrics
        self._wake = asyncio.Event()
        self._runs: list[asyncio.Task[None]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._gauges_at = 0.0
        self._stopping = False
        key = (tables, settings.webhook_batch_size)
        if key not in _CLAIM_STATEMENTS:
            self._claim_query = self._build_claim_query()
            _CLAIM_STATEMENTS[key] = (self._claim_query, self._build_claim_returning())
        self._claim_query, self._claim_returning = _CLAIM_STATEMENTS[key]
        self._target_checks: dict[str, tuple[float, str | None]] = {}

    # --- lifecycle ------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def ensure_siblings(self) -> bool:
        """Sync the sibling subscriptions once the database allows it (it may not be
        migrated yet when the process starts; /readyz says so meanwhile)."""
        if not self.siblings_synced:
            try:
                await sync_siblings(self.db, self.tables, self.settings, self.sibling_subscribers)
            except DBAPIError as exc:
                log.warning("siblings_not_synced", component=self.component, error=str(exc.orig))
                return False
            self.siblings_synced = True
        return True

    def start(self) -> None:
        self._runs.append(asyncio.create_task(self.run(), name=f"dispatcher-{self.component}"))
        if self.db.engine.dialect.name == "postgresql":
            self._tasks.append(asyncio.create_task(self._listen(), name=f"listen-{self.component}"))

    async def stop(self, grace_seconds: float = 10.0) -> None:
        """Finish the rounds in progress (up to `grace_seconds`), then stop."""
        self._stopping = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        if self._runs:
            _done, late = await asyncio.wait(self._runs, timeout=grace_seconds)
            for task in late:
                task.cancel()
        for task in (*self._runs, *self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._runs.clear()
        self._tasks.clear()
        self._stopping = False

    async def run(self) -> None:
        """Deliver until stopped; a failing round is logged and retried, never fatal.

        Claims are pipelined: a wake-up claims what is due at once and sends it while up
        to `webhook_rounds` earlier rounds are still on the wire (their rows are leased, so
        the claim skips them, and an aggregate's next event waits for its predecessor).
        """
        in_flight: set[asyncio.Task[None]] = set()
        limit = max(1, self.settings.webhook_rounds)
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    claimed = await self._shielded_claim() if await self.ensure_siblings() else []
                    await self._update_gauges()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("dispatch_round_failed", component=self.component)
                    claimed = []
                if claimed:
                    task = asyncio.create_task(self._deliver_logged(claimed))
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                if len(in_flight) >= limit:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                    continue
                # A full claim means more may be due; otherwise wait for a wake-up or the poll
                # (events committed meanwhile have set the wake-up already).
                if len(claimed) >= self.settings.webhook_batch_size or self._stopping:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_seconds)
        except asyncio.CancelledError:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
            raise
        if in_flight:  # stopping: let the rounds on the wire finish and record
            await asyncio.wait(in_flight)

    async def _deliver_logged(self, claimed: list[Claimed]) -> None:
        try:
            await self._deliver(claimed)
        except Exception:  # the leases expire and another round delivers them
            log.exception("dispatch_round_failed", component=self.component)

    async def _listen(self) -> None:
        """LISTEN on a dedicated connection (not from the pool); reconnect when it drops."""
        url = make_url(self.db.url).set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        channel = notify_channel(self.component)
        backoff = 0.5
        while True:
            connection = None
            try:
                connection = await asyncpg.connect(dsn, timeout=10)
                await connection.add_listener(channel, lambda *_: self.wake())
                backoff = 0.5
                self.wake()  # catch up on anything committed while we were not listening
                while True:
                    await asyncio.sleep(15)
                    await connection.fetchval("SELECT 1", timeout=5)
            except asyncio.CancelledError:
                raise
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("listen_connection_lost", component=self.component, error=str(exc))
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30)
            finally:
                if connection is not None:
                    await _close_quietly(connection)

    # --- one round ------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim a batch of due deliveries, send them, record the outcomes; return the count."""
        claimed = await self._shielded_claim()
        if claimed:
            await self._deliver(claimed)
        await self._update_gauges()
        return len(claimed)

    async def _deliver(self, claimed: list[Claimed]) -> None:
        semaphore = asyncio.Semaphore(self.settings.webhook_concurrency)

        async def send(group: list[Claimed]) -> list[Outcome]:
            async with semaphore:
                return await self._send(group)

        sent = await asyncio.gather(*(send(g) for g in self._messages(claimed)))
        # Shielded: once the requests went out, their outcomes are recorded even if this
        # round is cancelled (stop, shutdown) — and a transaction is never cut in half.
        await asyncio.shield(self._record([outcome for outcomes in sent for outcome in outcomes]))

    def _build_claim_query(self) -> Any:
        """The claim SELECT, built once: constructing it is a good part of an idle round.

        The statuses are literals, not parameters, so that even a generic (prepared) plan can
        use the partial indexes over the unfinished deliveries.
        """
        d, s = self.tables.deliveries, self.tables.subscriptions
        earlier = aliased(d)
        now = bindparam("now", type_=UTCDateTime())
        pending, delivering = literal_column("'pending'"), literal_column("'delivering'")
        blocked = exists().where(
            earlier.subscription_id == d.subscription_id,
            earlier.aggregate == d.aggregate,
            earlier.seq < d.seq,
            earlier.status.in_([pending, delivering]),
        )
        # A first attempt is due whatever the clocks say: its NOTIFY has woken us already.
        due = or_(
            and_(d.status == pending, or_(d.attempts == 0, d.next_attempt_at <= now)),
            and_(d.status == delivering, d.lease_until < now),
        )
        return (
            select(d.seq)
            .join(s, s.id == d.subscription_id)
            .where(
                d.status.in_([pending, delivering]),
                due,
                s.status == literal_column("'active'"),
                ~blocked,
            )
            .order_by(d.seq)
            .limit(self.settings.webhook_batch_size)
            .with_for_update(of=d, skip_locked=True)
        )

    def _claimed_columns(self, deliveries: Any) -> tuple[Any, ...]:
        s, o = self.tables.subscriptions, self.tables.outbox
        return (
            deliveries.c.seq,
            deliveries.c.attempts,
            s.id.label("subscription_id"),
            s.url,
            s.kind,
            s.secrets,
            o.id.label("event_id"),
            o.type,
            o.body,
            o.request_id,
            o.created_at,
        )

    def _build_claim_returning(self) -> Any:
        """PostgreSQL: claim, lease and read the claimed deliveries in one statement."""
        d, s, o = self.tables.deliveries, self.tables.subscriptions, self.tables.outbox
        table = d.__table__
        claimed = self._claim_query.cte("claimed")
        leased = (
            update(table)
            .where(table.c.seq == claimed.c.seq)
            .values(status="delivering", lease_until=bindparam("lease", type_=UTCDateTime()))
            .returning(table.c.seq, table.c.attempts, table.c.subscription_id, table.c.event_seq)
            .cte("leased")
        )
        return (
            select(*self._claimed_columns(leased))
            .join(s, s.id == leased.c.subscription_id)
            .join(o, o.seq == leased.c.event_seq)
            .order_by(leased.c.seq)
        )

    async def _shielded_claim(self) -> list[Claimed]:
        """A claim is not cut in half by a cancellation (on SQLite a transaction cut short can
        hold the database's write lock); rows it leased for a cancelled round are claimed
        again when the lease ends."""
        return await asyncio.shield(self._claim())

    async def _claim(self) -> list[Claimed]:
        d, s, o = self.tables.deliveries, self.tables.subscriptions, self.tables.outbox
        now = utcnow()
        lease = now + timedelta(seconds=self.settings.webhook_lease_seconds)
        if self.db.engine.dialect.name != "postgresql":
            # SQLite has one writer per file: an idle round looks first, without the write
            # lock, so an idle dispatcher never holds up a request's write.
            async with self.db.session(read_only=True, autocommit=True) as session:
                if not (await session.scalars(self._claim_query, {"now": now})).first():
                    return []
        async with self.db.session() as session:
            if self.db.engine.dialect.name == "postgresql":
                # Statistics of a young or bursting queue are stale (it looked empty when last
                # analysed), and a plan that scans it per candidate row is quadratic; index
                # paths are right at every size.
                await session.execute(text("SET LOCAL enable_seqscan = off"))
                rows = (
                    await session.execute(self._claim_returning, {"now": now, "lease": lease})
                ).all()
            else:
                seqs = (await session.scalars(self._claim_query, {"now": now})).all()
                if not seqs:
                    await session.rollback()
                    return []
                await session.execute(
                    update(d).where(d.seq.in_(seqs)).values(status="delivering", lease_until=lease)
                )
                table = d.__table__
                rows = (
                    await session.execute(
                        select(*self._claimed_columns(table))
                        .join(s, s.id == d.subscription_id)
                        .join(o, o.seq == d.event_seq)
                        .where(d.seq.in_(seqs))
                        .order_by(d.seq)
                    )
                ).all()
            await session.commit()
        return [
            Claimed(
                seq=r.seq,
                attempts=r.attempts,
                subscription_id=r.subscription_id,
                url=r.url,
                secrets=valid_secrets(r.secrets, now),
                event_id=r.event_id,
                event_type=r.type,
                body=r.body,
                request_id=r.request_id,
                created_at=r.created_at,
                external=r.kind == "external",
            )
            for r in rows
        ]

    def _messages(self, claimed: list[Claimed]) -> list[list[Claimed]]:
        """The claimed deliveries grouped into messages, in claim order.

        First attempts to a sibling service travel together, up to
        `webhook_sibling_batch_size` per `events.batch` message; retries and third-party
        deliveries go one per message (a batch that failed is retried event by event, so one
        event the receiver cannot handle does not hold back the others).
        """
        size = self.settings.webhook_sibling_batch_size
        messages: list[list[Claimed]] = []
        open_batches: dict[Any, list[Claimed]] = {}
        for item in claimed:
            if item.external or item.attempts or size < 2:
                messages.append([item])
                continue
            batch = open_batches.get(item.subscription_id)
            if batch is None or len(batch) >= size:
                batch = open_batches[item.subscription_id] = []
                messages.append(batch)
            batch.append(item)
        return messages

    async def _send(self, group: list[Claimed]) -> list[Outcome]:
        """Send one message (one event, or a sibling batch); an outcome per delivery."""
        first = group[0]
        if len(group) == 1:
            message_id, body = f"msg_{first.event_id.hex}", first.body
        else:
            message_id = f"batch_{new_id().hex}"
            body = inbox.batch_body(
                [(f"msg_{item.event_id.hex}", item.body) for item in group],
                utcnow().isoformat().replace("+00:00", "Z"),
            )
        outcome = await self._post(first, message_id, body.encode())
        return [outcome] + [replace(outcome, claimed=item) for item in group[1:]]

    async def _post(self, item: Claimed, message_id: str, body: bytes) -> Outcome:
        headers = signing.headers(item.secrets, message_id, body)
        headers["content-type"] = "application/json"
        headers["user-agent"] = "govperf-webhooks/1"
        if item.request_id:
            headers["x-request-id"] = item.request_id
        started_at = utcnow()
        started = time.perf_counter()
        if item.external:
            # Checked again at each send: a name that resolved to a public address when the
            # subscription was saved may point inside the network now (DNS rebinding).
            try:
                await self._check_target(item.url)
            except InvalidTarget as exc:
                return Outcome(
                    item,
                    started_at,
                    (time.perf_counter() - started) * 1000,
                    error=f"refused: {exc.detail}"[:EXCERPT],
                )
        try:
            response = await self.http.post(
                item.url,
                content=body,
                headers=headers,
                follow_redirects=False,
                timeout=self.settings.webhook_timeout_seconds,
            )
        except Exception as exc:  # any failure to send is this attempt's outcome, not the round's
            return Outcome(
                item,
                started_at,
                (time.perf_counter() - started) * 1000,
                error=f"{type(exc).__name__}: {exc}"[:EXCERPT],
            )
        outcome = Outcome(
            item,
            started_at,
            (time.perf_counter() - started) * 1000,
            status_code=response.status_code,
            excerpt=response.text[:EXCERPT] if response.content else None,
        )
        if response.status_code in (429, 503, 502, 504):
            outcome.retry_after = retry_after_seconds(response.headers.get("retry-after"), utcnow())
        if not outcome.succeeded:
            outcome.error = f"HTTP {response.status_code}"
        return outcome

    async def _check_target(self, url: str) -> None:
        """validate_target, remembered for a minute per URL so a busy round resolves once."""
        now = time.monotonic()
        cached = self._target_checks.get(url)
        if cached is None or cached[0] < now:
            try:
                await validate_target(
                    url,
                    allow_private=self.settings.webhook_allow_private_targets,
                    allowed_hosts=self.settings.webhook_allowed_hosts,
                )
                cached = (now + 60, None)
            except InvalidTarget as exc:
                cached = (now + 60, exc.detail)
            self._target_checks[url] = cached
        if cached[1] is not None:
            raise InvalidTarget(cached[1])

    def _next_attempt(
        self, attempts: int, retry_after: float | None, now: datetime
    ) -> datetime | None:
        schedule = self.settings.webhook_retry_schedule
        if attempts >= len(schedule):
            return None
        delay = schedule[attempts] * random.uniform(0.8, 1.2)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return now + timedelta(seconds=delay)

    async def _record(self, outcomes: list[Outcome]) -> None:
        d, s, a = self.tables.deliveries, self.tables.subscriptions, self.tables.attempts
        now = utcnow()
        delivery_updates, attempt_rows = [], []
        succeeded_subs, failed_subs, gone_subs = set(), set(), set()
        for outcome in outcomes:
            item = outcome.claimed
            attempts = item.attempts + 1
            attempt_rows.append(
                {
                    "delivery_seq": item.seq,
                    "attempt": attempts,
                    "outcome": "succeeded" if outcome.succeeded else "failed",
                    "started_at": outcome.started_at,
                    "duration_ms": round(outcome.duration_ms, 2),
                    "status_code": outcome.status_code,
                    "error": outcome.error,
                    "response_excerpt": outcome.excerpt,
                }
            )
            values: dict[str, Any] = {
                "seq": item.seq,
                "attempts": attempts,
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
                "lease_until": None,
            }
            if outcome.succeeded:
                # When the receiver answered, not when the round's bookkeeping ran.
                values.update(status="succeeded", completed_at=outcome.finished_at)
                succeeded_subs.add(item.subscription_id)
                self.metrics.webhook_latency.labels(self.component).observe(
                    (outcome.finished_at - item.created_at).total_seconds()
                )
            elif outcome.status_code == 410:
                values.update(
                    status="dead",
                    completed_at=now,
                    last_error="410 Gone: the subscription was disabled",
                )
                gone_subs.add(item.subscription_id)
            else:
                failed_subs.add(item.subscription_id)
                next_at = self._next_attempt(attempts, outcome.retry_after, now)
                if next_at is None:
                    values.update(status="dead", completed_at=now)
                else:
                    values.update(status="pending", next_attempt_at=next_at)
            delivery_updates.append(values)
            self.metrics.webhook_attempts.labels(
                self.component, "succeeded" if outcome.succeeded else "failed"
            ).inc()
        async with self.db.session() as session:
            await session.execute(update(d), delivery_updates)
            await session.execute(insert(a), attempt_rows)
            if succeeded_subs:
                await session.execute(
                    update(s)
                    .where(s.id.in_(succeeded_subs), s.failing_since.is_not(None))
                    .values(failing_since=None)
                )
            still_failing = failed_subs - succeeded_subs
            if still_failing:
                await session.execute(
                    update(s)
                    .where(s.id.in_(still_failing), s.failing_since.is_(None))
                    .values(failing_since=now)
                )
                cutoff = now - timedelta(seconds=self.settings.webhook_disable_after_seconds)
                expired = (
                    await session.scalars(
                        select(s.id).where(
                            s.id.in_(still_failing), s.failing_since < cutoff, s.status == "active"
                        )
                    )
                ).all()
                for sub_id in expired:
                    await self._disable(session, sub_id, "failing for too long")
            for sub_id in gone_subs:
                await self._disable(session, sub_id, "the endpoint answered 410 Gone")
            await session.commit()

    async def _disable(self, session: Any, subscription_id: Any, reason: str) -> None:
        s = self.tables.subscriptions
        subscription = await session.get(s, subscription_id)
        if subscription is None or subscription.status != "active":
            return
        subscription.status = "disabled"
        subscription.disabled_reason = reason
        log.warning(
            "subscription_disabled",
            component=self.component,
            subscription=str(subscription_id),
            reason=reason,
        )
        await session.flush()
        await emit(
            session,
            "webhook_subscription.disabled",
            aggregate=f"webhook_subscription:{subscription_id}",
            jurisdiction_code=subscription.jurisdiction_code,
            data={
                "subscription_id": str(subscription_id),
                "name": subscription.name,
                "url": subscription.url,
                "reason": reason,
            },
        )

    async def _update_gauges(self) -> None:
        if time.monotonic() - self._gauges_at < 5:
            return
        self._gauges_at = time.monotonic()
        d = self.tables.deliveries
        async with self.db.session(read_only=True) as session:
            counts = dict(
                (
                    await session.execute(
                        select(d.status, func.count())
                        .where(d.status.in_(("pending", "dead")))
                        .group_by(d.status)
                    )
                ).all()
            )
        for status in ("pending", "dead"):
            self.metrics.webhook_deliveries.labels(self.component, status).set(
                counts.get(status, 0)
            )
