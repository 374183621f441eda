"""The edge owns the transaction: one session per request, committed before the response.

`TransactionalRoute` opens the session (read-only for GET), runs the endpoint, commits on
success and rolls back on any error. Routes that declare `Depends(idempotency_key)` also get
`Idempotency-Key` handling, with the stored response written in the same transaction as the
effect it describes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import resolve_principal
from services.common.db import Database, utcnow
from services.common.errors import Conflict, Unprocessable

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENCY_TTL = timedelta(hours=24)
# An in-flight claim older than this belonged to a request that died; it may be taken over.
IN_FLIGHT_STALE = timedelta(seconds=60)
REPLAYED_HEADERS = ("content-type", "location", "etag")


async def _session(request: Request) -> AsyncSession:
    # async, as are all dependencies here: a sync one costs a thread-pool hop per request.
    return request.state.session


SessionDep = Annotated[AsyncSession, Depends(_session)]


async def idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="Retry-safe key: the same key and body replay the first response",
        ),
    ] = None,
) -> str | None:
    return idempotency_key


Idempotent = Depends(idempotency_key)


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = super().get_route_handler()
        idempotent = any(d.call is idempotency_key for d in self.dependant.dependencies)

        async def handler(request: Request) -> Response:
            db: Database = request.app.state.db
            claim: _Claim | None = None
            key = request.headers.get("idempotency-key") if idempotent else None
            if key:
                outcome = await _claim(db, request, key)
                if isinstance(outcome, Response):
                    return outcome
                claim = outcome
            async with db.session(read_only=request.method in READ_METHODS) as session:
                request.state.session = session
                try:
                    response = await endpoint(request)
                    if response.status_code >= 400:
                        await session.rollback()
                    else:
                        if claim is not None:
                            await _complete(session, claim, response)
                        await session.commit()
                except BaseException:
                    await session.rollback()
                    if claim is not None:
                        await _release(db, claim)
                    raise
            if claim is not None and response.status_code >= 400:
                await _release(db, claim)
            return response

        return handler


class _Claim:
    def __init__(self, model: Any, claim_id: Any) -> None:
        self.model = model
        self.id = claim_id


def request_fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """What makes two requests "the same" for an Idempotency-Key."""
    digest = hashlib.sha256()
    for part in (method, path, query):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


async def _claim(db: Database, request: Request, key: str) -> _Claim | Response:
    """Register the key as in flight, or answer from what an earlier request left."""
    if not 1 <= len(key) <= 200:
        raise Unprocessable(
            "Idempotency-Key must be 1 to 200 characters", code="invalid-idempotency-key"
        )
    principal = await resolve_principal(request)
    owner = f"{principal.role}:{principal.subject}"
    fingerprint = request_fingerprint(
        request.method, request.url.path, request.url.query, await request.body()
    )
    model = request.app.state.tables.idempotency
    now = utcnow()
    async with db.session() as session:
        existing = await session.scalar(select(model).where(model.owner == owner, model.key == key))
        if existing is not None and (
            existing.created_at < now - IDEMPOTENCY_TTL
            or (existing.state == "in_flight" and existing.created_at < now - IN_FLIGHT_STALE)
        ):
            await session.delete(existing)
            await session.flush()
            existing = None
        if existing is None:
            claim = model(owner=owner, key=key, fingerprint=fingerprint, state="in_flight")
            session.add(claim)
            try:
                await session.commit()
                return _Claim(model, claim.id)
            except IntegrityError:
                await session.rollback()
                existing = await session.scalar(
                    select(model).where(model.owner == owner, model.key == key)
                )
                if existing is None:  # the racing request failed and released the key
                    raise Conflict(
                        "The same Idempotency-Key is being processed; retry",
                        code="idempotency-key-in-flight",
                        headers={"Retry-After": "1"},
                    ) from None
        if existing.fingerprint != fingerprint:
            raise Unprocessable(
                "This Idempotency-Key was already used with a different request",
                code="idempotency-key-reused",
            )
        if existing.state != "completed":
            raise Conflict(
                "A request with this Idempotency-Key is still in flight; retry",
                code="idempotency-key-in-flight",
                headers={"Retry-After": "1"},
            )
        headers = dict(existing.response_headers or {})
        headers["idempotent-replayed"] = "true"
        return Response(
            content=existing.response_body or "",
            status_code=existing.response_status or 200,
            headers=headers,
        )


async def _complete(session: AsyncSession, claim: _Claim, response: Response) -> None:
    headers = {k: v for k, v in response.headers.items() if k in REPLAYED_HEADERS}
    await session.execute(
        update(claim.model)
        .where(claim.model.id == claim.id)
        .values(
            state="completed",
            response_status=response.status_code,
            response_body=bytes(response.body).decode(),
            response_headers=headers,
        )
    )


async def _release(db: Database, claim: _Claim) -> None:
    async with db.session() as session:
        await session.execute(delete(claim.model).where(claim.model.id == claim.id))
        await session.commit()
