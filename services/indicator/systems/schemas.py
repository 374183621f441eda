"""Indicator systems on the wire: the tree goes in and comes out nested."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.jurisdictions import DIVISION_CODE_PATTERN
from services.indicator.schemas import CATEGORY_PATTERN, CODE_PATTERN
from services.scoring.rules import ScoringRule

Polarity = Literal["higher", "lower"]
Frequency = Literal["monthly", "quarterly", "annual"]
Status = Literal["draft", "published", "superseded"]
MAX_CHILDREN = 100


class NodeIn(BaseModel):
    """A dimension, indicator or sub-indicator; leaves carry a scoring rule."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=CODE_PATTERN, examples=["ECO.1"])
    name_zh: str = Field(min_length=1, max_length=200, examples=["地区生产总值增速"])
    name_en: str | None = Field(default=None, max_length=200, examples=["GDP growth"])
    description: str = Field(default="", max_length=4000)
    unit: str = Field(default="", max_length=32, examples=["%"])
    polarity: Polarity = "higher"
    weight: float = Field(ge=0, le=100, examples=[8])
    frequency: Frequency | None = Field(
        default=None, description="How often values are reported; required on leaves"
    )
    data_source_department_id: uuid.UUID | None = None
    target: float | None = Field(default=None, allow_inf_nan=False)
    baseline: float | None = Field(default=None, allow_inf_nan=False)
    target_overrides: dict[uuid.UUID, Annotated[float, Field(allow_inf_nan=False)]] = Field(
        default_factory=dict, description="Per-department targets replacing `target`"
    )
    rule: ScoringRule | None = Field(default=None, description="Required on leaves")
    children: list[NodeIn] = Field(default_factory=list, max_length=MAX_CHILDREN)


class SystemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    year: int = Field(ge=2000, le=2100, examples=[2026])
    category: str = Field(min_length=1, max_length=64, pattern=CATEGORY_PATTERN)
    name: str = Field(min_length=1, max_length=200, examples=["2026 年度经济发展类考核指标"])
    description: str = Field(default="", max_length=4000)
    nodes: list[NodeIn] = Field(default_factory=list, max_length=MAX_CHILDREN)


class SystemUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=4000)


class TreeReplace(BaseModel):
    model_config = ConfigDict(extra="forbid")

    nodes: list[NodeIn] = Field(max_length=MAX_CHILDREN)


class Node(BaseModel):
    id: uuid.UUID
    level: int
    code: str
    name_zh: str
    name_en: str | None
    description: str
    unit: str
    polarity: Polarity
    weight: float
    frequency: Frequency | None
    data_source_department_id: uuid.UUID | None
    target: float | None
    baseline: float | None
    target_overrides: dict[uuid.UUID, float]
    rule: ScoringRule | None
    children: list[Node]


class SystemSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    year: int
    category: str
    version: int
    name: str
    description: str
    status: Status
    published_at: datetime | None
    published_by: str | None
    superseded_at: datetime | None
    created_at: datetime
    updated_at: datetime


class System(SystemSummary):
    nodes: list[Node]


class TreeProblem(BaseModel):
    node: str | None = Field(description="The offending node's code; null for the whole tree")
    message: str


class TreeCheck(BaseModel):
    ready_to_publish: bool
    problems: list[TreeProblem]


class WeightingApply(BaseModel):
    """Weights (summing to 1, as the weighting helpers return them) for a node's children."""

    model_config = ConfigDict(extra="forbid")

    parent: str | None = Field(description="Code of the parent node; null for the dimensions")
    weights: dict[str, float] = Field(
        min_length=1, description="Child code → weight as a share of the parent (sums to 1)"
    )
