"""Citizen rating intake: one response or a batch, each item answered on its own.

What apps taught the tools before us (ODK Central, KoboToolbox):
- a response carries the app's `response_id`; it is the row's primary key, so two copies
  racing each other can never both count: the second finds the first and is a `duplicate`
  (same content) or a `conflict` (other content);
- one respondent (a keyed hash of a device or verified-phone token) rates a department once
  per cycle: a unique key, not a check-then-insert;
- nothing is counted per submission: no row is updated, so intake never queues on a hot row.
  Each response writes its own row, its answers pre-summed per dimension in it, aggregated
  on read.

A request costs one statement for the state of the cycles and questionnaires it names, one
multi-row INSERT of the responses (`ON CONFLICT DO NOTHING`) and, only when something was
not inserted, one SELECT to tell duplicates from conflicts.
What does not change once a cycle is open (its citizen group, departments, questionnaire
items) is kept in memory for a short while; the statuses are read every time.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import hmac
import ipaddress
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import bindparam, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import Database, DriverSelect, on_driver, pooled, upsert_insert, utcnow
from services.common.privacy import scrub
from services.common.ratelimit import RateLimiter
from services.evaluation.models import (
    Cycle,
    CycleDepartment,
    EvaluatorGroup,
    Questionnaire,
    Rating,
)
from services.evaluation.ratings.schemas import RatingIn

META_TTL_SECONDS = 30.0
META_MAX_ENTRIES = 1000
STRAIGHT_LINE_MIN_ITEMS = 5
NETWORKS_REMEMBERED = 10_000
_UNKNOWN = object()

# Why an item was rejected → the HTTP status a single response answers with.
REJECTION_STATUS = {
    "invalid-rating": 422,
    "unknown-cycle": 404,
    "unknown-department": 422,
    "unknown-questionnaire-version": 422,
    "invalid-answers": 422,
    "comment-too-long": 422,
    "cycle-not-open": 409,
    "questionnaire-closed": 409,
    "already-rated": 409,
    "rate-limited": 429,
}


# --- what stays fixed while a cycle is open ------------------------------------------------


@dataclass(frozen=True, slots=True)
class CycleMeta:
    id: uuid.UUID
    jurisdiction_code: str
    group_id: uuid.UUID | None
    questionnaire_code: str | None
    departments: frozenset[uuid.UUID]


@dataclass(frozen=True, slots=True)
class QuestionnaireMeta:
    id: uuid.UUID
    jurisdiction_code: str
    code: str
    scale_min: int
    scale_max: int
    top_box: int
    allow_dont_know: bool
    free_text_max: int
    dimension_of: dict[str, str]


class _Expiring:
    """A small map whose entries expire; read far more often than written."""

    def __init__(self) -> None:
        self._entries: dict[Any, tuple[float, Any]] = {}

    def get(self, key: Any) -> Any:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: Any, value: Any) -> None:
        if len(self._entries) >= META_MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + META_TTL_SECONDS, value)


@dataclass
class IntakeContext:
    """Per-app state of the intake: the metadata cache, the rate limiter, the hash key and,
    where the app has a database of its own to write with, the group commit."""

    key: bytes
    limiter: RateLimiter
    client_limit: str
    device_limit: str
    cycles: _Expiring = field(default_factory=_Expiring)
    questionnaires: _Expiring = field(default_factory=_Expiring)
    group: GroupCommit | None = None
    # Caller address → its network's keyed hash (`_network_hash`).
    networks: dict[str, bytes | None] = field(default_factory=dict)
    _mac: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # HMAC-SHA256 keyed once: each hash copies the keyed state instead of keying again.
        self._mac = hmac.new(self.key, digestmod=hashlib.sha256)

    def keyed_hash(self, purpose: str, value: str) -> bytes:
        mac = self._mac.copy()
        mac.update(f"{purpose}:{value}".encode())
        return mac.digest()


async def _cycle_meta(session: AsyncSession, ctx: IntakeContext, cycle_id: uuid.UUID) -> Any:
    meta = ctx.cycles.get(cycle_id)
    if meta is not None:
        return meta
    conn = await session.connection()
    cycle = (
        await conn.execute(
            select(Cycle.id, Cycle.jurisdiction_code, Cycle.status).where(Cycle.id == cycle_id)
        )
    ).first()
    if cycle is None:
        return None
    group = (
        await conn.execute(
            select(EvaluatorGroup.id, EvaluatorGroup.department_ids, Questionnaire.code)
            .outerjoin(Questionnaire, Questionnaire.id == EvaluatorGroup.questionnaire_id)
            .where(EvaluatorGroup.cycle_id == cycle_id, EvaluatorGroup.kind == "citizen")
        )
    ).first()
    departments: frozenset[uuid.UUID] = frozenset()
    if group is not None:
        if group.department_ids is not None:
            departments = frozenset(uuid.UUID(str(d)) for d in group.department_ids)
        else:
            departments = frozenset(
                (
                    await conn.execute(
                        select(CycleDepartment.department_id).where(
                            CycleDepartment.cycle_id == cycle_id
                        )
                    )
                ).scalars()
            )
    meta = CycleMeta(
        id=cycle.id,
        jurisdiction_code=cycle.jurisdiction_code,
        group_id=group.id if group is not None else None,
        questionnaire_code=group.code if group is not None else None,
        departments=departments,
    )
    # Groups and departments change only while a cycle is a draft.
    if cycle.status != "draft":
        ctx.cycles.put(cycle_id, meta)
    return meta


async def _questionnaire_meta(
    session: AsyncSession, ctx: IntakeContext, questionnaire_id: uuid.UUID
) -> Any:
    meta = ctx.questionnaires.get(questionnaire_id)
    if meta is not None:
        return meta
    conn = await session.connection()
    row = (
        await conn.execute(select(Questionnaire).where(Questionnaire.id == questionnaire_id))
    ).first()
    if row is None:
        return None
    meta = QuestionnaireMeta(
        id=row.id,
        jurisdiction_code=row.jurisdiction_code,
        code=row.code,
        scale_min=row.scale_min,
        scale_max=row.scale_max,
        top_box=row.top_box,
        allow_dont_know=row.allow_dont_know,
        free_text_max=row.free_text_max,
        dimension_of={item["code"]: item["dimension"] for item in row.items},
    )
    # A published version never changes again; a draft may.
    if row.status != "draft":
        ctx.questionnaires.put(questionnaire_id, meta)
    return meta


# --- one item ------------------------------------------------------------------------------


class _Rejected(Exception):
    def __init__(self, code: str, reason: str, retry_after: int | None = None) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.retry_after = retry_after


@dataclass(slots=True)
class _Item:
    index: int
    rating: RatingIn
    cycle: CycleMeta
    questionnaire: QuestionnaireMeta
    row: dict[str, Any]
    device_hash: bytes


@dataclass(slots=True)
class Outcome:
    """What became of one response: `schemas.RatingResult` on the wire (the same fields in
    the same order), written by orjson (`answer`). A plain object: a batch makes 500."""

    index: int
    response_id: uuid.UUID | str | None
    status: str
    code: str | None = None
    reason: str | None = None
    received_at: datetime | None = None
    retry_after: int | None = None


def answer(value: Any) -> bytes:
    """JSON of outcomes (alone or in a batch's answer), as pydantic writes `RatingResult`."""
    return orjson.dumps(value, option=orjson.OPT_UTC_Z)


def _validation_reason(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts)


def _answers(rating: RatingIn, q: QuestionnaireMeta, row: dict[str, Any]) -> None:
    """Check the answers against the questionnaire version, and sum them per dimension into
    `row`: the dimensions answered (in order) and, aligned with them, the mean of their
    answered items, how many were answered and how many were in the top box; and whether
    the response is straight-lined (one and the same answer to enough items)."""
    unknown = rating.answers.keys() - q.dimension_of.keys()
    if unknown:
        raise _Rejected(
            "invalid-answers",
            f"Not items of questionnaire {q.code}: {', '.join(sorted(unknown)[:10])}",
        )
    top_from = q.scale_max - q.top_box + 1
    sums: dict[str, list[int]] = {}
    answered, first, same = 0, None, True
    for code, answer in rating.answers.items():
        if answer is None:
            if not q.allow_dont_know:
                raise _Rejected(
                    "invalid-answers", f"Item {code}: this questionnaire has no 'don't know'"
                )
            continue
        if not q.scale_min <= answer <= q.scale_max:
            raise _Rejected(
                "invalid-answers",
                f"Item {code}: {answer} is outside the scale {q.scale_min}..{q.scale_max}",
            )
        answered += 1
        if first is None:
            first = answer
        elif answer != first:
            same = False
        entry = sums.get(q.dimension_of[code])
        if entry is None:
            entry = sums[q.dimension_of[code]] = [0, 0, 0]
        entry[0] += answer
        entry[1] += 1
        entry[2] += answer >= top_from
    if rating.comment is not None and len(rating.comment) > q.free_text_max:
        raise _Rejected(
            "comment-too-long",
            f"The comment has {len(rating.comment)} characters; at most {q.free_text_max}",
        )
    dimensions = sorted(sums)
    row["dimensions"] = dimensions
    row["means"] = [sums[d][0] / sums[d][1] for d in dimensions]
    row["answered"] = [sums[d][1] for d in dimensions]
    row["tops"] = [sums[d][2] for d in dimensions]
    row["straight_lined"] = answered >= STRAIGHT_LINE_MIN_ITEMS and same


def _network_hash(ctx: IntakeContext, address: str | None) -> bytes | None:
    """The caller's network (/24 of IPv4, /48 of IPv6), keyed-hashed: bursts from one
    network are visible without storing anyone's address. The hash is remembered in memory
    per address (an app's requests come through a few gateways and carriers' networks)."""
    if not address:
        return None
    known = ctx.networks.get(address, _UNKNOWN)
    if known is not _UNKNOWN:
        return known
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        hashed = None
    else:
        prefix = 24 if ip.version == 4 else 48
        network = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
        hashed = ctx.keyed_hash("network", str(network))
    if len(ctx.networks) >= NETWORKS_REMEMBERED:
        ctx.networks.clear()
    ctx.networks[address] = hashed
    return hashed


def _content_hash(rating: RatingIn, respondent_hash: bytes) -> bytes:
    """What makes two copies the same response. `repr` of plain values is unambiguous
    (strings quoted and escaped), and cheaper than JSON on the intake's hot path."""
    canonical = repr(
        (
            rating.cycle_id.hex,
            rating.department_id.hex,
            rating.questionnaire_id.hex,
            respondent_hash.hex(),  # the hash's text, as stored before it was bytes
            rating.device_token,
            sorted(rating.answers.items()),
            rating.comment,
            rating.duration_seconds,
            rating.stratum,
        )
    )
    return hashlib.sha256(canonical.encode()).digest()


def _check_cycle(principal: Principal, rating: RatingIn, cycle: CycleMeta | None) -> CycleMeta:
    if cycle is None or not principal.may_access(cycle.jurisdiction_code):
        raise _Rejected("unknown-cycle", f"Cycle {rating.cycle_id} not found")
    if cycle.group_id is None:
        raise _Rejected("cycle-not-open", "This cycle has no citizen group: it takes no ratings")
    if rating.department_id not in cycle.departments:
        raise _Rejected(
            "unknown-department",
            f"Department {rating.department_id} is not rated by citizens in this cycle",
        )
    return cycle


def _prepare(
    ctx: IntakeContext,
    principal: Principal,
    index: int,
    rating: RatingIn,
    network_hash: bytes | None,
    cycle: CycleMeta,
    questionnaire: QuestionnaireMeta | None,
) -> _Item:
    if (
        questionnaire is None
        or questionnaire.code != cycle.questionnaire_code
        or questionnaire.jurisdiction_code != cycle.jurisdiction_code
    ):
        raise _Rejected(
            "unknown-questionnaire-version",
            f"{rating.questionnaire_id} is not a version of this cycle's questionnaire",
        )
    row: dict[str, Any] = {}
    _answers(rating, questionnaire, row)
    respondent_hash = ctx.keyed_hash(
        f"respondent-{rating.respondent.kind}", rating.respondent.token
    )
    device_token = rating.device_token
    if device_token is None and rating.respondent.kind == "device":
        device_token = rating.respondent.token
    device_hash = ctx.keyed_hash("device", device_token) if device_token else respondent_hash
    row.update(
        id=rating.response_id,
        jurisdiction_code=cycle.jurisdiction_code,
        cycle_id=cycle.id,
        group_id=cycle.group_id,
        questionnaire_id=questionnaire.id,
        department_id=rating.department_id,
        client=principal.subject,
        respondent_hash=respondent_hash,
        device_hash=device_hash,
        network_hash=network_hash,
        content_hash=_content_hash(rating, respondent_hash),
        answers=rating.answers,
        comment=scrub(rating.comment) if rating.comment else None,
        stratum=rating.stratum,
        duration_seconds=rating.duration_seconds,
    )
    return _Item(
        index=index,
        rating=rating,
        cycle=cycle,
        questionnaire=questionnaire,
        row=row,
        device_hash=device_hash,
    )


# --- the request ---------------------------------------------------------------------------


_STATUSES = union_all(
    select(literal("cycle").label("kind"), Cycle.id, Cycle.status).where(
        Cycle.id.in_(bindparam("cycles", expanding=True))
    ),
    select(literal("questionnaire").label("kind"), Questionnaire.id, Questionnaire.status).where(
        Questionnaire.id.in_(bindparam("questionnaires", expanding=True))
    ),
)


@functools.cache
def _statuses_on_driver(dialect: Any) -> DriverSelect:
    """`_STATUSES` on the asyncpg driver, compiled once: the engine's work per statement
    costs more than this lookup of a few primary keys."""
    return DriverSelect(_STATUSES, dialect)


async def submit(
    session: AsyncSession,
    ctx: IntakeContext,
    principal: Principal,
    items: Sequence[RatingIn | dict[str, Any]],
    *,
    client_address: str | None = None,
) -> list[Outcome]:
    """Take responses; the outcome of each, in the order given.

    The app's whole request counts against its client limit (429 for all of it when over);
    each item then counts against its device's limit and is rejected alone when over."""
    await ctx.limiter.enforce(
        ctx.client_limit, "ratings-client", principal.subject, cost=len(items), what="ratings"
    )
    results: dict[int, Outcome] = {}
    prepared: list[_Item] = []
    first_with_id: dict[uuid.UUID, _Item] = {}
    echoes: list[tuple[int, _Item, bool]] = []  # (index, first copy, same content)
    network_hash = _network_hash(ctx, client_address)
    cycles: dict[uuid.UUID, Any] = {}
    questionnaires: dict[uuid.UUID, Any] = {}

    for index, raw in enumerate(items):
        response_id = raw.get("response_id") if isinstance(raw, dict) else raw.response_id
        try:
            rating = raw if isinstance(raw, RatingIn) else RatingIn.model_validate(raw)
        except ValidationError as exc:
            results[index] = _rejected(
                index, response_id, "invalid-rating", _validation_reason(exc)
            )
            continue
        try:
            # Each cycle and questionnaire a request names is looked up once for all its items.
            cycle = cycles.get(rating.cycle_id, _UNKNOWN)
            if cycle is _UNKNOWN:
                cycle = cycles[rating.cycle_id] = await _cycle_meta(session, ctx, rating.cycle_id)
            cycle = _check_cycle(principal, rating, cycle)
            questionnaire = questionnaires.get(rating.questionnaire_id, _UNKNOWN)
            if questionnaire is _UNKNOWN:
                questionnaire = questionnaires[rating.questionnaire_id] = await _questionnaire_meta(
                    session, ctx, rating.questionnaire_id
                )
            item = _prepare(ctx, principal, index, rating, network_hash, cycle, questionnaire)
        except _Rejected as rejected:
            results[index] = _rejected(index, rating.response_id, rejected.code, rejected.reason)
            continue
        first = first_with_id.get(rating.response_id)
        if first is not None:
            echoes.append((index, first, first.row["content_hash"] == item.row["content_hash"]))
            continue
        first_with_id[rating.response_id] = item
        prepared.append(item)

    if prepared:
        if ctx.group is not None and not session.in_transaction():
            # Nothing of this request is in a transaction yet: join the writes of the
            # responses arriving now (one transaction for all of them).
            results.update(await ctx.group.write(prepared))
        else:
            await _write(session, ctx, prepared, results)
    for index, first, same in echoes:
        original = results[first.index]
        if not same:
            results[index] = _conflict(index, first.rating.response_id)
        elif original.status in ("accepted", "duplicate"):
            results[index] = dataclasses.replace(original, index=index, status="duplicate")
        else:
            results[index] = dataclasses.replace(original, index=index)
    return [results[i] for i in range(len(items))]


async def _write(
    session: AsyncSession, ctx: IntakeContext, items: list[_Item], results: dict[int, Outcome]
) -> None:
    conn = await session.connection()
    names = {
        "cycles": sorted({i.cycle.id for i in items}),
        "questionnaires": sorted({i.questionnaire.id for i in items}),
    }
    found = None
    if on_driver(conn):
        found = await _statuses_on_driver(conn.dialect).rows(session, names)
    if found is None:
        found = list(await conn.execute(_STATUSES, names))
    statuses = {(kind, row_id): status for kind, row_id, status in found}
    insertable: list[_Item] = []
    closed: list[tuple[_Item, str, str]] = []
    for item in items:
        cycle_status = statuses.get(("cycle", item.cycle.id))
        questionnaire_status = statuses.get(("questionnaire", item.questionnaire.id))
        if cycle_status != "open":
            closed.append((item, "cycle-not-open", f"The cycle is {cycle_status}: not rating"))
        elif questionnaire_status != "published":
            closed.append(
                (
                    item,
                    "questionnaire-closed",
                    f"This questionnaire version is {questionnaire_status}",
                )
            )
        else:
            insertable.append(item)

    allowed: list[_Item] = []
    waits = await ctx.limiter.hit_each(
        ctx.device_limit, "ratings-device", [item.device_hash.hex() for item in insertable]
    )
    for item, retry_after in zip(insertable, waits, strict=True):
        if retry_after is None:
            allowed.append(item)
        else:
            results[item.index] = _rejected(
                item.index,
                item.rating.response_id,
                "rate-limited",
                f"Too many ratings from this device: at most {ctx.device_limit}",
                retry_after=int(retry_after + 0.999),
            )

    inserted: set[uuid.UUID] = set()
    now = utcnow()
    if allowed and conn.dialect.name == "postgresql":
        inserted = await _insert_ratings_unnest(conn, [i.row for i in allowed], now)
    elif allowed:
        for item in allowed:
            item.row["received_at"] = now
        returned = await conn.execute(_insert_ratings(session), [i.row for i in allowed])
        inserted = set(returned.scalars())
    # Two copies of one response in the same batch (sent by two requests at once): the first
    # is the one inserted, the other is told apart below like any resend.
    accepted: list[_Item] = []
    claimed: set[uuid.UUID] = set()
    for item in allowed:
        if item.row["id"] in inserted and item.row["id"] not in claimed:
            claimed.add(item.row["id"])
            accepted.append(item)
    for item in accepted:
        results[item.index] = Outcome(
            item.index, item.rating.response_id, "accepted", received_at=now
        )

    # Not inserted: a copy of a response we have, the same id with other content, or a
    # respondent who already rated the department. Resends are recognised even after the
    # cycle closed, so an app can always clear its queue.
    taken = {id(item) for item in accepted}
    unresolved = [i for i in allowed if id(i) not in taken] + [c[0] for c in closed]
    if not unresolved:
        return
    existing = {
        row.id: row
        for row in await conn.execute(
            select(Rating.id, Rating.content_hash, Rating.received_at).where(
                Rating.id.in_([i.row["id"] for i in unresolved])
            )
        )
    }
    reasons = {id(c[0]): (c[1], c[2]) for c in closed}
    for item in unresolved:
        response_id = item.rating.response_id
        found = existing.get(item.row["id"])
        if found is not None:
            if found.content_hash == item.row["content_hash"]:
                results[item.index] = Outcome(
                    item.index, response_id, "duplicate", received_at=found.received_at
                )
            else:
                results[item.index] = _conflict(item.index, response_id)
        elif id(item) in reasons:
            code, reason = reasons[id(item)]
            results[item.index] = _rejected(item.index, response_id, code, reason)
        else:
            results[item.index] = _rejected(
                item.index,
                response_id,
                "already-rated",
                "This respondent has already rated this department in this cycle",
            )


class GroupCommit:
    """Single responses that arrive together are written together: one transaction, one
    multi-row INSERT each, one commit for all of them (group commit).

    A request queues its prepared responses and waits; while transactions are being written
    (at most `MAX_WRITERS` at once), the requests arriving meanwhile queue up and the next
    one takes them all (at most `MAX_BATCH` responses). Nothing waits for a timer: an idle
    service writes a lone response at once. Every request gets its own responses' outcomes;
    if the transaction fails, every request in it fails (and its app sends again: response
    ids make that harmless)."""

    MAX_BATCH = 500
    # Transactions in flight at once: while one commits, the next is already being written.
    MAX_WRITERS = 3

    def __init__(self, db: Database, ctx: IntakeContext) -> None:
        self._db = db
        self._ctx = ctx
        self._queue: list[tuple[list[_Item], asyncio.Future[dict[int, Outcome]]]] = []
        self._writers = 0
        # Requests and transactions so far: their ratio is how much grouping saves.
        self.requests = 0
        self.transactions = 0

    async def write(self, items: list[_Item]) -> dict[int, Outcome]:
        future: asyncio.Future[dict[int, Outcome]] = asyncio.get_running_loop().create_future()
        self._queue.append((items, future))
        if self._writers < self.MAX_WRITERS:
            self._writers += 1
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                taken: list[tuple[list[_Item], asyncio.Future[dict[int, Outcome]]]] = []
                size = 0
                while self._queue and (
                    not taken or size + len(self._queue[0][0]) <= self.MAX_BATCH
                ):
                    entry = self._queue.pop(0)
                    taken.append(entry)
                    size += len(entry[0])
                await self._write(taken)
        finally:
            self._writers -= 1

    async def _write(
        self, taken: list[tuple[list[_Item], asyncio.Future[dict[int, Outcome]]]]
    ) -> None:
        # Positions in the shared batch, mapped back to each request's own indexes (a request
        # alone in its transaction keeps its own).
        batch: list[_Item] = []
        owners: list[tuple[int, int]] = []  # (request number, its index)
        if len(taken) == 1:
            batch = taken[0][0]
        else:
            for number, (items, _) in enumerate(taken):
                for item in items:
                    owners.append((number, item.index))
                    batch.append(dataclasses.replace(item, index=len(batch)))
        results: dict[int, Outcome] = {}
        self.requests += len(taken)
        self.transactions += 1
        try:
            async with self._db.session() as session:
                await _write(session, self._ctx, batch, results)
                await session.commit()
        except Exception as exc:  # every request of the transaction answers with it
            for _, future in taken:
                if not future.done():
                    future.set_exception(exc)
            return
        if len(taken) == 1:
            answers = [results]
        else:
            answers = [{} for _ in taken]
            for position, (number, index) in enumerate(owners):
                result = results[position]
                result.index = index  # made for this transaction only: no copy needed
                answers[number][index] = result
        for (_, future), answer in zip(taken, answers, strict=True):
            if not future.done():
                future.set_result(answer)


# On PostgreSQL a batch is one statement over arrays (`unnest`), run on the driver: one
# parameter per column instead of one per value, encoded by asyncpg, with nothing for
# SQLAlchemy to do per row. The same rows and the same ON CONFLICT as the Core statement.
# A column with one value for every row (`received_at` always; the cycle, questionnaire,
# client and caller's network of a request, mostly) is one value, not an array of copies.
# A response's dimension sums are arrays themselves: they travel as array literals (`{…}`),
# read by PostgreSQL's `::type[]`.
_RATING_COLUMNS = (
    ("id", "uuid"),
    ("jurisdiction_code", "text"),
    ("cycle_id", "uuid"),
    ("group_id", "uuid"),
    ("questionnaire_id", "uuid"),
    ("department_id", "uuid"),
    ("client", "text"),
    ("respondent_hash", "bytea"),
    ("device_hash", "bytea"),
    ("network_hash", "bytea"),
    ("content_hash", "bytea"),
    ("answers", "text"),
    ("comment", "text"),
    ("stratum", "text"),
    ("duration_seconds", "float8"),
    ("straight_lined", "bool"),
    ("dimensions", "text"),
    ("means", "text"),
    ("answered", "text"),
    ("tops", "text"),
    ("received_at", "timestamptz"),
)
# What a column's text becomes in the table.
_CASTS = {
    "answers": "::jsonb",
    "dimensions": "::text[]",
    "means": "::float8[]",
    "answered": "::int4[]",
    "tops": "::int4[]",
}


@functools.lru_cache(maxsize=64)
def _insert_ratings_sql(single: frozenset[str]) -> str:
    """The INSERT with the columns in `single` as one value each, the others unnested."""
    names = [name for name, _ in _RATING_COLUMNS]
    params = {name: f"${n}::{kind}" for n, (name, kind) in enumerate(_RATING_COLUMNS, start=1)}
    unnested = [name for name in names if name not in single]
    picked = ", ".join(
        f"{params[name] if name in single else 'u.' + name}{_CASTS.get(name, '')}" for name in names
    )
    arrays = ", ".join(f"{params[name]}[]" for name in unnested)
    return (
        f"INSERT INTO ratings ({', '.join(names)}) SELECT {picked}"
        f" FROM unnest({arrays}) AS u({', '.join(unnested)}) ON CONFLICT DO NOTHING RETURNING id"
    )


@functools.lru_cache(maxsize=256)
def _text_array(values: tuple[str, ...]) -> str:
    """A PostgreSQL array literal of strings, every element quoted (dimension codes repeat
    from one response to the next: each set is quoted once)."""
    quoted = (v.replace("\\", "\\\\").replace('"', '\\"') for v in values)
    return "{" + ",".join(f'"{v}"' for v in quoted) + "}"


def _number_array(values: list[Any]) -> str:
    return "{" + ",".join(map(repr, values)) + "}"


async def _insert_ratings_unnest(
    conn: Any, rows: list[dict[str, Any]], received_at: datetime
) -> set[uuid.UUID]:
    driver = (await pooled(conn)).driver_connection
    values: list[Any] = []
    single: set[str] = set()
    for name, _ in _RATING_COLUMNS:
        if name == "received_at":
            column: list[Any] = [received_at]
        elif name == "answers":
            column = [orjson.dumps(row["answers"]).decode() for row in rows]
        elif name == "dimensions":
            column = [_text_array(tuple(row["dimensions"])) for row in rows]
        elif name in ("means", "answered", "tops"):
            column = [_number_array(row[name]) for row in rows]
        else:
            column = [row[name] for row in rows]
        first = column[0]
        if name not in ("id", "answers") and all(value == first for value in column):
            single.add(name)
            values.append(first)
        else:
            values.append(column)
    found = await driver.fetch(_insert_ratings_sql(frozenset(single)), *values)
    return {record[0] for record in found}


_STATEMENTS: dict[str, Any] = {}


def _insert_ratings(session: AsyncSession) -> Any:
    dialect = session.get_bind().dialect.name
    statement = _STATEMENTS.get(dialect)
    if statement is None:
        statement = (
            upsert_insert(session, Rating).on_conflict_do_nothing().returning(Rating.__table__.c.id)
        )
        _STATEMENTS[dialect] = statement
    return statement


def _rejected(
    index: int,
    response_id: Any,
    code: str,
    reason: str,
    *,
    retry_after: int | None = None,
) -> Outcome:
    return Outcome(
        index=index,
        response_id=None if response_id is None else str(response_id),
        status="rejected",
        code=code,
        reason=reason,
        retry_after=retry_after,
    )


def _conflict(index: int, response_id: uuid.UUID) -> Outcome:
    return Outcome(
        index=index,
        response_id=response_id,
        status="conflict",
        code="response-id-conflict",
        reason="A different response was already received with this response_id",
    )
