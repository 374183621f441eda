"""The indicator service: departments, indicator systems, targets, measurements."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.common.app import ServiceDefinition, build_service_app
from services.indicator.api import router as departments_router
from services.indicator.models import COMMON
from services.indicator.settings import Settings

DEFINITION = ServiceDefinition(
    name="indicator",
    title="indicator service",
    description="Departments, indicator systems, targets, scoring rules and measurements.",
    tables=COMMON,
    routers=(departments_router,),
)


def create_app(
    settings: Settings | None = None, *, http_client: httpx.AsyncClient | None = None
) -> FastAPI:
    return build_service_app(DEFINITION, settings or Settings(), http_client=http_client)
