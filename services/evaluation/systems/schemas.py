"""Indicator-system snapshots on the wire: what evaluation received of a published version."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PublishedSystem(BaseModel):
    """The head of a system as the indicator service shows it (the tree rides along)."""

    model_config = ConfigDict(extra="allow")

    id: uuid.UUID
    jurisdiction_code: str = Field(min_length=1, max_length=12)
    year: int
    category: str = Field(min_length=1, max_length=64)
    version: int
    name: str = Field(min_length=1, max_length=200)
    status: str


class SnapshotSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The indicator service's id of the version")
    jurisdiction_code: str
    year: int
    category: str
    version: int
    name: str
    received_via: Literal["event", "fetch"]
    received_at: datetime


class Snapshot(SnapshotSummary):
    snapshot: dict[str, Any] = Field(
        description="The version as `indicator_system.published` carried it: its tree with "
        "weights, targets and scoring rules"
    )
