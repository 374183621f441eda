"""The REST passthrough: bodies stream both ways, end-to-end headers pass both ways.

httpx's `ASGITransport` (the in-process stack's wiring) streams a request body but collects a
response's whole body before returning it, so memory is measured over real sockets: the
gateway and a stand-in service each served by uvicorn in this process, the gateway with its
production HTTP client, the caller an ordinary httpx client.
"""

from __future__ import annotations

import asyncio
import json
import socket
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import uvicorn

from gateway.settings import Settings
from govperf.components import create_app
from services.common.app import lifespan_of
from tests import factories
from tests.harness import HEIHE, Stack, auth, base_url

CHUNK = 64 * 1024
BODY_SIZE = 100 * 1024 * 1024


class StandInService:
    """A service that counts what it receives, sends as many bytes as asked, echoes the
    headers it was sent, and notices when its caller goes away."""

    def __init__(self) -> None:
        self.received_headers: dict[str, str] = {}
        self.disconnected = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        self.received_headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        path = scope["path"]
        if path == "/v1/upload":
            size, more = 0, True
            while more:
                message = await receive()
                size += len(message.get("body", b""))
                more = message.get("more_body", False)
            await self._json(send, 200, {"bytes": size})
        elif path == "/v1/download":
            query = dict(part.split("=") for part in scope["query_string"].decode().split("&"))
            watcher = asyncio.create_task(self._watch(receive))
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/octet-stream"),
                        (b"content-length", query["size"].encode()),
                        (b"content-disposition", b'attachment; filename="big.bin"'),
                    ],
                }
            )
            chunk = b"x" * CHUNK
            for _ in range(int(query["size"]) // CHUNK):
                if self.disconnected.is_set():
                    break
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            await watcher
        else:
            await self._json(
                send,
                201,
                {"headers": self.received_headers},
                extra=[
                    (b"etag", b'"v1"'),
                    (b"cache-control", b"private, max-age=60"),
                    (b"last-modified", b"Tue, 01 Dec 2026 08:00:00 GMT"),
                    (b"location", b"/v1/things/1"),
                    (b"retry-after", b"7"),
                    (b"idempotent-replayed", b"true"),
                    (b"x-service-note", b"kept"),
                    (b"connection", b"keep-alive, x-only-this-hop"),
                    (b"x-only-this-hop", b"dropped"),
                    (b"keep-alive", b"timeout=5"),
                ],
            )

    async def _watch(self, receive: Any) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        self.disconnected.set()

    @staticmethod
    async def _json(
        send: Any, status: int, body: Any, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        payload = json.dumps(body).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    *(extra or []),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def gateway_settings(indicator_url: str, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        migrate_on_start=False,
        env="test",
        indicator_url=indicator_url,
        evaluation_url="http://127.0.0.1:9",
        disclosure_url="http://127.0.0.1:9",
        feedback_url="http://127.0.0.1:9",
    )


class Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@asynccontextmanager
async def served(app: Any) -> AsyncIterator[str]:
    """`app` behind uvicorn on a free local port; yields its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=1)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await asyncio.wait_for(server.ready.wait(), timeout=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def over_sockets(
    database_urls: dict[str, str],
) -> AsyncIterator[tuple[StandInService, httpx.AsyncClient]]:
    service = StandInService()
    async with served(service) as service_url:
        gateway = create_app("gateway", gateway_settings(service_url, database_urls["gateway"]))
        async with (
            served(gateway) as gateway_url,
            httpx.AsyncClient(base_url=gateway_url, timeout=60) as client,
        ):
            yield service, client


async def upload_body() -> AsyncIterator[bytes]:
    chunk = b"y" * CHUNK
    for _ in range(BODY_SIZE // CHUNK):
        yield chunk


class TestStreaming:
    async def test_a_100_mb_upload_and_download_keep_memory_flat(
        self, over_sockets: tuple[StandInService, httpx.AsyncClient]
    ) -> None:
        _, client = over_sockets
        # Warm up (connections, imports, caches) before measuring.
        await client.post("/api/indicator/v1/upload", content=b"warm")
        tracemalloc.start()
        try:
            uploaded = await client.post(
                "/api/indicator/v1/upload",
                content=upload_body(),
                headers={"content-length": str(BODY_SIZE)},
            )
            received = 0
            async with client.stream(
                "GET", "/api/indicator/v1/download", params={"size": BODY_SIZE}
            ) as download:
                async for chunk in download.aiter_raw():
                    received += len(chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert uploaded.status_code == 200
        assert uploaded.json() == {"bytes": BODY_SIZE}
        assert download.headers["content-length"] == str(BODY_SIZE)
        assert download.headers["content-disposition"] == 'attachment; filename="big.bin"'
        assert received == BODY_SIZE
        # Held whole, either body alone would be 100 MB; streamed, a few chunks in flight.
        assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"

    async def test_a_caller_that_goes_away_closes_the_call_upstream(
        self, over_sockets: tuple[StandInService, httpx.AsyncClient]
    ) -> None:
        service, client = over_sockets
        async with client.stream(
            "GET", "/api/indicator/v1/download", params={"size": BODY_SIZE}
        ) as download:
            async for _ in download.aiter_raw():
                break  # one chunk, then hang up
        await asyncio.wait_for(service.disconnected.wait(), timeout=30)


@pytest.fixture
async def in_process(
    database_urls: dict[str, str],
) -> AsyncIterator[tuple[StandInService, httpx.AsyncClient]]:
    service = StandInService()
    upstream = httpx.AsyncClient(mounts={"http://indicator.test": httpx.ASGITransport(app=service)})
    settings = gateway_settings("http://indicator.test", database_urls["gateway"])
    app = create_app("gateway", settings, http_client=upstream)
    async with (
        upstream,
        lifespan_of(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("203.0.113.9", 4000)),
            base_url="http://gateway.test",
        ) as client,
    ):
        yield service, client


class TestHeaders:
    async def test_end_to_end_request_headers_reach_the_service(
        self, in_process: tuple[StandInService, httpx.AsyncClient]
    ) -> None:
        service, client = in_process
        admin = auth()  # minted once: a token minted a second later differs
        response = await client.post(
            "/api/indicator/v1/things?a=1&a=2",
            content=b"name,value\n",
            headers={
                "content-type": "text/csv",
                "idempotency-key": "k-1",
                "if-none-match": '"v0"',
                "if-modified-since": "Tue, 01 Dec 2026 07:00:00 GMT",
                "accept-language": "zh-CN",
                "x-custom": "yes",
                "x-forwarded-for": "10.9.9.9",  # a caller cannot choose its own address
                "connection": "x-only-this-hop",
                "x-only-this-hop": "dropped",
                "te": "trailers",
                **admin,
            },
        )
        assert response.status_code == 201
        sent = service.received_headers
        assert sent["content-type"] == "text/csv"
        assert sent["idempotency-key"] == "k-1"
        assert sent["if-none-match"] == '"v0"'
        assert sent["if-modified-since"] == "Tue, 01 Dec 2026 07:00:00 GMT"
        assert sent["accept-language"] == "zh-CN"
        assert sent["x-custom"] == "yes"
        assert sent["x-forwarded-for"] == "203.0.113.9"
        assert sent["authorization"] == admin["authorization"]
        assert sent["content-length"] == str(len(b"name,value\n"))
        assert sent["x-request-id"] == response.headers["x-request-id"]
        assert "x-only-this-hop" not in sent and "te" not in sent
        assert sent["host"] == "indicator.test"

    async def test_end_to_end_response_headers_reach_the_caller(
        self, in_process: tuple[StandInService, httpx.AsyncClient]
    ) -> None:
        _, client = in_process
        response = await client.get("/api/indicator/v1/things", headers=auth())
        assert response.status_code == 201
        for name, value in {
            "etag": '"v1"',
            "cache-control": "private, max-age=60",
            "last-modified": "Tue, 01 Dec 2026 08:00:00 GMT",
            "location": "/v1/things/1",
            "retry-after": "7",
            "idempotent-replayed": "true",
            "x-service-note": "kept",
            "content-type": "application/json",
        }.items():
            assert response.headers[name] == value, name
        assert "x-only-this-hop" not in response.headers
        assert "keep-alive" not in response.headers
        assert response.headers["content-length"] == str(len(response.content))

    async def test_an_api_key_never_reaches_the_service(
        self, in_process: tuple[StandInService, httpx.AsyncClient]
    ) -> None:
        service, client = in_process
        # Unknown keys are refused by the gateway itself, before any call.
        response = await client.get("/api/indicator/v1/things", headers={"x-api-key": "gpk_x_y"})
        assert response.status_code == 401
        assert service.received_headers == {}


class TestThroughTheStack:
    async def test_the_measurements_csv_export_arrives_as_a_download(self, stack: Stack) -> None:
        indicator = stack.client("indicator")
        await factories.create_department(indicator, code="EDU", category="social_services")
        await factories.create_indicator_system(
            indicator,
            category="social_services",
            nodes=[factories.indicator_leaf("E1", 100, frequency="annual")],
            publish=True,
        )
        await factories.create_measurement(
            indicator, indicator="E1", department="EDU", period="2026", value=92
        )
        params = {"jurisdiction": HEIHE, "format": "csv"}
        direct = await indicator.get("/v1/measurements/export", params=params, headers=auth())
        through = await stack.gateway.get(
            "/api/indicator/v1/measurements/export", params=params, headers=auth()
        )
        assert through.status_code == 200
        assert through.headers["content-disposition"] == (
            f'attachment; filename="measurements-{HEIHE}.csv"'
        )
        assert through.headers["content-type"] == "text/csv; charset=utf-8"
        assert through.text == direct.text
        assert "EDU" in through.text and "92" in through.text

    async def test_a_service_that_is_down_is_a_502_problem(self, stack: Stack) -> None:
        stack.router.unmount(base_url("feedback"))
        response = await stack.gateway.get("/api/feedback/v1/reports", headers=auth())
        assert response.status_code == 502
        assert response.json()["code"] == "bad-gateway"


class TestCallerGoesAway:
    async def test_a_caller_that_hangs_up_mid_upload_is_no_server_error(
        self, database_urls: dict[str, str], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Half a body, then the caller is gone: the call upstream ends, nothing is answered
        and nothing is logged as the gateway's own failure."""
        service = StandInService()
        upstream = httpx.AsyncClient(
            mounts={"http://indicator.test": httpx.ASGITransport(app=service)}
        )
        app = create_app(
            "gateway",
            gateway_settings("http://indicator.test", database_urls["gateway"]),
            http_client=upstream,
        )
        messages = [
            {"type": "http.request", "body": b"x" * CHUNK, "more_body": True},
            {"type": "http.disconnect"},
        ]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop(0)
            await asyncio.sleep(3600)
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/api/indicator/v1/upload",
            "raw_path": b"/api/indicator/v1/upload",
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"gateway.test"),
                (b"content-length", str(10 * CHUNK).encode()),
                *[(k.encode(), v.encode()) for k, v in auth().items()],
            ],
            "client": ("203.0.113.9", 4000),
            "server": ("gateway.test", 80),
        }
        async with upstream, lifespan_of(app):
            await asyncio.wait_for(app(scope, receive, send), timeout=30)
        logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
        assert [e for e in logged if e.get("level") == "error"] == []
        assert [e["status"] for e in logged if e.get("event") == "request"] == [499]
        assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [499]
