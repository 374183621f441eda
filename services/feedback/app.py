"""The feedback service: feedback reports, rectification tasks, appeals, citizen feedback."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.common.app import ServiceDefinition, build_service_app
from services.feedback import events
from services.feedback.api import router as citizen_feedback_router
from services.feedback.models import COMMON
from services.feedback.settings import Settings
from services.feedback.tasks.api import router as tasks_router

# Event type → handler, for the events siblings deliver to this service's inbox.
EVENT_HANDLERS = {
    **events.HANDLERS,
}

DEFINITION = ServiceDefinition(
    name="feedback",
    title="feedback service",
    description="Feedback reports, rectification tasks, appeals and citizen feedback.",
    tables=COMMON,
    routers=(
        tasks_router,
        citizen_feedback_router,
    ),
    event_handlers=EVENT_HANDLERS,
    sibling_subscribers=events.SIBLING_SUBSCRIBERS,
)


def create_app(
    settings: Settings | None = None, *, http_client: httpx.AsyncClient | None = None
) -> FastAPI:
    return build_service_app(DEFINITION, settings or Settings(), http_client=http_client)
