"""What every public read shares: the per-address rate limit, conditional answers for
non-JSON bodies, newest-first cursor pages and absolute links."""

from __future__ import annotations

import hashlib
import itertools
import re
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.routing import iter_route_contexts
from sqlalchemy import Select, event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from starlette.routing import Mount, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.auth import Principal
from services.common.errors import AppError, app_error_response
from services.common.pagination import PageParams, decode_cursor, encode_cursor
from services.common.ratelimit import RateLimiter
from services.disclosure.public.settings import settings_of


async def rate_limited(request: Request) -> None:
    """Count the call against the caller address's public-read limit (429 past it)."""
    await count_public_read(request.app, request.client.host if request.client else "unknown")


async def count_public_read(app: Any, address: str) -> None:
    settings = settings_of(app)
    if not settings.public_rate_limit_enabled:
        return
    limiter = getattr(app.state, "public_rate_limiter", None)
    if limiter is None:
        limiter = app.state.public_rate_limiter = RateLimiter(settings.rate_limit_storage_url)
    await limiter.enforce(
        settings.public_rate_limit, "disclosure-public", address, what="public reads"
    )


def cached_body(
    request: Request,
    principal: Principal,
    body: bytes,
    media_type: str,
    *,
    max_age: int = 60,
    headers: dict[str, str] | None = None,
) -> Response:
    """`cached_json` for bodies that are not JSON (CSV, Atom, HTML): strong ETag, 304."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    cache_control = f"public, max-age={max_age}" if principal.is_anonymous else "private, no-cache"
    common = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Authorization"}
    if_none_match = request.headers.get("if-none-match", "")
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    if etag in candidates or "*" in candidates:
        return Response(status_code=304, headers=common)
    return Response(body, media_type=media_type, headers={**common, **(headers or {})})


async def paginate_newest_first(
    session: AsyncSession,
    stmt: Select[Any],
    key_column: Any,
    page: PageParams,
    *,
    columns: tuple[Any, ...] | None = None,
) -> tuple[list[Any], str | None]:
    """Rows newest first (descending time-ordered id) after the cursor: what is inserted
    meanwhile lands before the first page, never shifting the pages a reader is walking.
    With `columns`, plain rows of those columns (no ORM instances) read on the connection."""
    if page.cursor:
        stmt = stmt.where(key_column < decode_cursor(page.cursor, uuid.UUID))
    stmt = stmt.order_by(key_column.desc()).limit(page.limit + 1)
    if columns is not None:
        stmt = stmt.with_only_columns(*columns)
        rows = list((await (await session.connection()).execute(stmt)).all())
    else:
        rows = list((await session.scalars(stmt)).all())
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        return rows, encode_cursor(getattr(rows[-1], key_column.key))
    return rows, None


def absolute(request: Request, path: str) -> str:
    """An absolute link to `path` on the origin the caller used."""
    return str(request.base_url).rstrip("/") + path


async def published_state(session: AsyncSession) -> str:
    """Where published content stands: the newest version and the ledger's head. Every
    publication and every retraction moves one of them (versions are frozen, a retraction
    appends to the ledger), and both are read from a primary key's index."""
    from services.disclosure.models import LedgerEntry, PublicationVersion

    row = (
        await session.execute(
            select(
                # PostgreSQL has no max(uuid); the index gives the newest id all the same.
                select(PublicationVersion.id)
                .order_by(PublicationVersion.id.desc())
                .limit(1)
                .scalar_subquery(),
                select(func.max(LedgerEntry.seq)).scalar_subquery(),
            )
        )
    ).one()
    return f"{row[0]}:{row[1]}"


# Bumped whenever this process flushes a version or a ledger entry: its own publications
# are seen at once; another replica's within `public_state_ttl_seconds`.
_generation = itertools.count()
_current_generation = 0


def _published_something(session: Session, _context: Any) -> None:
    from services.disclosure.models import LedgerEntry, PublicationVersion

    for instance in (*session.new, *session.dirty):
        if isinstance(instance, PublicationVersion | LedgerEntry):
            session.info["published_something"] = True
            return


def _committed(session: Session) -> None:
    global _current_generation
    if session.info.pop("published_something", False):
        _current_generation = next(_generation) + 1


def _rolled_back(session: Session) -> None:
    session.info.pop("published_something", None)


event.listen(Session, "after_flush", _published_something)
event.listen(Session, "after_commit", _committed)
event.listen(Session, "after_soft_rollback", lambda session, _previous: _rolled_back(session))


@dataclass
class _Memo:
    state: str
    generation: int
    read_at: float


def _remembered(app: Any) -> str | None:
    ttl = settings_of(app).public_state_ttl_seconds
    app_state = app.state
    memo: _Memo | None = getattr(app_state, "public_state", None)
    if memo is None or memo.generation != _current_generation:
        return None
    if time.monotonic() - memo.read_at < ttl:
        return memo.state
    # Past its time while another request reads it anew: still the state of at most a read
    # ago, so the callers arriving meanwhile need not all query it too. Never after this
    # process published something (the generation moved).
    return memo.state if getattr(app_state, "public_state_reading", False) else None


async def current_state(request: Request, session: AsyncSession) -> str:
    """`published_state`, remembered by the process for `public_state_ttl_seconds` (and
    until it publishes something itself): a revalidation then costs no database call."""
    if (state := _remembered(request.app)) is not None:
        return state
    generation = _current_generation
    read_at = time.monotonic()
    request.app.state.public_state_reading = True
    try:
        state = await published_state(session)
    finally:
        request.app.state.public_state_reading = False
    request.app.state.public_state = _Memo(state, generation, read_at)
    return state


