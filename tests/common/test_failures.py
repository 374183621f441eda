"""What a client sees when something breaks: a 500 it can quote, a 503 only when retrying may
help, a read that survives a dropped connection, read-only sessions that refuse writes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError

from govperf.components import create_app, settings_class
from services.common.app import lifespan_of
from services.common.db import make_engine
from services.common.errors import is_transient_database_error
from services.indicator.models import Department
from tests import factories
from tests.conftest import _asyncpg_dsn
from tests.harness import Stack, auth


def _crash() -> None:
    raise RuntimeError("a defect deep in a handler")


class TestInternalError:
    async def test_a_500_names_its_request_id_in_body_header_and_log(
        self, stack: Stack, capfd: pytest.CaptureFixture[str]
    ) -> None:
        app = stack.apps["indicator"]
        app.router.add_api_route("/v1/crash", _crash, methods=["GET"])
        capfd.readouterr()
        response = await stack.client("indicator").get(
            "/v1/crash", headers={"x-request-id": "crash-7"}
        )
        assert response.status_code == 500
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["x-request-id"] == "crash-7"
        body = response.json()
        assert body["code"] == "internal-error"
        assert body["request_id"] == "crash-7"
        assert "a defect" not in body["detail"]  # internals stay in the log
        logged = [json.loads(line) for line in capfd.readouterr().out.splitlines() if line]
        errors = [entry for entry in logged if entry.get("event") == "unhandled_error"]
        assert errors and errors[0]["request_id"] == "crash-7"
        assert "a defect deep in a handler" in errors[0]["exception"]

    async def test_a_missing_table_is_a_500_not_retry_shortly(
        self, stack: Stack, database_urls: dict[str, str]
    ) -> None:
        # An unmigrated or damaged database is a defect to report, not a busy database.
        engine = make_engine(database_urls["feedback"])

        async def rename(old: str, new: str) -> None:
            async with engine.begin() as connection:
                await connection.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))

        await rename("citizen_feedback", "citizen_feedback_away")
        try:
            response = await stack.client("feedback").get("/v1/citizen-feedback", headers=auth())
        finally:
            # The PostgreSQL databases are shared by the whole session: put the table back.
            await rename("citizen_feedback_away", "citizen_feedback")
            await engine.dispose()
        assert response.status_code == 500
        assert response.json()["code"] == "internal-error"
        assert "retry-after" not in response.headers


class TestTransientFailures:
    async def test_a_locked_sqlite_file_is_transient(self, tmp_path: Path) -> None:
        path = tmp_path / "locked.db"
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("CREATE TABLE t (x INTEGER)")
        holder.execute("BEGIN EXCLUSIVE")
        engine = make_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0})
        try:
            with pytest.raises(DBAPIError, match="database is locked") as caught:
                async with engine.connect() as connection:
                    await connection.execute(text("INSERT INTO t VALUES (1)"))
        finally:
            await engine.dispose()
            holder.close()
        assert is_transient_database_error(caught.value)

    async def test_an_unreachable_server_is_transient(self) -> None:
        engine = make_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
        try:
            with pytest.raises(Exception) as caught:
                async with engine.connect():
                    pass
        finally:
            await engine.dispose()
        assert is_transient_database_error(caught.value)

    # PostgreSQL only: SQLite has no server to drop a connection.
    @pytest.mark.parametrize("database_urls", ["postgresql"], indirect=True)
    async def test_a_read_survives_a_dropped_connection_and_a_write_asks_for_a_retry(
        self, database_urls: dict[str, str]
    ) -> None:
        url = database_urls["indicator"]
        # No dispatcher: its rounds would find the dropped connections first and refill the
        # pool, and this test is about what a request finds.
        settings = settings_class("indicator")(
            database_url=url, dispatcher_enabled=False, migrate_on_start=False
        )
        app = create_app("indicator", settings)

        async def drop_connections() -> None:
            # What a server restart, a failover or an idle timeout does to a pool.
            admin = await asyncpg.connect(_asyncpg_dsn(url))
            try:
                await admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            finally:
                await admin.close()

        async with (
            lifespan_of(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://indicator.test"
            ) as client,
        ):
            department = await factories.create_department(client, code="EDU")
            assert (await client.get("/v1/departments", headers=auth())).status_code == 200

            await drop_connections()
            read = await client.get("/v1/departments", headers=auth())
            assert read.status_code == 200  # run again on a new connection, unseen
            assert [d["code"] for d in read.json()["items"]] == ["EDU"]

            # A read by id runs on a connection lent for it alone: dropped, the same, also
            # with several dead connections in the pool (concurrent reads left them there).
            path = f"/v1/departments/{department['id']}"
            for _ in range(2):
                await asyncio.gather(*(client.get(path, headers=auth()) for _ in range(6)))
                await drop_connections()
                one = await client.get(path, headers=auth())
                assert one.status_code == 200
                assert one.json()["code"] == "EDU"

            await drop_connections()
            body = {"jurisdiction_code": "231100", "code": "TOUR", "name_zh": "旅游局"}
            body["category"] = "economic"
            write = await client.post("/v1/departments", json=body, headers=auth())
            assert write.status_code == 503  # not run twice behind the client's back
            assert write.json()["code"] == "database-unavailable"
            assert write.headers["retry-after"] == "1"
            again = await client.post("/v1/departments", json=body, headers=auth())
            assert again.status_code == 201


class TestReadOnlySessions:
    async def test_a_read_only_session_refuses_to_write_on_either_database(
        self, stack: Stack
    ) -> None:
        db = stack.apps["indicator"].state.db
        row = {"jurisdiction_code": "231100", "code": "RO", "name_zh": "只读", "category": "x"}
        for autocommit in (False, True):
            async with db.session(read_only=True, autocommit=autocommit) as session:
                with pytest.raises(DBAPIError):
                    await session.execute(insert(Department), row)
        async with db.session(read_only=True) as session:
            assert (await session.execute(text("SELECT count(*) FROM departments"))).scalar() == 0
