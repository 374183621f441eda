"""Weighting requests and results on the wire."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from services.indicator.weighting.service import MAX_CRITERIA


class AhpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matrix: list[list[float]] = Field(
        min_length=1,
        max_length=MAX_CRITERIA,
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
