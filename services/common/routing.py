"""The edge owns the transaction: one session per request, committed before the response.

`TransactionalRoute` gives every endpoint a session (`SessionDep`):
- reads (GET, HEAD, OPTIONS) get a read-only session whose statements each run on their own,
  without BEGIN/COMMIT round trips; a read that lost its connection is retried once;
- writes get one transaction, committed when the endpoint answers 2xx/3xx and rolled back on
  an error answer or an exception.

Routes that declare `dependencies=[Idempotent]` also get `Idempotency-Key` handling: the key is
claimed by the first statement of the request's own transaction and the stored response is
written by its last, so a key and the effect it guards commit (or vanish) together. A second
request with the same key waits for the first to finish, then replays its answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Response, params
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import Message, Receive

from services.common.auth import resolve_principal
from services.common.db import Database, upsert_insert, utcnow
from services.common.errors import Unprocessable

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENCY_TTL = timedelta(hours=24)
REPLAYED_HEADERS = ("content-type", "location", "etag")


async def _session(request: Request) -> AsyncSession:
    # async, as are all dependencies here: a sync one costs a thread-pool hop per request.
    return request.state.session


SessionDep = Annotated[AsyncSession, Depends(_session)]


IDEMPOTENCY_KEY_MAX_LENGTH = 200
_IDEMPOTENCY_KEY_TEXT = "Retry-safe key: the same key and body replay the first response"


async def idempotency_key() -> None:
    """The marker of `dependencies=[Idempotent]`. `TransactionalRoute` takes it out of the
    route's dependencies (FastAPI never solves it), reads the header itself and shows it in
    the OpenAPI as `_IDEMPOTENCY_KEY_PARAMETER`."""


Idempotent = Depends(idempotency_key)

# The header as the OpenAPI shows it: what FastAPI wrote for it when it was a `Header`
# parameter of `idempotency_key` (clients' generated code keeps its types).
_IDEMPOTENCY_KEY_PARAMETER = {
    "name": "idempotency-key",
    "in": "header",
    "required": False,
    "schema": {
        "anyOf": [
            {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
            {"type": "null"},
        ],
        "description": _IDEMPOTENCY_KEY_TEXT,
        "title": "Idempotency-Key",
    },
    "description": _IDEMPOTENCY_KEY_TEXT,
}

Endpoint = Callable[[Request], Coroutine[Any, Any, Response]]


class TransactionalRoute(APIRoute):
    def __init__(
        self,
        path: str,
        endpoint: Callable[..., Any],
        *,
        dependencies: Sequence[params.Depends] | None = None,
        openapi_extra: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # `dependencies=[Idempotent]` is read here, not left to FastAPI: the handler reads
        # the header itself, and a header dependency solved on each request costs 25-40 µs
        # (a tenth of a rating intake request). The OpenAPI shows the header all the same.
        dependencies = list(dependencies or ())
        self.idempotent = any(d.dependency is idempotency_key for d in dependencies)
        if self.idempotent:
            dependencies = [d for d in dependencies if d.dependency is not idempotency_key]
            openapi_extra = dict(openapi_extra or {})
            openapi_extra["parameters"] = [
                *openapi_extra.get("parameters", ()),
                _IDEMPOTENCY_KEY_PARAMETER,
            ]
        super().__init__(
            path, endpoint, dependencies=dependencies, openapi_extra=openapi_extra, **kwargs
        )

    def get_route_handler(self) -> Endpoint:
        endpoint = super().get_route_handler()
        idempotent = self.idempotent

        async def handler(request: Request) -> Response:
            db: Database = request.app.state.db
            if request.method in READ_METHODS:
                return await _read(db, endpoint, request)
            key = _idempotency_key(request) if idempotent else None
            return await _write(db, endpoint, request, key)

        return handler


def _idempotency_key(request: Request) -> str | None:
    """The request's `Idempotency-Key`, checked as its declared parameter would be."""
    key = request.headers.get("idempotency-key")
    if key is None or 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH:
        return key
    too_long = len(key) > IDEMPOTENCY_KEY_MAX_LENGTH
    error = {
        "type": "string_too_long" if too_long else "string_too_short",
        "loc": ("header", "idempotency-key"),
        "msg": (
            f"String should have at most {IDEMPOTENCY_KEY_MAX_LENGTH} characters"
            if too_long
            else "String should have at least 1 character"
        ),
        "input": key,
        "ctx": {"max_length": IDEMPOTENCY_KEY_MAX_LENGTH} if too_long else {"min_length": 1},
    }
    raise RequestValidationError([error])


def lost_connection(exc: BaseException) -> bool:
    """The database connection broke under the statement (the pool has replaced it)."""
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


async def _read(db: Database, endpoint: Endpoint, request: Request) -> Response:
    for attempt in (1, 2):
        session = db.session(read_only=True, autocommit=True)
        request.state.session = session
        try:
            return await endpoint(request)
        except DBAPIError as exc:
            # A read changes nothing, so it is safe to run once more on a new connection
            # (pooled connections are not pinged before use: this is where a dropped one
            # is found).
            if attempt == 2 or not lost_connection(exc):
                raise
        finally:
            # A session that never began holds no connection and no objects (its reads went
            # to the driver on connections of their own): nothing to close.
            if session.in_transaction():
                await session.close()
    raise AssertionError("unreachable")


