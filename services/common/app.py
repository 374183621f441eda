"""What every service app is made of: lifespan, middleware, errors, health, metrics, audit."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from httpx_aiohttp import HttpxAiohttpClient
from sqlalchemy import text

from services.common.audit import AUDIT_MODEL, audit_router
from services.common.auth import TokenVerifier
from services.common.db import Database
from services.common.errors import ServiceUnavailable, document_problems, install_error_handlers
from services.common.events.api import router as webhooks_router
from services.common.events.dispatcher import Dispatcher
from services.common.events.outbox import COMPONENT, TABLES, WAKE
from services.common.events.subscriptions import EventHandler
from services.common.migrate import current_revision, head_revision, upgrade_async
from services.common.models import CommonTables
from services.common.observability import (
    NO_NATIVE_TELEMETRY,
    Metrics,
    RequestContextMiddleware,
    configure_logging,
)
from services.common.routing import TransactionalRoute, purge_expired_idempotency_keys
from services.common.scheduler import PeriodicJob, Scheduler
from services.common.settings import ComponentSettings


@dataclass
class ServiceDefinition:
    """What makes one service itself; `build_service_app` supplies everything shared."""

    name: str
    title: str
    description: str
    tables: CommonTables
    routers: Sequence[APIRouter] = field(default_factory=tuple)
    tags: Sequence[dict[str, str]] = field(default_factory=tuple)
    # Events this service handles when a sibling delivers them to its inbox.
    event_handlers: Mapping[str, EventHandler] = field(default_factory=dict)
    # Sibling services that receive this service's events: {"feedback": ("publication.*",)}.
    sibling_subscribers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Rounds of work the service does by itself (services/common/scheduler.py).
    periodic_jobs: Sequence[PeriodicJob] = field(default_factory=tuple)
    # ASGI middleware classes of this service, innermost last; they run inside the shared
    # request context (request id, log line, metrics), ahead of routing.
    middleware: Sequence[type] = field(default_factory=tuple)


async def readiness(app: FastAPI, component: str) -> dict[str, Any]:
    """Database reachable and at the migration head, or ServiceUnavailable saying which not."""
    db: Database = app.state.db
    try:
        # The read engine: on SQLite readiness must not queue behind the single writer.
        async with db.read_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            try:
                current = await current_revision(connection, component)
            except Exception:
                current = None
    except Exception as exc:
        raise ServiceUnavailable(
            f"Database unreachable: {type(exc).__name__}", code="database-unreachable"
        ) from exc
    head = app.state.migration_head
    if current != head:
        raise ServiceUnavailable(
            f"Database at migration {current or 'none'}, code expects {head}; "
            f"run `govperf migrate {component}`",
            code="migrations-pending",
        )
    return {
        "status": "ready",
        "service": component,
        "version": app.state.settings.version,
        "database": "ok",
        "migration": current,
    }


def add_health_routes(app: FastAPI, component: str, version: str) -> None:
    """/healthz, /readyz and /metrics, on the app itself: the probes run every few seconds
    per replica, and a route of an included router is found through one more level."""

    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok", "service": component, "version": version}

    async def readyz(request: Request) -> JSONResponse:
        """The database is reachable and its schema is at the migration head."""
        return JSONResponse(await readiness(request.app, component))

    async def metrics(request: Request) -> Any:
        return request.app.state.metrics.render()

    # Plain routes: none of them needs the transactional route's session.
    add = functools.partial(
        app.router.add_api_route, methods=["GET"], route_class_override=APIRoute
    )
    add("/healthz", healthz, tags=["health"])
    add("/readyz", readyz, tags=["health"])
    add("/metrics", metrics, include_in_schema=False)


def build_service_app(
    definition: ServiceDefinition,
    settings: ComponentSettings,
    *,
    http_client: httpx.AsyncClient | None = None,
) -> FastAPI:
    """The service's app; tests pass an `http_client` routed to in-process apps."""
    configure_logging(level=settings.log_level, fmt=settings.log_format, component=definition.name)
    log = structlog.get_logger("govperf.app")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await upgrade_async(definition.name, settings.database_url)
        db = app.state.db = Database(settings.database_url)
        http = app.state.http = http_client or HttpxAiohttpClient(
            timeout=settings.webhook_timeout_seconds,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        )
        dispatcher = app.state.dispatcher = Dispatcher(
            component=definition.name,
            db=db,
            tables=definition.tables,
            http=http,
            settings=settings,
            metrics=app.state.metrics,
            sibling_subscribers=definition.sibling_subscribers,
        )
        info = {
            AUDIT_MODEL: definition.tables.audit,
            TABLES: definition.tables,
            COMPONENT: definition.name,
            WAKE: dispatcher.wake,
        }
        for factory in db.session_factories:
            factory.configure(info=info)
        await dispatcher.ensure_siblings()
        if settings.dispatcher_enabled:
            dispatcher.start()
        scheduler = app.state.scheduler = Scheduler(
            definition.name, db, definition.periodic_jobs, settings.scheduler_interval_seconds
        )
        if settings.scheduler_enabled:
            scheduler.start()
        purge = asyncio.create_task(
            _purge_idempotency_keys(db, definition.tables.idempotency),
            name=f"{definition.name}-idempotency-purge",
        )
        log.info("started", service=definition.name, version=settings.version)
        try:
            yield
        finally:
            purge.cancel()
            await asyncio.gather(purge, return_exceptions=True)
            await scheduler.stop()
            await dispatcher.stop()
            if http_client is None:
                await http.aclose()
            await db.dispose()
            log.info("stopped", service=definition.name)

    app = FastAPI(
        title=f"govperf {definition.title}",
        description=definition.description,
        version=settings.version,
        lifespan=lifespan,
        openapi_tags=list(definition.tags),
        telemetry=NO_NATIVE_TELEMETRY,
    )
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings)
    app.state.tables = definition.tables
    app.state.event_handlers = dict(definition.event_handlers)
    app.state.migration_head = head_revision(definition.name)
    app.state.metrics = Metrics(definition.name)
    app.router.route_class = TransactionalRoute
    # Starlette wraps the middleware added last around the others: these go in first.
    for middleware in reversed(definition.middleware):
        app.add_middleware(middleware)
    install_common(app, app.state.metrics)
    add_health_routes(app, definition.name, settings.version)
    for router in definition.routers:
        app.include_router(router)
    app.include_router(audit_router(definition.tables.audit))
    app.include_router(webhooks_router)
    return app


IDEMPOTENCY_PURGE_INTERVAL_SECONDS = 600.0
housekeeping_log = structlog.get_logger("govperf.housekeeping")


async def _purge_idempotency_keys(db: Database, model: Any) -> None:
    """Every few minutes (first right after start) forget Idempotency-Keys past their day.
    Several replicas may all do it: deleting what is already gone costs nothing."""
    while True:
        try:
            purged = await purge_expired_idempotency_keys(db, model)
            if purged:
                housekeeping_log.info("idempotency_keys_purged", count=purged)
        except Exception as exc:  # the next round tries again
            housekeeping_log.warning(
                "idempotency_purge_failed", error=f"{type(exc).__name__}: {exc}"
            )
        await asyncio.sleep(IDEMPOTENCY_PURGE_INTERVAL_SECONDS)


def install_common(app: FastAPI, metrics: Metrics) -> None:
    """Problem+json errors, request ids, access logs and request metrics."""
    install_error_handlers(app)
    document_problems(app)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)


def lifespan_of(app: FastAPI) -> AbstractAsyncContextManager[Any]:
    """Enter an app's lifespan outside a server (tests, the in-process harness)."""
    return app.router.lifespan_context(app)
