"""API keys for callers that are systems, not people: an internal department system, a
citizen app, a portal. The office issues them here; the key is shown once and only its hash
is kept.

A request to the gateway with `X-API-Key: gpk_<id>_<secret>` (or `Authorization: ApiKey
…`) is authenticated here and travels on to the services with a short-lived bearer token
for the key's principal: its role, jurisdiction, department and scopes. The services only
ever see tokens, and an integration key reaches only its own department's data.
"""

from __future__ import annotations

import time
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, update

from gateway.models import ApiClient
from gateway.upstream import UpstreamError, get_json
from services.common.auth import (
    AdminOnly,
    Principal,
    api_key_matches,
    issue_api_key,
    mint_token,
    parse_api_key,
)
from services.common.db import Database, utcnow
from services.common.errors import (
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
    responses,
)
from services.common.jurisdictions import DIVISION_CODE_PATTERN, ensure_writable
from services.common.pagination import Page, PageParamsDep, decode_cursor, encode_cursor
from services.common.routing import SessionDep, TransactionalRoute

router = APIRouter(prefix="/v1/api-clients", tags=["api clients"], route_class=TransactionalRoute)
KeyRole = Literal["integration", "citizen_app", "portal"]
TOKEN_TTL_SECONDS = 300
TOUCH_EVERY_SECONDS = 60.0


class ApiClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["教育局业务系统"])
    role: KeyRole = Field(description="integration: a department's own system")
    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    department_id: uuid.UUID | None = Field(
        default=None, description="Required for integration keys: the one department it serves"
    )
    scopes: list[Annotated[str, Field(max_length=64)]] = Field(default_factory=list, max_length=20)


class ApiClientView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key_id: str
    name: str
    role: str
    jurisdiction_codes: list[str]
    department_id: str | None
    scopes: list[str]
    active: bool
    created_at: datetime
    last_used_at: datetime | None


class IssuedApiClient(ApiClientView):
    api_key: str = Field(description="Shown only now; send it as X-API-Key")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedApiClient,
    responses=responses(Unauthorized, Forbidden, Unprocessable),
)
async def issue(
    request: Request, session: SessionDep, principal: AdminOnly, body: ApiClientCreate
) -> IssuedApiClient:
    """Issue a key. An integration key is bound to a department of your jurisdiction."""
    ensure_writable(principal, body.jurisdiction_code)
    if body.role == "integration":
        if body.department_id is None:
            raise Unprocessable("An integration key needs the department it serves")
        await _check_department(request, body.jurisdiction_code, body.department_id)
    issued = issue_api_key()
    client = ApiClient(
        key_id=issued.key_id,
        secret_hash=issued.secret_hash,
        name=body.name,
        role=body.role,
        jurisdiction_codes=[body.jurisdiction_code],
        department_id=str(body.department_id) if body.department_id else None,
        scopes=body.scopes,
        active=True,
    )
    session.add(client)
    await session.flush()
    return IssuedApiClient(
        **ApiClientView.model_validate(client).model_dump(), api_key=issued.plaintext
    )


async def _check_department(request: Request, jurisdiction: str, department_id: uuid.UUID) -> None:
    settings = request.app.state.settings
    try:
        department = await get_json(
            request.app.state.http,
            settings.service_urls()["indicator"],
            "indicator",
            f"/v1/departments/{department_id}",
            authorization=request.headers.get("authorization"),
        )
    except UpstreamError as exc:
        if exc.status == 404:
            raise Unprocessable(f"No department {department_id} in {jurisdiction}") from exc
        raise ServiceUnavailable("The indicator service cannot confirm the department") from exc
    if department["jurisdiction_code"] != jurisdiction:
        raise Unprocessable(f"No department {department_id} in {jurisdiction}")


@router.get("", response_model=Page[ApiClientView], responses=responses(Unauthorized, Forbidden))
async def list_clients(
    session: SessionDep, principal: AdminOnly, page: PageParamsDep
) -> Page[ApiClientView]:
    """The keys issued in your jurisdictions (never the keys themselves). There are few keys,
    and their jurisdictions are a JSON list, so they are filtered here, then paged."""
    rows = (await session.scalars(select(ApiClient).order_by(ApiClient.id))).all()
    mine = set(principal.jurisdictions)
    visible = [r for r in rows if set(r.jurisdiction_codes) & mine]
    if page.cursor:
        after = decode_cursor(page.cursor)
        visible = [r for r in visible if r.id > after]
    items = visible[: page.limit]
    next_cursor = encode_cursor(items[-1].id) if len(visible) > page.limit else None
    return Page(items=[ApiClientView.model_validate(r) for r in items], next_cursor=next_cursor)


@router.delete(
    "/{client_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def revoke(session: SessionDep, principal: AdminOnly, client_id: uuid.UUID) -> Response:
    """Revoke a key: it stops working at once."""
    client = await session.get(ApiClient, client_id, with_for_update=True)
    if client is None or not set(client.jurisdiction_codes) & set(principal.jurisdictions):
        raise NotFound(f"API client {client_id} not found")
    client.active = False
    await session.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    return value.strip() if scheme.lower() == "apikey" else None


class KeyExchange:
    """Turns a presented API key into the bearer token the services understand."""

    def __init__(self) -> None:
        self._touched: dict[str, float] = {}

    async def authorization(self, request: Request) -> str | None:
        """The Authorization header to send upstream: a minted token for an API key, the
        caller's own header otherwise."""
        key = presented_key(request)
        if key is None:
            return request.headers.get("authorization")
        key_id, secret = parse_api_key(key)
        db = request.app.state.db
        async with db.session(read_only=True, autocommit=True) as session:
            client = await session.scalar(select(ApiClient).where(ApiClient.key_id == key_id))
        if client is None or not client.active or not api_key_matches(secret, client.secret_hash):
            raise Unauthorized("Unknown or revoked API key")
        settings = request.app.state.settings
        if settings.jwt_jwks_url:
            raise ServiceUnavailable(
                "API keys need the shared signing secret; this deployment verifies tokens "
                "with a JWKS URL"
            )
        await self._touch(db, client)
        principal = Principal(
            subject=f"api-client:{client.key_id}",
            role=client.role,  # type: ignore[arg-type]
            jurisdictions=tuple(client.jurisdiction_codes),
            department_id=client.department_id,
            scopes=frozenset(client.scopes),
        )
        token = mint_token(
            settings.jwt_secret.get_secret_value(),
            role=principal.role,
            subject=principal.subject,
            jurisdictions=list(principal.jurisdictions),
            department_id=principal.department_id,
            scopes=sorted(principal.scopes),
            ttl_seconds=TOKEN_TTL_SECONDS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
        return f"Bearer {token}"

    async def _touch(self, db: Database, client: ApiClient) -> None:
        """Record use, at most once a minute per key (a hot key would otherwise write on
        every request)."""
        now = time.monotonic()
        if now - self._touched.get(client.key_id, -TOUCH_EVERY_SECONDS) < TOUCH_EVERY_SECONDS:
            return
        self._touched[client.key_id] = now
        async with db.session() as session:
            await session.execute(
                update(ApiClient).where(ApiClient.id == client.id).values(last_used_at=utcnow())
            )
            await session.commit()
