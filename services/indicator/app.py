"""The indicator service: departments, indicator systems, targets, measurements."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.common.app import ServiceDefinition, build_service_app
from services.indicator.departments.api import router as departments_router
from services.indicator.events import SIBLING_SUBSCRIBERS
from services.indicator.measurements.api import dhis2_router
from services.indicator.measurements.api import router as measurements_router
from services.indicator.models import COMMON
from services.indicator.settings import Settings
from services.indicator.systems.api import router as systems_router
from services.indicator.weighting.api import router as weighting_router

DEFINITION = ServiceDefinition(
    name="indicator",
    title="indicator service",
    description="Departments, indicator systems, targets, scoring rules and measurements.",
    tables=COMMON,
    routers=(
        departments_router,
        systems_router,
        weighting_router,
        measurements_router,
        dhis2_router,
    ),
    sibling_subscribers=SIBLING_SUBSCRIBERS,
)


def create_app(
    settings: Settings | None = None, *, http_client: httpx.AsyncClient | None = None
) -> FastAPI:
    return build_service_app(DEFINITION, settings or Settings(), http_client=http_client)
