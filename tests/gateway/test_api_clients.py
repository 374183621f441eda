"""API client management at the gateway: clients with scopes and a department binding, their
keys issued, rotated with a grace period, expired and revoked, every change audited, and the
key → principal exchange served from memory for a busy client."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from gateway import api_clients
from gateway.models import ApiClient, ApiKey, AuditLog
from services.common.auth import Principal
from services.common.db import make_engine
from services.common.migrate import upgrade
from tests.conftest import TEST_DATABASE_URL, _asyncpg_dsn, require_postgres
from tests.harness import HARBIN, HEIHE, Stack, auth
from tests.indicator.builders import city

DEPARTMENTS = "/api/indicator/v1/departments"


async def register(stack: Stack, **fields: Any) -> dict[str, Any]:
    body = {"name": "门户网站", "kind": "portal", "jurisdiction_code": HEIHE, **fields}
    response = await stack.gateway.post("/v1/api-clients", headers=auth(), json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def status_with(stack: Stack, key: str) -> int:
    response = await stack.gateway.get(
        DEPARTMENTS, params={"jurisdiction": HEIHE}, headers={"x-api-key": key}
    )
    return response.status_code


def first_key(client: dict[str, Any]) -> dict[str, Any]:
    [key] = client["keys"]
    return key


class Clock:
    """The wall clock the exchange and the routes read, moved by tests."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(api_clients, "utcnow", clock)
    return clock


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def monotonic(stack: Stack) -> Monotonic:
    """The exchange's own clock (cache and token lifetimes), moved by tests."""
    clock = Monotonic()
    stack.apps["gateway"].state.keys.clock = clock
    return clock


