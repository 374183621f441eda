"""Weighting helpers for the office: AHP and entropy weights, to apply to a draft's siblings
with `POST /v1/indicator-systems/{id}/weights`. Pure computation: no database, so the router
needs no `TransactionalRoute` session."""

from __future__ import annotations

from fastapi import APIRouter

from services.common.auth import AdminOnly
from services.common.errors import Unauthorized, responses
from services.indicator.weighting import schemas
from services.indicator.weighting import service as weighting_service

router = APIRouter(prefix="/v1/weighting", tags=["weighting"])


@router.post(
    "/ahp",
    response_model=schemas.AhpResponse,
    responses=responses(Unauthorized, weighting_service.InvalidMatrix),
)
async def ahp(body: schemas.AhpRequest, _principal: AdminOnly) -> schemas.AhpResponse:
    """Weights from a pairwise comparison matrix (principal eigenvector), with λmax, CI and
    Saaty's consistency ratio."""
    result = weighting_service.ahp(body.matrix)
    return schemas.AhpResponse(**result.__dict__)


@router.post(
    "/entropy",
    response_model=schemas.EntropyResponse,
    responses=responses(Unauthorized, weighting_service.InvalidMatrix),
)
async def entropy(body: schemas.EntropyRequest, _principal: AdminOnly) -> schemas.EntropyResponse:
    """Weights from how much each criterion's data varies across departments."""
    result = weighting_service.entropy(body.data, body.lower_is_better)
    return schemas.EntropyResponse(**result.__dict__)
