"""API clients: callers that are systems, not people — a third-party portal, a citizen mobile
app, a department's internal system. The office registers them here and issues their keys;
a key is shown once and only its hash is kept.

A request to the gateway with `X-API-Key: gpk_<id>_<secret>` (or `Authorization: ApiKey …`)
is authenticated here and travels on to the services with a short-lived bearer token for the
client's principal: its role (by kind), jurisdiction, department and scopes. The services only
ever see tokens, and an internal system's key reaches only its own department's data.

Keys rotate (the old key keeps working for a grace period), expire, and are revoked one by
one or with their client. Every change is audited in the gateway's own audit log.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import event, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import ApiClient, ApiKey, AuditLog
from gateway.upstream import UpstreamError, get_json
from services.common import db as common_db
from services.common.audit import AUDIT_MODEL, record_audit, record_change, snapshot
from services.common.auth import (
    AdminOnly,
    Principal,
    Role,
    api_key_matches,
    issue_api_key,
    mint_token,
    parse_api_key,
)
from services.common.db import Database
from services.common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
    responses,
)
from services.common.jurisdictions import DIVISION_CODE_PATTERN, ensure_writable, scoped
from services.common.pagination import Page, PageParamsDep, paginate
from services.common.routing import SessionDep, TransactionalRoute

router = APIRouter(prefix="/v1/api-clients", tags=["api clients"], route_class=TransactionalRoute)

ClientKind = Literal["portal", "mobile_app", "internal_system"]
# The principal each kind of client acts as in the services.
ROLE_OF_KIND: dict[str, Role] = {
    "portal": "portal",
    "mobile_app": "citizen_app",
    "internal_system": "integration",
}
# Requests written before clients had a kind name the role instead.
KIND_OF_ROLE = {role: kind for kind, role in ROLE_OF_KIND.items()}

TOKEN_TTL_SECONDS = 300
# A cached token is replaced this long before it expires, so none reaches a service stale.
TOKEN_RENEW_BEFORE_SECONDS = 60
# How long a key's client is trusted from memory: another process's revocation takes at most
# this long to be seen here (this process's own takes effect at once).
CACHE_TTL_SECONDS = 30.0
CACHE_MAX_KEYS = 10_000
TOUCH_EVERY_SECONDS = 60
DEFAULT_GRACE_SECONDS = 24 * 3600
MAX_GRACE_SECONDS = 7 * 24 * 3600
MAX_LIVE_KEYS = 10

# The wall clock, for expiry and last use (a module attribute, so tests can move time).
utcnow: Callable[[], datetime] = common_db.utcnow

Scope = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.:-]{0,63}$", examples=["ratings:write"])]


# ---------------------------------------------------------------- schemas


class ApiClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, examples=["教育局业务系统"])
    kind: ClientKind = Field(description="internal_system: a department's own system")
    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    department_id: uuid.UUID | None = Field(
        default=None, description="Required for internal systems: the one department it serves"
    )
    scopes: list[Scope] = Field(default_factory=list, max_length=20)
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the first key stops working (never, if absent)"
    )

    @model_validator(mode="before")
    @classmethod
    def _kind_from_role(cls, data: Any) -> Any:
        if isinstance(data, dict) and "role" in data and "kind" not in data:
            data = dict(data)
            role = data.pop("role")
            data["kind"] = KIND_OF_ROLE.get(role, role) if isinstance(role, str) else role
        return data


class ApiClientUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    scopes: list[Scope] | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _no_nulls(self) -> ApiClientUpdate:
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null")
        return self


class ApiKeyIssue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expires_at: AwareDatetime | None = Field(default=None, description="Never, if absent")


class ApiKeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_seconds: int = Field(
        default=DEFAULT_GRACE_SECONDS,
        ge=0,
        le=MAX_GRACE_SECONDS,
        description="How long the old key keeps working (default 24 h, at most 7 days)",
    )
    expires_at: AwareDatetime | None = Field(
        default=None, description="When the new key stops working (never, if absent)"
    )


class ApiKeyView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key_id: str = Field(description="The public part of the key, `gpk_<key_id>_…`")
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    replaces_id: uuid.UUID | None


class IssuedApiKey(ApiKeyView):
    api_key: str = Field(description="Shown only now; send it as X-API-Key")


class ApiClientView(BaseModel):
    id: uuid.UUID
    name: str
    kind: ClientKind
    role: str = Field(description="The role the client's requests carry to the services")
    jurisdiction_code: str
    department_id: str | None
    scopes: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None = Field(description="The last use of any of its keys")
    keys: list[ApiKeyView] = Field(description="Its keys that still work")


class IssuedApiClient(ApiClientView):
    api_key: str = Field(description="The first key, shown only now; send it as X-API-Key")


# ---------------------------------------------------------------- rules


def _audited(session: AsyncSession) -> AsyncSession:
    session.info[AUDIT_MODEL] = AuditLog
    return session


def _key_snapshot(key: ApiKey) -> dict[str, Any]:
    return {k: v for k, v in snapshot(key).items() if k != "secret_hash"}


def _audit_key(
    session: AsyncSession,
    principal: Principal,
    action: str,
    client: ApiClient,
    key: ApiKey,
    *,
    before: dict[str, Any] | None = None,
) -> None:
    record_audit(
        _audited(session),
        principal,
        action=f"api_key.{action}",
        resource_type="api_key",
        resource_id=key.id,
        jurisdiction_code=client.jurisdiction_code,
        before=before,
        after=_key_snapshot(key),
    )


def _ensure_future(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= utcnow():
        raise Unprocessable("expires_at must be in the future", code="expiry-in-past")


def _is_live(key: ApiKey, now: datetime) -> bool:
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > now)


def _new_key(
    client: ApiClient, expires_at: datetime | None, replaces: ApiKey | None = None
) -> tuple[ApiKey, str]:
    issued = issue_api_key()
    key = ApiKey(
        id=common_db.new_id(),
        client_id=client.id,
        key_id=issued.key_id,
        secret_hash=issued.secret_hash,
        created_at=utcnow(),
        expires_at=expires_at,
        replaces_id=replaces.id if replaces else None,
    )
    return key, issued.plaintext


async def _writable_client(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID
) -> ApiClient:
    """The client to change: 404 for another jurisdiction's (its existence is not revealed),
    409 once deleted."""
    client = await session.get(ApiClient, client_id, with_for_update=True)
    if client is None or not principal.may_access(client.jurisdiction_code):
        raise NotFound(f"API client {client_id} not found")
    if not client.active:
        raise Conflict(f"API client {client_id} is deleted", code="api-client-deleted")
    return client


async def _client_key(session: AsyncSession, client: ApiClient, key_id: uuid.UUID) -> ApiKey:
    key = await session.get(ApiKey, key_id, with_for_update=True)
    if key is None or key.client_id != client.id:
        raise NotFound(f"API key {key_id} not found")
    return key


async def _live_keys(session: AsyncSession, client_ids: list[uuid.UUID]) -> list[ApiKey]:
    now = utcnow()
    stmt = (
        select(ApiKey)
        .where(
            ApiKey.client_id.in_(client_ids),
            ApiKey.revoked_at.is_(None),
            or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        )
        .order_by(ApiKey.created_at, ApiKey.id)
    )
    return list((await session.scalars(stmt)).all())


async def _views(session: AsyncSession, clients: list[ApiClient]) -> list[ApiClientView]:
    """Views of `clients` with their live keys and last use: two queries for any number."""
    if not clients:
        return []
    ids = [c.id for c in clients]
    keys: dict[uuid.UUID, list[ApiKey]] = {i: [] for i in ids}
    for key in await _live_keys(session, ids):
        keys[key.client_id].append(key)
    last_used = dict(
        (
            await session.execute(
                select(ApiKey.client_id, func.max(ApiKey.last_used_at))
                .where(ApiKey.client_id.in_(ids))
                .group_by(ApiKey.client_id)
            )
        ).all()
    )
    return [_view(c, keys[c.id], last_used.get(c.id)) for c in clients]


def _view(
    client: ApiClient, keys: Iterable[ApiKey], last_used_at: datetime | None
) -> ApiClientView:
    return ApiClientView(
        id=client.id,
        name=client.name,
        kind=client.kind,  # type: ignore[arg-type]
        role=ROLE_OF_KIND[client.kind],
        jurisdiction_code=client.jurisdiction_code,
        department_id=client.department_id,
        scopes=list(client.scopes),
        active=client.active,
        created_at=client.created_at,
        updated_at=client.updated_at,
        last_used_at=last_used_at,
        keys=[ApiKeyView.model_validate(k) for k in keys],
    )


async def _check_department(request: Request, jurisdiction: str, department_id: uuid.UUID) -> None:
    settings = request.app.state.settings
    try:
        department = await get_json(
            request.app.state.transport,
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


def _forget(request: Request, session: AsyncSession, key_ids: Iterable[str]) -> None:
    """Drop the keys' cached principals now and again once the change commits (a request
    between the two would otherwise cache the state being replaced)."""
    exchange: KeyExchange | None = getattr(request.app.state, "keys", None)
    if exchange is None:
        return
    key_ids = list(key_ids)
    exchange.forget(key_ids)
    event.listen(
        session.sync_session, "after_commit", lambda _s: exchange.forget(key_ids), once=True
    )


# ---------------------------------------------------------------- routes


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedApiClient,
    responses=responses(Unauthorized, Forbidden, Unprocessable, ServiceUnavailable),
)
async def create(
    request: Request, session: SessionDep, principal: AdminOnly, body: ApiClientCreate
) -> IssuedApiClient:
    """Register a client and issue its first key. An internal system is bound to a department
    of your jurisdiction; the other kinds are not bound to any."""
    ensure_writable(principal, body.jurisdiction_code)
    if body.kind == "internal_system":
        if body.department_id is None:
            raise Unprocessable("An internal system needs the department it serves")
        await _check_department(request, body.jurisdiction_code, body.department_id)
    elif body.department_id is not None:
        raise Unprocessable(f"A {body.kind} client is not bound to a department")
    _ensure_future(body.expires_at)
    now = utcnow()
    client = ApiClient(
        id=common_db.new_id(),
        name=body.name,
        kind=body.kind,
        jurisdiction_code=body.jurisdiction_code,
        department_id=str(body.department_id) if body.department_id else None,
        scopes=body.scopes,
        active=True,
        created_at=now,
        updated_at=now,
    )
    key, plaintext = _new_key(client, body.expires_at)
    session.add_all([client, key])
    await session.flush()
    record_change(_audited(session), principal, "api_client.create", client)
    _audit_key(session, principal, "issue", client, key)
    return IssuedApiClient(**_view(client, [key], None).model_dump(), api_key=plaintext)


@router.get("", response_model=Page[ApiClientView], responses=responses(Unauthorized, Forbidden))
async def list_clients(
    session: SessionDep, principal: AdminOnly, page: PageParamsDep
) -> Page[ApiClientView]:
    """The clients of your jurisdictions that are not deleted, with their working keys (never
    the keys themselves)."""
    stmt = scoped(select(ApiClient).where(ApiClient.active), ApiClient, principal)
    rows, next_cursor = await paginate(session, stmt, ApiClient.id, page)
    return Page(items=await _views(session, rows), next_cursor=next_cursor)


@router.get(
    "/{client_id}",
    response_model=ApiClientView,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def get(session: SessionDep, principal: AdminOnly, client_id: uuid.UUID) -> ApiClientView:
    """One client, deleted or not, with its working keys."""
    client = await session.get(ApiClient, client_id)
    if client is None or not principal.may_access(client.jurisdiction_code):
        raise NotFound(f"API client {client_id} not found")
    [view] = await _views(session, [client])
    return view


@router.patch(
    "/{client_id}",
    response_model=ApiClientView,
    responses=responses(Unauthorized, Forbidden, NotFound, Conflict),
)
async def update_client(
    request: Request,
    session: SessionDep,
    principal: AdminOnly,
    client_id: uuid.UUID,
    body: ApiClientUpdate,
) -> ApiClientView:
    """Rename a client or change its scopes; its keys carry the new scopes at once."""
    client = await _writable_client(session, principal, client_id)
    before = snapshot(client)
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(client, field, value)
    client.updated_at = utcnow()
    await session.flush()
    record_change(_audited(session), principal, "api_client.update", client, before=before)
    keys = await _live_keys(session, [client.id])
    _forget(request, session, [k.key_id for k in keys])
    [view] = await _views(session, [client])
    return view


@router.delete(
    "/{client_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def delete(
    request: Request, session: SessionDep, principal: AdminOnly, client_id: uuid.UUID
) -> Response:
    """Delete a client: every key of it stops working at once. Deleting it again does
    nothing."""
    client = await session.get(ApiClient, client_id, with_for_update=True)
    if client is None or not principal.may_access(client.jurisdiction_code):
        raise NotFound(f"API client {client_id} not found")
    if client.active:
        before = snapshot(client)
        now = utcnow()
        client.active = False
        client.updated_at = now
        keys = list(
            (
                await session.scalars(
                    select(ApiKey).where(ApiKey.client_id == client.id, ApiKey.revoked_at.is_(None))
                )
            ).all()
        )
        for key in keys:
            key.revoked_at = now
        await session.flush()
        record_change(_audited(session), principal, "api_client.delete", client, before=before)
        _forget(request, session, [k.key_id for k in keys])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{client_id}/keys",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedApiKey,
    responses=responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable),
)
async def issue_key(
    session: SessionDep,
    principal: AdminOnly,
    client_id: uuid.UUID,
    body: ApiKeyIssue | None = None,
) -> IssuedApiKey:
    """Issue another key for a client (at most ten work at once)."""
    body = body or ApiKeyIssue()
    client = await _writable_client(session, principal, client_id)
    _ensure_future(body.expires_at)
    if len(await _live_keys(session, [client.id])) >= MAX_LIVE_KEYS:
        raise Conflict(
            f"API client {client_id} already has {MAX_LIVE_KEYS} working keys; revoke one",
            code="too-many-keys",
        )
    key, plaintext = _new_key(client, body.expires_at)
    session.add(key)
    await session.flush()
    _audit_key(session, principal, "issue", client, key)
    return IssuedApiKey(**ApiKeyView.model_validate(key).model_dump(), api_key=plaintext)


@router.post(
    "/{client_id}/keys/{key_id}/rotate",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedApiKey,
    responses=responses(Unauthorized, Forbidden, NotFound, Conflict, Unprocessable),
)
async def rotate_key(
    request: Request,
    session: SessionDep,
    principal: AdminOnly,
    client_id: uuid.UUID,
    key_id: uuid.UUID,
    body: ApiKeyRotate | None = None,
) -> IssuedApiKey:
    """A new key in place of this one; the old key keeps working for the grace period
    (default 24 h, at most 7 days, 0 to end it now), or until its own expiry if sooner."""
    body = body or ApiKeyRotate()
    client = await _writable_client(session, principal, client_id)
    old = await _client_key(session, client, key_id)
    now = utcnow()
    if not _is_live(old, now):
        raise Conflict(f"API key {key_id} no longer works", code="api-key-not-live")
    _ensure_future(body.expires_at)
    before = _key_snapshot(old)
    grace_end = now + timedelta(seconds=body.grace_seconds)
    old.expires_at = grace_end if old.expires_at is None else min(old.expires_at, grace_end)
    key, plaintext = _new_key(client, body.expires_at, replaces=old)
    session.add(key)
    await session.flush()
    _audit_key(session, principal, "rotate", client, old, before=before)
    _audit_key(session, principal, "issue", client, key)
    _forget(request, session, [old.key_id])
    return IssuedApiKey(**ApiKeyView.model_validate(key).model_dump(), api_key=plaintext)


@router.delete(
    "/{client_id}/keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def revoke_key(
    request: Request,
    session: SessionDep,
    principal: AdminOnly,
    client_id: uuid.UUID,
    key_id: uuid.UUID,
) -> Response:
    """Revoke a key: it stops working at once. Revoking it again does nothing."""
    client = await session.get(ApiClient, client_id)
    if client is None or not principal.may_access(client.jurisdiction_code):
        raise NotFound(f"API client {client_id} not found")
    key = await _client_key(session, client, key_id)
    if key.revoked_at is None:
        before = _key_snapshot(key)
        key.revoked_at = utcnow()
        await session.flush()
        _audit_key(session, principal, "revoke", client, key, before=before)
        _forget(request, session, [key.key_id])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- the exchange


def presented_key(request: Request) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, value = (request.headers.get("authorization") or "").partition(" ")
    return value.strip() if scheme.lower() == "apikey" else None


@dataclass
class _CachedKey:
    id: uuid.UUID
    secret_hash: str
    expires_at: datetime | None
    principal: Principal
    loaded_at: float  # on the exchange's clock
    last_used_at: datetime | None
    token: str | None = None
    token_renew_at: float = 0.0


class KeyExchange:
    """Turns a presented API key into the bearer token the services understand.

    A key's principal is kept in memory for `CACHE_TTL_SECONDS` (at most `CACHE_MAX_KEYS`
    keys, least recently used out first) and its minted token until shortly before it
    expires, so a busy client costs neither a query nor a signature per request. Last use is
    written at most once a minute per key.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._cache: OrderedDict[str, _CachedKey] = OrderedDict()
        self._key_of_token: dict[str, str] = {}

    def forget(self, key_ids: Iterable[str]) -> None:
        for key_id in key_ids:
            self._drop(key_id)

    def principal_of(self, authorization: str | None) -> Principal | None:
        """The principal behind an Authorization header this exchange produced, from memory
        (None for any other header): what counts a request needs no signature check."""
        scheme, _, token = (authorization or "").partition(" ")
        key_id = self._key_of_token.get(token) if scheme == "Bearer" else None
        cached = self._cache.get(key_id) if key_id else None
        if cached is None or cached.token != token:
            return None
        return cached.principal

    def _drop(self, key_id: str) -> None:
        cached = self._cache.pop(key_id, None)
        if cached is not None and cached.token is not None:
            self._key_of_token.pop(cached.token, None)

    async def authorization(self, request: Request) -> str | None:
        """The Authorization header to send upstream: a minted token for an API key, the
        caller's own header otherwise."""
        key = presented_key(request)
        if key is None:
            return request.headers.get("authorization")
        key_id, secret = parse_api_key(key)
        db: Database = request.app.state.db
        now = self.clock()
        cached = self._cache.get(key_id)
        if cached is None or now - cached.loaded_at >= CACHE_TTL_SECONDS:
            cached = await self._load(db, key_id, cached, now)
        else:
            self._cache.move_to_end(key_id)
        if not api_key_matches(secret, cached.secret_hash):
            raise Unauthorized("Unknown or revoked API key")
        if cached.expires_at is not None and cached.expires_at <= utcnow():
            self._drop(key_id)
            raise Unauthorized("The API key has expired")
        settings = request.app.state.settings
        if settings.jwt_jwks_url:
            raise ServiceUnavailable(
                "API keys need the shared signing secret; this deployment verifies tokens "
                "with a JWKS URL"
            )
        await self._touch(db, cached)
        if cached.token is None or now >= cached.token_renew_at:
            principal = cached.principal
            if cached.token is not None:
                self._key_of_token.pop(cached.token, None)
            cached.token = mint_token(
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
            cached.token_renew_at = now + TOKEN_TTL_SECONDS - TOKEN_RENEW_BEFORE_SECONDS
            self._key_of_token[cached.token] = key_id
        return f"Bearer {cached.token}"

    async def _load(
        self, db: Database, key_id: str, previous: _CachedKey | None, now: float
    ) -> _CachedKey:
        async with db.session(read_only=True, autocommit=True) as session:
            row = (
                await session.execute(
                    select(ApiKey, ApiClient)
                    .join(ApiClient, ApiClient.id == ApiKey.client_id)
                    .where(ApiKey.key_id == key_id)
                )
            ).first()
        if row is None or row[0].revoked_at is not None or not row[1].active:
            self._drop(key_id)
            raise Unauthorized("Unknown or revoked API key")
        key, client = row
        principal = Principal(
            subject=f"api-client:{client.id}",
            role=ROLE_OF_KIND[client.kind],
            jurisdictions=(client.jurisdiction_code,),
            department_id=client.department_id,
            scopes=frozenset(client.scopes),
        )
        cached = _CachedKey(
            id=key.id,
            secret_hash=key.secret_hash,
            expires_at=key.expires_at,
            principal=principal,
            loaded_at=now,
            last_used_at=key.last_used_at,
        )
        if previous is not None and previous.principal == principal:
            # The same principal: its token still serves until it is due for renewal.
            cached.token, cached.token_renew_at = previous.token, previous.token_renew_at
            if previous.last_used_at and (
                cached.last_used_at is None or previous.last_used_at > cached.last_used_at
            ):
                cached.last_used_at = previous.last_used_at
        elif previous is not None and previous.token is not None:
            self._key_of_token.pop(previous.token, None)
        self._cache[key_id] = cached
        self._cache.move_to_end(key_id)
        while len(self._cache) > CACHE_MAX_KEYS:
            self._drop(next(iter(self._cache)))
        return cached

    async def _touch(self, db: Database, cached: _CachedKey) -> None:
        """Record use, at most once a minute per key (a busy key would otherwise write on
        every request); the condition keeps other processes from writing it more often."""
        now = utcnow()
        every = timedelta(seconds=TOUCH_EVERY_SECONDS)
        if cached.last_used_at is not None and now - cached.last_used_at < every:
            return
        cached.last_used_at = now
        async with db.session() as session:
            await session.execute(
                update(ApiKey)
                .where(
                    ApiKey.id == cached.id,
                    or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - every),
                )
                .values(last_used_at=now)
            )
            await session.commit()
