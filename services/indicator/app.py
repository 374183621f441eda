"""The indicator service: departments, indicator systems, targets, measurements."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.common.app import ServiceDefinition, build_service_app
from services.common.errors import problem_response
from services.indicator.departments.api import router as departments_router
from services.indicator.events import SIBLING_SUBSCRIBERS
from services.indicator.measurements.api import dhis2_router
from services.indicator.measurements.api import router as measurements_router
from services.indicator.models import COMMON
from services.indicator.settings import Settings
from services.indicator.systems.api import router as systems_router
from services.indicator.weighting.api import router as weighting_router
from services.scoring.formula import InvalidFormula

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
    app = build_service_app(DEFINITION, settings or Settings(), http_client=http_client)

    @app.exception_handler(InvalidFormula)
    async def _invalid_formula(request: Request, exc: InvalidFormula) -> JSONResponse:
        # The scoring language is pure and knows no HTTP; a formula that does not parse is
        # this service's 422 problem, its position an extra member a client can point at.
        return problem_response(
            request,
            status=422,
            code="invalid-formula",
            title="The formula cannot be parsed",
            detail=exc.detail,
            position=exc.position,
        )

    return app
