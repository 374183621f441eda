"""What every public read shares: the per-address rate limit, conditional answers for
non-JSON bodies, newest-first cursor pages and absolute links."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from fastapi import Request, Response
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.pagination import PageParams, decode_cursor, encode_cursor
from services.common.ratelimit import RateLimiter
from services.disclosure.public.settings import public_settings


async def rate_limited(request: Request) -> None:
    """Count the call against the caller address's public-read limit (429 past it)."""
    settings = public_settings(request)
    if not settings.public_rate_limit_enabled:
        return
    limiter = getattr(request.app.state, "public_rate_limiter", None)
    if limiter is None:
        limiter = request.app.state.public_rate_limiter = RateLimiter(
            settings.rate_limit_storage_url
        )
    address = request.client.host if request.client else "unknown"
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


class Conditional:
    """A public read whose answer is a function of published content and the request only:
    its ETag comes from `published_state`, so a matching If-None-Match is answered 304
    before anything is loaded or serialized."""

    def __init__(self, request: Request, principal: Principal, state: str, *, max_age: int = 60):
        key = "\n".join(
            (request.url.path, str(request.url.query), request.headers.get("host", ""), state)
        )
        self.etag = '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'
        self.headers = {
            "ETag": self.etag,
            "Cache-Control": (
                f"public, max-age={max_age}" if principal.is_anonymous else "private, no-cache"
            ),
            "Vary": "Authorization",
        }
        if_none_match = request.headers.get("if-none-match", "")
        candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        self.matched = self.etag in candidates or "*" in candidates

    def not_modified(self) -> Response:
        return Response(status_code=304, headers=self.headers)

    def answer(
        self, body: bytes, media_type: str, headers: dict[str, str] | None = None
    ) -> Response:
        return Response(body, media_type=media_type, headers={**self.headers, **(headers or {})})


async def conditional(request: Request, principal: Principal, session: AsyncSession) -> Conditional:
    return Conditional(request, principal, await published_state(session))
