"""The gateway: GraphQL over the services, a REST passthrough, one public origin."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.routing import APIWebSocketRoute
from httpx_aiohttp import HttpxAiohttpClient
from strawberry.fastapi import GraphQLRouter

from gateway.api_clients import KeyExchange
from gateway.api_clients import router as api_clients_router
from gateway.schema import ComponentHealth, build_schema
from gateway.settings import Settings
from gateway.upstream import forwarded_headers
from services.common.app import health_router, install_common, readiness
from services.common.auth import TokenVerifier
from services.common.db import Database
from services.common.errors import AppError, NotFound, responses
from services.common.migrate import head_revision, upgrade_async
from services.common.observability import Metrics, configure_logging

PASSTHROUGH_METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
PASSTHROUGH_REQUEST_HEADERS = (
    "content-type",
    "accept",
    "idempotency-key",
    "if-none-match",
)
PASSTHROUGH_RESPONSE_HEADERS = (
    "content-type",
    "etag",
    "cache-control",
    "location",
    "retry-after",
    "www-authenticate",
    "idempotent-replayed",
    "vary",
)


class BadGateway(AppError):
    status, code, title = 502, "bad-gateway", "The service behind the gateway did not answer"


class GatewayGraphQLRouter(GraphQLRouter):
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
        owns_client = http_client is None
        app.state.http = http_client or HttpxAiohttpClient(
            timeout=settings.upstream_timeout_seconds,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        )
        log.info("started", service="gateway", upstreams=settings.service_urls())
        try:
            yield
        finally:
            if owns_client:
                await app.state.http.aclose()
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
    install_common(app, app.state.metrics)
    app.include_router(health_router("gateway", settings.version))
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
            "authorization": await request.app.state.keys.authorization(request),
            "gateway_health": gateway_health,
        }

    graphql = GatewayGraphQLRouter(
        build_schema(settings), context_getter=context_getter, subscription_protocols=()
    )
    # The schema has no subscriptions, so no websocket either: Strawberry adds its route
    # whatever the protocols, and a handshake is refused like any other unknown path.
    graphql.routes[:] = [r for r in graphql.routes if not isinstance(r, APIWebSocketRoute)]
    app.include_router(graphql, prefix="/graphql")

    async def passthrough(service: str, path: str, request: Request) -> Response:
        """The services' REST APIs under the gateway's origin: `/api/indicator/v1/…`."""
        base_url = settings.service_urls().get(service)
        if base_url is None:
            raise NotFound(f"No service named '{service}'")
        headers = forwarded_headers(
            await request.app.state.keys.authorization(request),
            # The services rate-limit and look for bursts by the caller's address.
            client_address=request.client.host if request.client else None,
        )
        headers.update(
            {h: v for h in PASSTHROUGH_REQUEST_HEADERS if (v := request.headers.get(h)) is not None}
        )
        try:
            upstream = await request.app.state.http.request(
                request.method,
                f"{base_url}/{path}",
                params=request.query_params,
                content=await request.body(),
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise BadGateway(f"{service} is unreachable ({type(exc).__name__})") from exc
        return Response(
            content=upstream.content,
            status_code=upstream.status_code,
            headers={
                h: v
                for h in PASSTHROUGH_RESPONSE_HEADERS
                if (v := upstream.headers.get(h)) is not None
            },
        )

    # One route per method, so that each has its own OpenAPI operation.
    for method in PASSTHROUGH_METHODS:
        app.add_api_route(
            "/api/{service}/{path:path}",
            passthrough,
            methods=[method],
            tags=["passthrough"],
            # Besides these, whatever the service itself answers.
            responses=responses(NotFound, BadGateway),
        )
    return app