RESPONSE_CACHE_SIZE = 256


class Conditional:
    """A public read whose answer is a function of published content and the request only:
    its ETag comes from the published state, so a matching If-None-Match is answered 304
    before anything is loaded, and an answer already made for the same state and request is
    sent again as it was (a few hundred of them are kept)."""

    def __init__(
        self,
        app: Any,
        state: str,
        *,
        path: str,
        query_string: bytes,
        host: str,
        if_none_match: str,
        anonymous: bool,
        max_age: int = 60,
    ) -> None:
        key = "\n".join((path, query_string.decode("latin-1"), host, state))
        self.etag = '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
        self.headers = {
            "ETag": self.etag,
            "Cache-Control": f"public, max-age={max_age}" if anonymous else "private, no-cache",
            "Vary": "Authorization",
        }
        candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        self.matched = self.etag in candidates or "*" in candidates
        cache = getattr(app.state, "public_responses", None)
        if cache is None:
            cache = app.state.public_responses = OrderedDict()
        self._cache: OrderedDict[str, tuple[bytes, str, dict[str, str]]] = cache

    @classmethod
    def of(cls, request: Request, principal: Principal, state: str) -> Conditional:
        # From the ASGI scope: building the request's URL object cost more than the rest.
        scope = request.scope
        return cls(
            request.app,
            state,
            path=scope["path"],
            query_string=scope.get("query_string", b""),
            host=request.headers.get("host", ""),
            if_none_match=request.headers.get("if-none-match", ""),
            anonymous=principal.is_anonymous,
        )

    def not_modified(self) -> Response:
        return Response(status_code=304, headers=self.headers)

    def made_before(self) -> Response | None:
        """The answer to this request at this state, if it was made already."""
        found = self._cache.get(self.etag)
        if found is None:
            return None
        self._cache.move_to_end(self.etag)
        body, media_type, extra = found
        return Response(body, media_type=media_type, headers={**self.headers, **extra})

    def answer(
        self, body: bytes, media_type: str, headers: dict[str, str] | None = None
    ) -> Response:
        self._cache[self.etag] = (body, media_type, dict(headers or {}))
        while len(self._cache) > RESPONSE_CACHE_SIZE:
            self._cache.popitem(last=False)
        return Response(body, media_type=media_type, headers={**self.headers, **(headers or {})})

    def early(self) -> Response | None:
        """304, or the answer made before: what can be sent without loading anything."""
        return self.not_modified() if self.matched else self.made_before()


async def conditional(request: Request, principal: Principal, session: AsyncSession) -> Conditional:
    return Conditional.of(request, principal, await current_state(request, session))


def answers_early(endpoint: Any) -> Any:
    """Mark a public read whose every answer is a `Conditional` one: `EarlyAnswers` may
    then answer an anonymous caller's 304 (or an answer made before) ahead of routing,
    without parsing its parameters."""
    endpoint.answers_early = True
    return endpoint


@dataclass(frozen=True)
class _Matched:
    path: str  # the route's template: what the request metrics are labelled with


class EarlyAnswers:
    """ASGI middleware: an anonymous GET of an `answers_early` read whose published state
    the process remembers has the rate limit counted and, when its If-None-Match matches
    (or the same answer was made already), that answer sent here, ahead of routing and the
    endpoint's dependencies: what the endpoint would answer first thing anyway. Runs inside
    the request context, so the answer carries its request id and is logged and counted."""

    PATHS_REMEMBERED = 1024

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: list[tuple[re.Pattern[str], _Matched | None]] | None = None
        self._paths: dict[str, _Matched | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            early = await self._early(scope)
            if early is not None:
                await early(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _early(self, scope: Scope) -> Response | None:
        app = scope["app"]
        route = self._route(app, scope["path"])
        if route is None:
            return None
        host = if_none_match = ""
        for name, value in scope["headers"]:
            if name == b"authorization":
                return None
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
        state = _remembered(app)
        if state is None:
            return None
        early = Conditional(
            app,
            state,
            path=scope["path"],
            query_string=scope.get("query_string", b""),
            host=host,
            if_none_match=if_none_match,
            anonymous=True,
        ).early()
        if early is None:
            return None
        scope["route"] = route
        client = scope.get("client")
        try:
            await count_public_read(app, client[0] if client else "unknown")
        except AppError as exc:
            return app_error_response(Request(scope), exc)
        return early

    def _route(self, app: Any, path: str) -> _Matched | None:
        """The early-answering GET route the router would pick for `path`, if it is one."""
        if path in self._paths:
            return self._paths[path]
        if self._routes is None:
            self._routes = _get_routes(app)
        found = next((route for regex, route in self._routes if regex.match(path)), None)
        if len(self._paths) >= self.PATHS_REMEMBERED:
            self._paths.clear()
        self._paths[path] = found
        return found


def _get_routes(app: Any) -> list[tuple[re.Pattern[str], _Matched | None]]:
    """Every route that could answer a GET, in the router's order, each with its template if
    it answers early (None if not): the first whose pattern matches a path is the router's."""
    table: list[tuple[re.Pattern[str], _Matched | None]] = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            table.append((route.path_regex, None))
            continue
        methods = getattr(route, "methods", None)
        if context.path is None or (methods is not None and "GET" not in methods):
            continue
        early = getattr(getattr(route, "endpoint", None), "answers_early", False)
        table.append((compile_path(context.path)[0], _Matched(context.path) if early else None))
    return table
