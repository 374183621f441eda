"""The gateway: GraphQL over the services, a REST passthrough, one public origin."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import httpx
import orjson
import structlog
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import StreamingResponse
from fastapi.routing import APIWebSocketRoute
from httpx_aiohttp import AiohttpTransport as HttpxOverAiohttp
from httpx_aiohttp import HttpxAiohttpClient
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect
from strawberry.fastapi import GraphQLRouter

from gateway.api_clients import KeyExchange
from gateway.api_clients import router as api_clients_router
from gateway.ratelimits import GatewayRateLimits, RateLimitHeaders, admitted
from gateway.schema import ComponentHealth, build_schema
from gateway.settings import Settings
from gateway.upstream import AiohttpTransport, HttpxTransport, forwarded_headers
from services.common.app import add_health_routes, install_common, readiness
from services.common.auth import TokenVerifier
from services.common.db import Database
from services.common.errors import AppError, NotFound, responses
from services.common.migrate import head_revision, upgrade_async
from services.common.observability import Metrics, configure_logging
from services.common.ratelimit import RateLimiter, TooManyRequests

PASSTHROUGH_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
# RFC 9110 §7.6.1: fields for one connection only, never forwarded (besides those a
# Connection header names); the length and framing are the forwarding hop's own.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "proxy-connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "proxy-authenticate",
        "proxy-authorization",
        "content-length",
    }
)
# What the gateway itself decides for the request upstream: the host, the credentials
# (an API key becomes a token; it never leaves the gateway), the caller's address and the
# request id; and `Expect`, which the gateway's own server already answered.
GATEWAY_REQUEST_HEADERS = frozenset(
    {
        "host",
        "expect",
        "authorization",
        "x-api-key",
        "forwarded",
        "x-forwarded-for",
        "x-real-ip",
        "x-request-id",
        "cookie",
    }
)
# The gateway's own on the way back (its request id, its rate limits).
GATEWAY_RESPONSE_HEADERS = frozenset(
    {"x-request-id", "ratelimit", "ratelimit-policy", "set-cookie"}
)


CLIENT_CLOSED_REQUEST = 499


def caller_went_away(exc: BaseException) -> bool:
    """Whether the caller hung up while its body was streaming upstream (the transport may
    wrap the disconnect in an error of its own)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientDisconnect):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def end_to_end(fields: list[tuple[str, str]], drop: frozenset[str]) -> list[tuple[str, str]]:
    """Every field but the hop-by-hop ones, those the Connection header names and `drop`."""
    named = {
        token.strip().lower()
        for name, value in fields
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return [
        (name, value)
        for name, value in fields
        if (lowered := name.lower()) not in HOP_BY_HOP
        and lowered not in drop
        and lowered not in named
    ]


class BadGateway(AppError):
    status, code, title = 502, "bad-gateway", "The service behind the gateway did not answer"


class GatewayGraphQLRouter(GraphQLRouter):
    def encode_json(self, data: object) -> bytes:
        # A tree of a few hundred fields: orjson writes it in a tenth of json.dumps's time.
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        try:
            return json.loads(data)
        except (UnicodeDecodeError, RecursionError) as exc:
            # Strawberry answers its 400 for a JSONDecodeError only: bytes that are not
            # UTF-8, or nesting too deep for the parser, are as unparsable (not a 500).
            raise json.JSONDecodeError(f"{type(exc).__name__}: {exc}", "", 0) from exc


def create_app(
    settings: Settings | None = None, *, http_client: httpx.AsyncClient | None = None
) -> FastAPI:
    """The gateway app; tests pass an `http_client` routed to in-process service apps."""
    settings = settings or Settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format, component="gateway")
    log = structlog.get_logger("govperf.gateway")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await upgrade_async("gateway", settings.database_url)
        app.state.db = Database(settings.database_url)
        session = None
        if http_client is None:
            # One pool for both: GraphQL's calls on the session itself, the passthrough's
            # streams through httpx over it. Idle connections are let go before the services'
            # servers close them (uvicorn keeps one 5 s), so none is reused as it closes.
            session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=4),
                timeout=aiohttp.ClientTimeout(total=settings.upstream_timeout_seconds),
            )
            app.state.http = HttpxAiohttpClient(
                timeout=settings.upstream_timeout_seconds,
                transport=HttpxOverAiohttp(client=session),
            )
            app.state.transport = AiohttpTransport(session)
        else:
            app.state.http = http_client
            app.state.transport = HttpxTransport(http_client)
        log.info("started", service="gateway", upstreams=settings.service_urls())
        try:
            yield
        finally:
            if session is not None:
                await app.state.http.aclose()
                await session.close()
            await app.state.db.dispose()
            log.info("stopped", service="gateway")

    app = FastAPI(
        title="govperf gateway",
        version=settings.version,
        lifespan=lifespan,
        description="GraphQL at /graphql; REST passthrough at /api/<service>/…",
    )
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings)
    app.state.migration_head = head_revision("gateway")
    app.state.metrics = Metrics("gateway")
    app.state.keys = KeyExchange()
    app.state.rate_limits = GatewayRateLimits(RateLimiter(settings.rate_limit_storage_url))
    app.add_middleware(RateLimitHeaders)
    install_common(app, app.state.metrics)
    add_health_routes(app, "gateway", settings.version)
    app.include_router(api_clients_router)

    async def gateway_health() -> ComponentHealth:
        try:
            ready = await readiness(app, "gateway")
        except AppError as exc:
            return ComponentHealth(service="gateway", status="unavailable", detail=exc.detail)
        return ComponentHealth(service="gateway", status="ok", version=ready["version"])

    async def context_getter(request: Request) -> dict[str, Any]:
        return {
            "request": request,
            "settings": settings,
            "http": request.app.state.http,
            "transport": request.app.state.transport,
            "authorization": await request.app.state.rate_limits.admit(request),
            "gateway_health": gateway_health,
        }

    graphql = GatewayGraphQLRouter(
        build_schema(settings), context_getter=context_getter, subscription_protocols=()
    )
    # The schema has no subscriptions, so no websocket either: Strawberry adds its route
    # whatever the protocols, and a handshake is refused like any other unknown path.
    graphql.routes[:] = [r for r in graphql.routes if not isinstance(r, APIWebSocketRoute)]
    # Counted before Strawberry reads the body, so that every answer carries the limits.
    app.include_router(graphql, prefix="/graphql", dependencies=[Depends(admitted)])

    async def passthrough(service: str, path: str, request: Request) -> Response:
        """The services' REST APIs under the gateway's origin: `/api/indicator/v1/…`. Bodies
        stream both ways, never held whole; every end-to-end header passes both ways."""
        authorization = await request.app.state.rate_limits.admit(request)
        base_url = settings.service_urls().get(service)
        if base_url is None:
            raise NotFound(f"No service named '{service}'")
        headers = end_to_end(request.headers.items(), GATEWAY_REQUEST_HEADERS)
        headers.extend(
            forwarded_headers(
                authorization,
                # The services rate-limit and look for bursts by the caller's address.
                client_address=request.client.host if request.client else None,
            ).items()
        )
        has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
        if "content-length" in request.headers:
            headers.append(("content-length", request.headers["content-length"]))
        http: httpx.AsyncClient = request.app.state.http
        outgoing = http.build_request(
            request.method,
            f"{base_url}/{path}",
            params=request.query_params.multi_items(),
            content=request.stream() if has_body else None,
            headers=headers,
        )
        try:
            upstream = await http.send(outgoing, stream=True)
        except Exception as exc:
            if caller_went_away(exc):
                # Nobody is left to answer; the access log says so with nginx's 499.
                log.info("caller_went_away", service=service, path=path)
                return Response(status_code=CLIENT_CLOSED_REQUEST)
            if isinstance(exc, httpx.HTTPError):
                raise BadGateway(f"{service} is unreachable ({type(exc).__name__})") from exc
            raise

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.aiter_raw():
                    yield chunk
            finally:
                await upstream.aclose()

        response = StreamingResponse(
            body(),
            status_code=upstream.status_code,
            # Also when the caller went away before the body began.
            background=BackgroundTask(upstream.aclose),
        )
        response.raw_headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in end_to_end(upstream.headers.multi_items(), GATEWAY_RESPONSE_HEADERS)
        ]
        if "content-length" in upstream.headers:
            # The raw bytes pass unchanged (not decoded), so the service's length stays true.
            response.raw_headers.append(
                (b"content-length", upstream.headers["content-length"].encode("latin-1"))
            )
        return response

    # One route per method, so that each has its own OpenAPI operation.
    for method in PASSTHROUGH_METHODS:
        app.add_api_route(
            "/api/{service}/{path:path}",
            passthrough,
            methods=[method],
            tags=["passthrough"],
            # Besides these, whatever the service itself answers.
            responses=responses(NotFound, BadGateway, TooManyRequests),
        )
    return app
