"""The feedback service: feedback reports, rectification tasks, appeals, citizen feedback."""

from __future__ import annotations

import dataclasses

import httpx
from fastapi import FastAPI

from services.common.app import ServiceDefinition, build_service_app
from services.feedback import events, scheduler
from services.feedback.api import router as citizen_feedback_router
from services.feedback.appeals.api import router as appeals_router
from services.feedback.metrics import service as metrics_service
from services.feedback.metrics.api import router as metrics_router
from services.feedback.models import COMMON
from services.feedback.reports import service as report_service
from services.feedback.reports.api import router as reports_router
from services.feedback.settings import Settings
from services.feedback.tasks.api import router as tasks_router
from services.feedback.tasks.bulk import router as bulk_router
from services.feedback.uses.api import router as results_uses_router

# Event type → handler, for the events siblings deliver to this service's inbox (the
# results handlers take their thresholds from the settings: see create_app).
EVENT_HANDLERS = {
    **events.HANDLERS,
    **report_service.handlers(report_service.ReportRules()),
}

DEFINITION = ServiceDefinition(
    name="feedback",
    title="feedback service",
    description="Feedback reports, rectification tasks, appeals and citizen feedback.",
    tables=COMMON,
    routers=(
        reports_router,
        # Before the tasks' routes: export.csv is not a task id.
        bulk_router,
        tasks_router,
        appeals_router,
        citizen_feedback_router,
        results_uses_router,
        metrics_router,
    ),
    event_handlers=EVENT_HANDLERS,
    sibling_subscribers=events.SIBLING_SUBSCRIBERS,
    periodic_jobs=(metrics_service.METRICS_JOB,),
)


def create_app(
    settings: Settings | None = None, *, http_client: httpx.AsyncClient | None = None
) -> FastAPI:
    settings = settings or Settings()
    definition = dataclasses.replace(
        DEFINITION,
        event_handlers={
            **DEFINITION.event_handlers,
            **report_service.handlers(report_service.ReportRules.of(settings)),
        },
        periodic_jobs=(*DEFINITION.periodic_jobs, scheduler.deadlines_job(settings)),
    )
    return build_service_app(definition, settings, http_client=http_client)
