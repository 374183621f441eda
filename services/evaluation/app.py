"""The evaluation service: cycles, evaluator groups and weights, ratings, scores, results."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from services.common.app import ServiceDefinition, build_service_app
from services.evaluation.api import router as cycles_router
from services.evaluation.models import COMMON
from services.evaluation.settings import Settings

DEFINITION = ServiceDefinition(
    name="evaluation",
    title="evaluation service",
    description="Evaluation cycles, evaluator groups and weights, ratings, scoring and results.",
    tables=COMMON,
    routers=(cycles_router,),
)


def create_app(
    settings: Settings | None = None, *, http_client: httpx.AsyncClient | None = None
) -> FastAPI:
    return build_service_app(DEFINITION, settings or Settings(), http_client=http_client)