async def _write(db: Database, endpoint: Endpoint, request: Request, key: str | None) -> Response:
    session = db.session()
    request.state.session = session
    began = False
    try:
        claim: _Claim | None = None
        if key:
            began = True
            outcome = await _claim(session, request, key)
            if isinstance(outcome, Response):
                await session.rollback()
                return outcome
            claim = outcome
            request = claim.request
        response = await endpoint(request)
        # An endpoint whose work went elsewhere (the rating intake's group commit) never
        # began its session (adding an object begins it): nothing to commit or close.
        began = began or session.in_transaction()
        if response.status_code >= 400:
            await session.rollback()
        elif began:
            if claim is not None:
                await claim.complete(session, response)
            await session.commit()
    except BaseException:
        began = True
        await session.rollback()
        raise
    finally:
        if began:
            await session.close()
    return response


def _fingerprint_digest(method: str, path: str, query: str) -> Any:
    """What makes two requests "the same" for an Idempotency-Key: method, path, query and
    the body (fed in as it streams)."""
    digest = hashlib.sha256()
    for part in (method, path, query):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest


class _HashingReceive:
    """Passes the request body through to the endpoint, hashing it on the way: the body is
    never held in memory for the fingerprint (an import streams to its spool file as before)."""

    def __init__(self, receive: Receive, digest: Any) -> None:
        self._receive = receive
        self.digest = digest
        self.complete = False

    async def __call__(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request" and not self.complete:
            self.digest.update(message.get("body", b""))
            self.complete = not message.get("more_body", False)
        return message

    async def drain(self) -> None:
        """Hash what the endpoint did not read."""
        while not self.complete:
            if (await self())["type"] == "http.disconnect":
                return


class _Claim:
    """A key inserted by this request's transaction; `complete` stores the answer."""

    def __init__(self, model: Any, claim_id: Any, request: Request, body: _HashingReceive) -> None:
        self.model = model
        self.id = claim_id
        self.request = request
        self._body = body

    async def complete(self, session: AsyncSession, response: Response) -> None:
        await self._body.drain()
        headers = {k: v for k, v in response.headers.items() if k in REPLAYED_HEADERS}
        await session.execute(
            update(self.model)
            .where(self.model.id == self.id)
            .values(
                state="completed",
                fingerprint=self._body.digest.hexdigest(),
                response_status=response.status_code,
                response_body=bytes(response.body).decode(),
                response_headers=headers,
            )
        )


async def _claim(session: AsyncSession, request: Request, key: str) -> _Claim | Response:
    """Insert the key in this transaction, or answer from what an earlier request left.

    The insert waits on the key's unique index while another transaction holds the same key,
    so concurrent retries run one after the other and the later ones replay."""
    if not 1 <= len(key) <= 200:
        raise Unprocessable(
            "Idempotency-Key must be 1 to 200 characters", code="invalid-idempotency-key"
        )
    principal = await resolve_principal(request)
    owner = f"{principal.role}:{principal.subject}"
    model = request.app.state.tables.idempotency
    table = model.__table__
    now = utcnow()
    digest = _fingerprint_digest(request.method, request.url.path, request.url.query)
    claim_statement = (
        upsert_insert(session, model)
        .values(owner=owner, key=key, fingerprint="", state="in_flight")
        .on_conflict_do_nothing(index_elements=["owner", "key"])
        .returning(table.c.id)
    )
    claimed = (await session.execute(claim_statement)).scalar()
    if claimed is None:
        existing = (
            await session.execute(
                select(
                    table.c.id,
                    table.c.created_at,
                    table.c.fingerprint,
                    table.c.state,
                    table.c.response_status,
                    table.c.response_body,
                    table.c.response_headers,
                ).where(table.c.owner == owner, table.c.key == key)
            )
        ).one()
        if existing.created_at >= now - IDEMPOTENCY_TTL and existing.state == "completed":
            body = _HashingReceive(request.receive, digest)
            await body.drain()
            if existing.fingerprint != digest.hexdigest():
                raise Unprocessable(
                    "This Idempotency-Key was already used with a different request",
                    code="idempotency-key-reused",
                )
            headers = dict(existing.response_headers or {})
            headers["idempotent-replayed"] = "true"
            return Response(
                content=existing.response_body or "",
                status_code=existing.response_status or 200,
                headers=headers,
            )
        # Expired (kept past its day) or left over from an older release: the key is free.
        await session.execute(delete(model).where(model.id == existing.id))
        claimed = (await session.execute(claim_statement)).scalar_one()
    body = _HashingReceive(request.receive, digest)
    return _Claim(model, claimed, Request(request.scope, body), body)


async def purge_expired_idempotency_keys(db: Database, model: Any) -> int:
    """Delete keys older than their day; a retry after that is a new request."""
    async with db.session() as session:
        result = await session.execute(
            delete(model).where(model.created_at < utcnow() - IDEMPOTENCY_TTL)
        )
        await session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
