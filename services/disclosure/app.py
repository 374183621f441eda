"""The disclosure service: publications, the public read API, open-data exports."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.common.app import ServiceDefinition, build_service_app
from services.disclosure.api import router as publications_router
from services.disclosure.events import SIBLING_SUBSCRIBERS
from services.disclosure.models import COMMON
from services.disclosure.public.api import router as public_router
from services.disclosure.settings import Settings

DEFINITION = ServiceDefinition(
    name="disclosure",
    title="disclosure service",
    description="Publications of plans, results and rectification progress; public reads.",
    tables=COMMON,
    routers=(publications_router, public_router),
    sibling_subscribers=SIBLING_SUBSCRIBERS,
)


def create_app(
    settings: Settings | None = None, *, http_client: httpx.AsyncClient | None = None
) -> FastAPI:
    return build_service_app(DEFINITION, settings or Settings(), http_client=http_client)
