"""`TransactionalRoute`'s sessions: a write commits whatever its endpoint left in the session,
also objects added and never flushed; an endpoint that never touched its session answers
without a transaction at all."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import func, select

from services.common.routing import SessionDep, TransactionalRoute
from services.indicator.models import Department
from tests.harness import Stack


def app_over(stack: Stack) -> FastAPI:
    router = APIRouter(route_class=TransactionalRoute)

    @router.post("/added")
    async def added(session: SessionDep) -> dict[str, str]:
        # Pending only: no statement has run when the endpoint returns.
        session.add(
            Department(
                jurisdiction_code="231100", code="ADD", name_zh="新增局", category="economic"
            )
        )
        return {}

    @router.post("/untouched")
    async def untouched(session: SessionDep) -> dict[str, str]:
        return {"began": str(session.in_transaction())}

    app = FastAPI()
    app.state.db = stack.apps["indicator"].state.db
    app.include_router(router)
    return app


async def departments(stack: Stack) -> int:
    async with stack.apps["indicator"].state.db.session(read_only=True) as session:
        return int((await session.execute(select(func.count()).select_from(Department))).scalar())


@pytest.fixture
async def client(stack: Stack) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app_over(stack)), base_url="http://t"
    )


class TestWriteSessions:
    async def test_an_object_added_and_never_flushed_is_committed(
        self, stack: Stack, client: httpx.AsyncClient
    ) -> None:
        assert (await client.post("/added")).status_code == 200
        assert await departments(stack) == 1

    async def test_an_untouched_session_writes_nothing(
        self, stack: Stack, client: httpx.AsyncClient
    ) -> None:
        answer = await client.post("/untouched")
        assert answer.json() == {"began": "False"}
        assert await departments(stack) == 0