@pytest.fixture
def upstream_principals(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> list[Principal]:
    """The principals the services see on each request the gateway sends them."""
    seen: list[Principal] = []
    verifier = stack.apps["gateway"].state.verifier
    forward = stack.router.handle_async_request

    async def recording(request: httpx.Request) -> httpx.Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme == "Bearer":
            seen.append(await verifier.verify(token))
        return await forward(request)

    monkeypatch.setattr(stack.router, "handle_async_request", recording)
    return seen


@pytest.fixture
def key_queries(stack: Stack) -> Iterator[list[str]]:
    """The statements the gateway sends its database about keys."""
    statements: list[str] = []
    db = stack.apps["gateway"].state.db

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "api_keys" in statement:
            statements.append(statement)

    engines = [db.engine.sync_engine, db.read_engine.sync_engine]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    yield statements
    for engine in engines:
        event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def signatures(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token the exchange signs."""
    minted: list[str] = []
    sign: Callable[..., str] = api_clients.mint_token

    def counting(*args: Any, **kwargs: Any) -> str:
        minted.append(token := sign(*args, **kwargs))
        return token

    monkeypatch.setattr(api_clients, "mint_token", counting)
    return minted


async def audit_actions(stack: Stack) -> list[tuple[str, str]]:
    async with stack.apps["gateway"].state.db.session(read_only=True) as session:
        rows = await session.execute(select(AuditLog.action, AuditLog.resource_id))
        return sorted((action, resource) for action, resource in rows.all())


class TestRegistration:
    async def test_a_client_is_registered_with_its_first_key_shown_once(self, stack: Stack) -> None:
        client = await register(stack, scopes=["publications:read"])
        assert client["kind"] == "portal" and client["role"] == "portal"
        assert client["api_key"].startswith(f"gpk_{first_key(client)['key_id']}_")
        shown = await stack.gateway.get(f"/v1/api-clients/{client['id']}", headers=auth())
        assert shown.status_code == 200
        assert "api_key" not in shown.json() and "secret_hash" not in shown.text
        assert shown.json()["scopes"] == ["publications:read"]
        assert [k["id"] for k in shown.json()["keys"]] == [first_key(client)["id"]]

    async def test_requests_that_name_the_role_instead_of_the_kind_still_register(
        self, stack: Stack
    ) -> None:
        response = await stack.gateway.post(
            "/v1/api-clients",
            headers=auth(),
            json={"name": "市民应用", "role": "citizen_app", "jurisdiction_code": HEIHE},
        )
        assert response.status_code == 201
        assert response.json()["kind"] == "mobile_app"

    @pytest.mark.parametrize(
        ("fields", "code"),
        [
            ({"kind": "robot"}, "validation-error"),
            ({"department_id": "01a21381-bfd9-7a8f-acab-e09681085245"}, "unprocessable"),
            ({"scopes": ["Not A Scope"]}, "validation-error"),
            ({"expires_at": "2020-01-01T00:00:00Z"}, "expiry-in-past"),
            ({"expires_at": "2099-01-01T00:00:00"}, "validation-error"),
        ],
    )
    async def test_bad_registrations_are_refused_with_a_stable_code(
        self, stack: Stack, fields: dict[str, Any], code: str
    ) -> None:
        body = {"name": "x", "kind": "portal", "jurisdiction_code": HEIHE, **fields}
        response = await stack.gateway.post("/v1/api-clients", headers=auth(), json=body)
        assert response.status_code == 422
        assert response.json()["code"] == code

    async def test_another_jurisdictions_client_is_not_found(self, stack: Stack) -> None:
        client = await register(stack)
        harbin = auth(jurisdictions=(HARBIN,))
        path = f"/v1/api-clients/{client['id']}"
        assert (await stack.gateway.get(path, headers=harbin)).status_code == 404
        renamed = await stack.gateway.patch(path, headers=harbin, json={"name": "夺取"})
        assert renamed.status_code == 404
        key_path = f"{path}/keys/{first_key(client)['id']}"
        assert (await stack.gateway.delete(key_path, headers=harbin)).status_code == 404
        assert await status_with(stack, client["api_key"]) == 200


class TestUpdate:
    async def test_new_scopes_reach_the_services_at_once(
        self, stack: Stack, upstream_principals: list[Principal]
    ) -> None:
        client = await register(stack, scopes=["publications:read"])
        assert await status_with(stack, client["api_key"]) == 200
        patched = await stack.gateway.patch(
            f"/v1/api-clients/{client['id']}",
            headers=auth(),
            json={"name": "新门户", "scopes": ["exports:read", "publications:read"]},
        )
        assert patched.status_code == 200
        assert patched.json()["name"] == "新门户"
        assert await status_with(stack, client["api_key"]) == 200
        before, after = upstream_principals
        assert before.scopes == {"publications:read"}
        assert after.scopes == {"exports:read", "publications:read"}
        assert after.role == "portal" and after.jurisdictions == (HEIHE,)

    @pytest.mark.parametrize("body", [{"name": None}, {"scopes": None}, {"kind": "mobile_app"}])
    async def test_a_null_or_unknown_field_is_refused(
        self, stack: Stack, body: dict[str, Any]
    ) -> None:
        client = await register(stack)
        response = await stack.gateway.patch(
            f"/v1/api-clients/{client['id']}", headers=auth(), json=body
        )
        assert response.status_code == 422


class TestDepartmentBinding:
    async def test_an_internal_systems_principal_carries_its_department(
        self, stack: Stack, upstream_principals: list[Principal]
    ) -> None:
        departments = await city(stack.client("indicator"), "FGW")
        client = await register(
            stack, kind="internal_system", department_id=departments["FGW"]["id"]
        )
        assert client["role"] == "integration"
        upstream_principals.clear()
        assert await status_with(stack, client["api_key"]) == 200
        [principal] = upstream_principals
        assert principal.role == "integration"
        assert principal.department_id == departments["FGW"]["id"]

    async def test_only_internal_systems_are_bound_to_a_department(self, stack: Stack) -> None:
        departments = await city(stack.client("indicator"), "FGW")
        response = await stack.gateway.post(
            "/v1/api-clients",
            headers=auth(),
            json={
                "name": "应用",
                "kind": "mobile_app",
                "jurisdiction_code": HEIHE,
                "department_id": departments["FGW"]["id"],
            },
        )
        assert response.status_code == 422


class TestRotation:
    async def rotate(self, stack: Stack, client: dict[str, Any], key_id: str, **body: Any) -> Any:
        return await stack.gateway.post(
            f"/v1/api-clients/{client['id']}/keys/{key_id}/rotate", headers=auth(), json=body
        )

    async def test_the_old_key_works_through_the_grace_period_and_not_after(
        self, stack: Stack, clock: Clock
    ) -> None:
        client = await register(stack)
        old = first_key(client)
        rotated = await self.rotate(stack, client, old["id"], grace_seconds=3600)
        assert rotated.status_code == 201
        new = rotated.json()
        assert new["replaces_id"] == old["id"]
        assert await status_with(stack, client["api_key"]) == 200
        assert await status_with(stack, new["api_key"]) == 200

        clock.advance(seconds=3601)
        assert await status_with(stack, client["api_key"]) == 401
        assert await status_with(stack, new["api_key"]) == 200
        shown = await stack.gateway.get(f"/v1/api-clients/{client['id']}", headers=auth())
        assert [k["id"] for k in shown.json()["keys"]] == [new["id"]]

    async def test_by_default_the_old_key_keeps_a_day(self, stack: Stack, clock: Clock) -> None:
        client = await register(stack)
        rotated = await self.rotate(stack, client, first_key(client)["id"])
        clock.advance(hours=23)
        assert await status_with(stack, client["api_key"]) == 200
        clock.advance(hours=2)
        assert await status_with(stack, client["api_key"]) == 401
        assert await status_with(stack, rotated.json()["api_key"]) == 200

    async def test_no_grace_ends_the_old_key_now(self, stack: Stack) -> None:
        client = await register(stack)
        assert await status_with(stack, client["api_key"]) == 200
        rotated = await self.rotate(stack, client, first_key(client)["id"], grace_seconds=0)
        assert await status_with(stack, client["api_key"]) == 401
        assert await status_with(stack, rotated.json()["api_key"]) == 200

    async def test_grace_is_at_most_a_week_and_a_dead_key_does_not_rotate(
        self, stack: Stack
    ) -> None:
        client = await register(stack)
        key_id = first_key(client)["id"]
        too_long = await self.rotate(stack, client, key_id, grace_seconds=7 * 24 * 3600 + 1)
        assert too_long.status_code == 422
        await stack.gateway.delete(f"/v1/api-clients/{client['id']}/keys/{key_id}", headers=auth())
        dead = await self.rotate(stack, client, key_id)
        assert dead.status_code == 409 and dead.json()["code"] == "api-key-not-live"


class TestExpiry:
    async def test_a_key_stops_working_when_it_expires(self, stack: Stack, clock: Clock) -> None:
        client = await register(stack)
        expires = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        issued = await stack.gateway.post(
            f"/v1/api-clients/{client['id']}/keys", headers=auth(), json={"expires_at": expires}
        )
        assert issued.status_code == 201
        key = issued.json()["api_key"]
        assert await status_with(stack, key) == 200
        clock.advance(minutes=61)
        response = await stack.gateway.get(
            DEPARTMENTS, params={"jurisdiction": HEIHE}, headers={"x-api-key": key}
        )
        assert response.status_code == 401 and "expired" in response.json()["detail"]
        assert await status_with(stack, client["api_key"]) == 200

    async def test_a_client_has_at_most_ten_working_keys(self, stack: Stack) -> None:
        client = await register(stack)
        path = f"/v1/api-clients/{client['id']}/keys"
        statuses = [(await stack.gateway.post(path, headers=auth())).status_code for _ in range(10)]
        assert statuses == [201] * 9 + [409]


class TestRevocation:
    async def test_a_revoked_key_stops_at_once_and_its_siblings_go_on(self, stack: Stack) -> None:
        client = await register(stack)
        other = await stack.gateway.post(f"/v1/api-clients/{client['id']}/keys", headers=auth())
        assert await status_with(stack, client["api_key"]) == 200
        path = f"/v1/api-clients/{client['id']}/keys/{first_key(client)['id']}"
        assert (await stack.gateway.delete(path, headers=auth())).status_code == 204
        assert await status_with(stack, client["api_key"]) == 401
        assert await status_with(stack, other.json()["api_key"]) == 200
        assert (await stack.gateway.delete(path, headers=auth())).status_code == 204

    async def test_deleting_a_client_revokes_all_its_keys(self, stack: Stack) -> None:
        client = await register(stack)
        other = await stack.gateway.post(f"/v1/api-clients/{client['id']}/keys", headers=auth())
        keys = [client["api_key"], other.json()["api_key"]]
        assert [await status_with(stack, k) for k in keys] == [200, 200]
        path = f"/v1/api-clients/{client['id']}"
        assert (await stack.gateway.delete(path, headers=auth())).status_code == 204
        assert [await status_with(stack, k) for k in keys] == [401, 401]
        listed = await stack.gateway.get("/v1/api-clients", headers=auth())
        assert client["id"] not in [c["id"] for c in listed.json()["items"]]
        shown = await stack.gateway.get(path, headers=auth())
        assert shown.json()["active"] is False and shown.json()["keys"] == []
        renamed = await stack.gateway.patch(path, headers=auth(), json={"name": "复活"})
        assert renamed.status_code == 409 and renamed.json()["code"] == "api-client-deleted"
        assert (await stack.gateway.delete(path, headers=auth())).status_code == 204


class TestExchangeCache:
    async def test_a_busy_key_costs_no_query_and_no_signature_per_request(
        self,
        stack: Stack,
        monotonic: Monotonic,
        key_queries: list[str],
        signatures: list[str],
    ) -> None:
        client = await register(stack)
        key_queries.clear()
        for _ in range(5):
            assert await status_with(stack, client["api_key"]) == 200
        # One lookup and one record of use; one token for all five requests.
        assert len(key_queries) == 2 and len(signatures) == 1

        monotonic.now += api_clients.CACHE_TTL_SECONDS + 1
        assert await status_with(stack, client["api_key"]) == 200
        assert len(key_queries) == 3 and len(signatures) == 1  # looked up again, same token

        monotonic.now += api_clients.TOKEN_TTL_SECONDS
        assert await status_with(stack, client["api_key"]) == 200
        assert len(signatures) == 2  # the token was due: a new one

    async def test_last_use_is_written_at_most_once_a_minute(
        self, stack: Stack, clock: Clock, key_queries: list[str]
    ) -> None:
        client = await register(stack)
        key_queries.clear()
        assert await status_with(stack, client["api_key"]) == 200
        first = (await stack.gateway.get("/v1/api-clients", headers=auth())).json()
        [shown] = [c for c in first["items"] if c["id"] == client["id"]]
        assert shown["last_used_at"] is not None
        writes = [s for s in key_queries if s.lstrip().upper().startswith("UPDATE")]
        clock.advance(seconds=30)
        assert await status_with(stack, client["api_key"]) == 200
        assert [s for s in key_queries if s.lstrip().upper().startswith("UPDATE")] == writes
        clock.advance(seconds=31)
        assert await status_with(stack, client["api_key"]) == 200
        assert len([s for s in key_queries if s.lstrip().upper().startswith("UPDATE")]) == 2

    async def test_a_revocation_elsewhere_is_seen_within_the_cache_lifetime(
        self, stack: Stack, monotonic: Monotonic
    ) -> None:
        client = await register(stack)
        assert await status_with(stack, client["api_key"]) == 200
        # Another gateway process revokes the key: only the database knows.
        async with stack.apps["gateway"].state.db.session() as session:
            await session.execute(
                update(ApiKey)
                .where(ApiKey.id == uuid.UUID(first_key(client)["id"]))
                .values(revoked_at=datetime.now(UTC))
            )
            await session.commit()
        monotonic.now += api_clients.CACHE_TTL_SECONDS - 1
        assert await status_with(stack, client["api_key"]) == 200
        monotonic.now += 2
        assert await status_with(stack, client["api_key"]) == 401

    async def test_the_principal_behind_a_minted_token_is_known_without_a_signature_check(
        self, stack: Stack, signatures: list[str]
    ) -> None:
        client = await register(stack, scopes=["publications:read"])
        assert await status_with(stack, client["api_key"]) == 200
        [token] = signatures
        keys = stack.apps["gateway"].state.keys
        principal = keys.principal_of(f"Bearer {token}")
        assert principal is not None and principal.role == "portal"
        assert principal.scopes == {"publications:read"}
        assert keys.principal_of(auth()["authorization"]) is None
        path = f"/v1/api-clients/{client['id']}/keys/{first_key(client)['id']}"
        assert (await stack.gateway.delete(path, headers=auth())).status_code == 204
        assert keys.principal_of(f"Bearer {token}") is None

    async def test_a_wrong_secret_for_a_cached_key_is_refused(self, stack: Stack) -> None:
        client = await register(stack)
        key = client["api_key"]
        assert await status_with(stack, key) == 200
        wrong = key[:-4] + ("aaaa" if not key.endswith("aaaa") else "bbbb")
        assert await status_with(stack, wrong) == 401
        assert await status_with(stack, "gpk_nothing") == 401


class TestAudit:
    async def test_every_change_to_a_client_and_its_keys_is_audited(self, stack: Stack) -> None:
        client = await register(stack)
        base = f"/v1/api-clients/{client['id']}"
        first = first_key(client)["id"]
        await stack.gateway.patch(base, headers=auth(), json={"scopes": ["exports:read"]})
        issued = (await stack.gateway.post(f"{base}/keys", headers=auth())).json()
        rotated = (
            await stack.gateway.post(f"{base}/keys/{first}/rotate", headers=auth(), json={})
        ).json()
        await stack.gateway.delete(f"{base}/keys/{issued['id']}", headers=auth())
        await stack.gateway.delete(base, headers=auth())
        assert await audit_actions(stack) == sorted(
            [
                ("api_client.create", client["id"]),
                ("api_key.issue", first),
                ("api_client.update", client["id"]),
                ("api_key.issue", issued["id"]),
                ("api_key.rotate", first),
                ("api_key.issue", rotated["id"]),
                ("api_key.revoke", issued["id"]),
                ("api_client.delete", client["id"]),
            ]
        )
        async with stack.apps["gateway"].state.db.session(read_only=True) as session:
            rows = (await session.scalars(select(AuditLog))).all()
        assert all(r.jurisdiction_code == HEIHE and r.actor for r in rows)
        assert not any("secret_hash" in (r.after or {}) for r in rows)

    async def test_a_refused_change_writes_no_audit_row(self, stack: Stack) -> None:
        client = await register(stack)
        before = await audit_actions(stack)
        refused = await stack.gateway.post(
            f"/v1/api-clients/{client['id']}/keys/{first_key(client)['id']}/rotate",
            headers=auth(),
            json={"grace_seconds": -1},
        )
        assert refused.status_code == 422
        assert await audit_actions(stack) == before


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
        return
    require_postgres()
    name = f"govperf_gateway_keys_{uuid.uuid4().hex[:8]}"

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(TEST_DATABASE_URL))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class TestMigratingOneKeyClients:
    async def test_each_client_keeps_its_key_and_a_revoked_one_stays_revoked(
        self, empty_url: str
    ) -> None:
        await asyncio.to_thread(upgrade, "gateway", empty_url, "0001")
        engine = make_engine(empty_url)
        live, revoked = uuid.uuid4(), uuid.uuid4()
        codes = "'[\"231100\"]'" + ("::jsonb" if engine.dialect.name == "postgresql" else "")
        scopes = "'[]'" + ("::jsonb" if engine.dialect.name == "postgresql" else "")
        try:
            async with engine.begin() as connection:
                for id_, key_id, role, active in (
                    (live, "aaaa11112222", "integration", True),
                    (revoked, "bbbb11112222", "citizen_app", False),
                ):
                    await connection.execute(
                        text(
                            "INSERT INTO api_clients (id, key_id, secret_hash, name, role,"
                            " jurisdiction_codes, department_id, scopes, active, created_at)"
                            f" VALUES (:id, :key_id, :hash, '系统', :role, {codes}, :department,"
                            f" {scopes}, :active, :created_at)"
                        ),
                        {
                            "id": id_ if engine.dialect.name == "postgresql" else id_.hex,
                            "key_id": key_id,
                            "hash": "0" * 64,
                            "role": role,
                            "department": "dept-1" if role == "integration" else None,
                            "active": active,
                            "created_at": datetime(2026, 11, 1, tzinfo=UTC).replace(
                                tzinfo=None if engine.dialect.name == "sqlite" else UTC
                            ),
                        },
                    )
            await asyncio.to_thread(upgrade, "gateway", empty_url)
            async with AsyncSession(engine) as session:
                clients = {c.id: c for c in (await session.scalars(select(ApiClient))).all()}
                keys = {k.client_id: k for k in (await session.scalars(select(ApiKey))).all()}
        finally:
            await engine.dispose()
        assert (clients[live].kind, clients[revoked].kind) == ("internal_system", "mobile_app")
        assert {c.jurisdiction_code for c in clients.values()} == {HEIHE}
        assert clients[live].department_id == "dept-1"
        assert (keys[live].key_id, keys[live].revoked_at) == ("aaaa11112222", None)
        assert keys[revoked].revoked_at is not None
