"""Structured logs, request ids and Prometheus metrics for every component."""

from __future__ import annotations

import logging
import os
import re
import sys
import time
from typing import Any

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.context import (
    current_component,
    current_request_id,
    enter_request,
    leave_request,
)
from services.common.errors import unexpected_error_response

# Metrics are Prometheus's (/metrics) and logs JSON lines: FastAPI's own OpenTelemetry hooks
# stay off (switched on, each request asks the global providers whether to trace it).
NO_NATIVE_TELEMETRY: Any = {"tracing": False, "metrics": False, "logs": False}

REQUEST_ID_HEADER = "x-request-id"
_REQUEST_ID_BYTES = REQUEST_ID_HEADER.encode()
log = structlog.get_logger("govperf.errors")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _add_request_id(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    request_id = current_request_id()
    if request_id and "request_id" not in event_dict:
        event_dict["request_id"] = request_id
    component = current_component()
    if component and "component" not in event_dict:
        event_dict["component"] = component
    return event_dict


def configure_logging(*, level: str = "INFO", fmt: str = "json", component: str = "") -> None:
    """JSON lines on stdout (or readable lines with fmt=console), each with the request id."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_request_id,
    ]
    if component:
        processors.append(_component_adder(component))
    structlog.configure(
        processors=[*processors, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=False,
    )


def _component_adder(component: str) -> Any:
    def add(_logger: Any, _method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        event_dict.setdefault("component", component)
        return event_dict

    return add


class Metrics:
    """One registry per app, so several apps can live in one process (the test harness)."""

    def __init__(self, component: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "govperf_http_requests_total",
            "HTTP requests handled",
            ["component", "method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "govperf_http_request_duration_seconds",
            "HTTP request latency",
            ["component", "method", "route"],
            registry=self.registry,
        )
        self.webhook_attempts = Counter(
            "govperf_webhook_attempts_total",
            "Webhook delivery attempts by outcome",
            ["component", "outcome"],
            registry=self.registry,
        )
        self.webhook_latency = Histogram(
            "govperf_webhook_delivery_latency_seconds",
            "From the event's commit to the receiver's 2xx",
            ["component"],
            registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
        )
        self.webhook_deliveries = Gauge(
            "govperf_webhook_deliveries",
            "Webhook deliveries by status (pending, dead)",
            ["component", "status"],
            registry=self.registry,
        )
        self.component = component
        self._request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        # The labelled children are looked up once per (method, route, status), not per
        # request: a label lookup costs more than the increment.
        key = (method, route, status)
        children = self._request_children.get(key)
        if children is None:
            children = self._request_children[key] = (
                self.requests.labels(self.component, method, route, str(status)),
                self.latency.labels(self.component, method, route),
            )
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def _route_template(scope: Scope, status: int) -> str:
    # The router records the matched route in the scope; its template keeps label sets small.
    # Mounted apps (GraphQL) leave no route: their fixed path is used, unless nothing matched.
    route = scope.get("route")
    if route is not None and getattr(route, "path", None):
        return route.path
    return "unmatched" if status == 404 else scope.get("path", "unmatched")


class RequestContextMiddleware:
    """Keeps or makes the request id, echoes it, logs one line and records metrics per request."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self.log = structlog.get_logger("govperf.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = ""
        for name, value in scope["headers"]:
            if name == _REQUEST_ID_BYTES:
                incoming = value.decode("latin-1")
                break
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else os.urandom(16).hex()
        token = enter_request(request_id, self.metrics.component)
        started = time.perf_counter()
        status = 500

        status_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, status_started
            if message["type"] == "http.response.start":
                status, status_started = message["status"], True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                # Here, not in an app-level handler (Starlette runs those outside every
                # middleware): the answer and its log line still know the request id.
                if status_started:
                    log.error("unhandled_error", path=scope.get("path"), exc_info=exc)
                    raise
                response = unexpected_error_response(Request(scope), exc)
                await response(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope, status)
            method = scope.get("method", "")
            self.metrics.observe_request(method, route, status, elapsed)
            if route not in ("/healthz", "/readyz", "/metrics"):
                self.log.info(
                    "request",
                    method=method,
                    path=scope.get("path"),
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )
            leave_request(token)
