"""The gateway's calls to the services, over both transports: aiohttp's session (a running
gateway) and an httpx client (the in-process harness), each against a real HTTP server on a
local port; and a gateway that owns its connection pool answering GraphQL and the
passthrough from a real indicator service."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from gateway.app import create_app as create_gateway
from gateway.settings import Settings as GatewaySettings
from gateway.upstream import (
    UNREACHABLE,
    AiohttpTransport,
    HttpxTransport,
    Transport,
    UpstreamError,
    request_json,
)
from services.common.app import lifespan_of
from services.indicator.app import create_app as create_indicator
from services.indicator.settings import Settings as IndicatorSettings
from tests.harness import HEIHE, auth


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """`app` under uvicorn on a free local port, in this event loop; its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def echo(request: Request) -> Response:
    body = await request.body()
    return JSONResponse(
        {
            "method": request.method,
            "query": request.url.query,
            "authorization": request.headers.get("authorization"),
            "content_type": request.headers.get("content-type"),
            "body": json.loads(body) if body else None,
        }
    )


async def problem(request: Request) -> Response:
    return JSONResponse(
        {
            "title": "Validation failed",
            "detail": "Invalid fields: query.limit",
            "code": "validation-failed",
            "errors": [{"location": ["query", "limit"], "message": "too large"}],
        },
        status_code=int(request.query_params.get("status", "422")),
        media_type="application/problem+json",
        headers={"Retry-After": "7"},
    )


async def slow(request: Request) -> Response:
    await asyncio.sleep(1)
    return JSONResponse({})


async def not_json(request: Request) -> Response:
    return PlainTextResponse("<html>a proxy's page</html>")


SERVICE = Starlette(
    routes=[
        Route("/echo", echo, methods=["GET", "POST"]),
        Route("/problem", problem),
        Route("/text", not_json),
        Route("/slow", slow),
    ]
)


# Each transport as the gateway makes it, with a short timeout.
TIMEOUT_SECONDS = 0.3


@asynccontextmanager
async def aiohttp_transport() -> AsyncIterator[Transport]:
    async with aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS)
    ) as session:
        yield AiohttpTransport(session)


@asynccontextmanager
async def httpx_transport() -> AsyncIterator[Transport]:
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS) as client:
        yield HttpxTransport(client)


TRANSPORTS: dict[str, Callable[[], Any]] = {
    "aiohttp": aiohttp_transport,
    "httpx": httpx_transport,
}


@pytest.fixture(params=sorted(TRANSPORTS))
async def transport(request: pytest.FixtureRequest) -> AsyncIterator[Transport]:
    async with TRANSPORTS[request.param]() as made:
        yield made


@pytest.fixture
async def service_url() -> AsyncIterator[str]:
    async with serving(SERVICE) as url:
        yield url


class TestTransports:
    async def test_query_headers_and_body_reach_the_service(
        self, transport: Transport, service_url: str
    ) -> None:
        answer = await request_json(
            transport,
            service_url,
            "indicator",
            "POST",
            "/echo",
            params={"ids": ["a", "b"], "latest": 3, "mine": True, "cursor": None},
            body={"name_zh": "网关", "count": 2},
            headers={"authorization": "Bearer t"},
        )
        assert answer == {
            "method": "POST",
            "query": "ids=a&ids=b&latest=3&mine=true",
            "authorization": "Bearer t",
            "content_type": "application/json",
            "body": {"name_zh": "网关", "count": 2},
        }

    async def test_a_get_sends_no_body(self, transport: Transport, service_url: str) -> None:
        answer = await request_json(transport, service_url, "indicator", "GET", "/echo")
        assert answer["body"] is None and answer["query"] == ""

    async def test_a_problem_keeps_its_fields_and_retry_after(
        self, transport: Transport, service_url: str
    ) -> None:
        with pytest.raises(UpstreamError) as caught:
            await request_json(
                transport, service_url, "indicator", "GET", "/problem", params={"status": 503}
            )
        error = caught.value
        assert (error.status, error.code, error.retry_after) == (503, "validation-failed", 7)
        assert error.detail == "Invalid fields: query.limit"
        assert error.errors == [{"location": ["query", "limit"], "message": "too large"}]

    async def test_an_answer_that_is_not_json_is_a_502(
        self, transport: Transport, service_url: str
    ) -> None:
        with pytest.raises(UpstreamError) as caught:
            await request_json(transport, service_url, "indicator", "GET", "/text")
        assert (caught.value.status, caught.value.code) == (502, UNREACHABLE)

    async def test_a_service_that_does_not_answer_is_unreachable(
        self, transport: Transport
    ) -> None:
        with pytest.raises(UpstreamError) as caught:
            await request_json(
                transport, f"http://127.0.0.1:{free_port()}", "feedback", "GET", "/v1/x"
            )
        error = caught.value
        assert (error.service, error.status, error.code) == ("feedback", 502, UNREACHABLE)
        # How it failed, by the transport's own name for it.
        assert "Connect" in error.detail

    async def test_a_service_too_slow_to_answer_is_unreachable(
        self, transport: Transport, service_url: str
    ) -> None:
        with pytest.raises(UpstreamError) as caught:
            await request_json(transport, service_url, "indicator", "GET", "/slow")
        assert (caught.value.status, caught.value.code) == (502, UNREACHABLE)
        assert "Timeout" in caught.value.detail


async def test_a_gateway_with_its_own_pool_answers_from_a_real_service(tmp_path: Path) -> None:
    """No client given: GraphQL's calls go over the gateway's aiohttp session and the
    passthrough streams over the same pool, to the indicator service on a real port."""
    indicator = create_indicator(
        IndicatorSettings(
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'indicator.db'}",
            migrate_on_start=True,
            dispatcher_enabled=False,
            scheduler_enabled=False,
        )
    )
    async with serving(indicator) as indicator_url:
        gateway = create_gateway(
            GatewaySettings(
                database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}",
                migrate_on_start=True,
                indicator_url=indicator_url,
            )
        )
        async with lifespan_of(gateway):
            assert isinstance(gateway.state.transport, AiohttpTransport)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=gateway), base_url="http://gateway.test"
            ) as client:
                created = await client.post(
                    "/api/indicator/v1/departments",
                    json={
                        "jurisdiction_code": HEIHE,
                        "code": "POOL-1",
                        "name_zh": "连接池测试局",
                        "category": "economic",
                    },
                    headers=auth(),
                )
                assert created.status_code == 201, created.text
                assert created.json()["code"] == "POOL-1"
                answer = await client.post(
                    "/graphql",
                    json={
                        "query": "{ departments(first: 5) { __typename"
                        " ... on DepartmentConnection { nodes { code nameZh } } } }"
                    },
                    headers=auth(),
                )
        assert answer.status_code == 200
        assert answer.json() == {
            "data": {
                "departments": {
                    "__typename": "DepartmentConnection",
                    "nodes": [{"code": "POOL-1", "nameZh": "连接池测试局"}],
                }
            }
        }
