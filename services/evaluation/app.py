"""The evaluation service: cycles, evaluator groups and weights, ratings, scores, results."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.common.app import ServiceDefinition, build_service_app
from services.evaluation import events
from services.evaluation.cycles.api import router as cycles_router
from services.evaluation.groups.api import router as groups_router
from services.evaluation.models import COMMON
from services.evaluation.questionnaires.api import router as questionnaires_router
from services.evaluation.ratings.api import review_router as rating_review_router
from services.evaluation.ratings.api import router as ratings_router
from services.evaluation.results import events as result_events
from services.evaluation.results import service as result_service
from services.evaluation.results.api import router as results_router
from services.evaluation.scorecards.api import router as scorecards_router
from services.evaluation.settings import Settings
from services.evaluation.systems.api import router as systems_router

# One router per feature package; add a feature's router here. The rating intake comes
# first: it is the hot path, and routes are matched in order.
ROUTERS = (
    ratings_router,
    systems_router,
    cycles_router,
    groups_router,
    scorecards_router,
    questionnaires_router,
    rating_review_router,
    results_router,
)
# Event type → handler, for the events siblings deliver to this service's inbox.
EVENT_HANDLERS = {
    **events.HANDLERS,
    **result_service.HANDLERS,
}

DEFINITION = ServiceDefinition(
    name="evaluation",
    title="evaluation service",
    description="Evaluation cycles, evaluator groups and weights, ratings, scoring and results.",
    tables=COMMON,
    routers=ROUTERS,
    event_handlers=EVENT_HANDLERS,
    sibling_subscribers=result_events.SIBLING_SUBSCRIBERS,
)


def create_app(
    settings: Settings | None = None, *, http_client: httpx.AsyncClient | None = None
) -> FastAPI:
    return build_service_app(DEFINITION, settings or Settings(), http_client=http_client)
