"""Weighting helpers for the office: AHP and entropy weights, to apply to a draft's siblings
with `POST /v1/indicator-systems/{id}/weights`."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from services.common.auth import AdminOnly
from services.common.errors import Unauthorized, responses
from services.indicator import weighting

router = APIRouter(prefix="/v1/weighting", tags=["weighting"])


class AhpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matrix: list[list[float]] = Field(
        min_length=1,
        max_length=weighting.MAX_CRITERIA,
        description="Pairwise comparisons: a[i][j] = how much more i matters than j (1–9)",
        examples=[[[1, 3, 5], [1 / 3, 1, 3], [1 / 5, 1 / 3, 1]]],
    )


class AhpResponse(BaseModel):
    weights: list[float]
    lambda_max: float
    ci: float
    cr: float
    ri: float
    consistent: bool = Field(description="CR < 0.1; otherwise revise the comparisons")


class EntropyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: list[list[float]] = Field(
        min_length=2, max_length=10_000, description="Rows: departments; columns: criteria"
    )
    lower_is_better: list[bool] | None = Field(
        default=None, description="Per column; such columns are reversed before weighting"
    )


class EntropyResponse(BaseModel):
    weights: list[float]
    entropy: list[float]
    divergence: list[float]


@router.post(
    "/ahp", response_model=AhpResponse, responses=responses(Unauthorized, weighting.InvalidMatrix)
)
async def ahp(body: AhpRequest, _principal: AdminOnly) -> AhpResponse:
    """Weights from a pairwise comparison matrix (principal eigenvector), with λmax, CI and
    Saaty's consistency ratio."""
    result = weighting.ahp(body.matrix)
    return AhpResponse(**result.__dict__)


@router.post(
    "/entropy",
    response_model=EntropyResponse,
    responses=responses(Unauthorized, weighting.InvalidMatrix),
)
async def entropy(body: EntropyRequest, _principal: AdminOnly) -> EntropyResponse:
    """Weights from how much each criterion's data varies across departments."""
    result = weighting.entropy(body.data, body.lower_is_better)
    return EntropyResponse(**result.__dict__)
