"""The disclosure service: publications, the public read API, open-data exports."""

from __future__ import annotations

from dataclasses import replace

import httpx
from fastapi import FastAPI

from services.common.app import ServiceDefinition, build_service_app
from services.common.scheduler import PeriodicJob
from services.disclosure import drafts
from services.disclosure import service as publication_service
from services.disclosure.api import router as publications_router
from services.disclosure.events import SIBLING_SUBSCRIBERS
from services.disclosure.ledger_api import router as ledger_router
from services.disclosure.models import COMMON
from services.disclosure.pages.api import router as pages_router
from services.disclosure.public.api import router as public_router
from services.disclosure.public.http import EarlyAnswers
from services.disclosure.settings import DEFAULT_PUBLISH_POLICY, Settings

DEFINITION = ServiceDefinition(
    name="disclosure",
    title="disclosure service",
    description="Publications of plans, results and rectification progress; public reads.",
    tables=COMMON,
    routers=(publications_router, ledger_router, public_router, pages_router),
    sibling_subscribers=SIBLING_SUBSCRIBERS,
    # Drafts from the siblings' events; create_app binds them to the app's publish policy.
    event_handlers=drafts.handlers(lambda: DEFAULT_PUBLISH_POLICY),
    periodic_jobs=(PeriodicJob("publish-scheduled", publication_service.publish_due),),
    middleware=(EarlyAnswers,),
)


def create_app(
    settings: Settings | None = None, *, http_client: httpx.AsyncClient | None = None
) -> FastAPI:
    settings = settings or Settings()
    definition = replace(DEFINITION, event_handlers=drafts.handlers(settings.policy))
    return build_service_app(definition, settings, http_client=http_client)
