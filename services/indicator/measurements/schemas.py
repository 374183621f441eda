"""Measurements on the wire."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, RootModel, UrlConstraints

from services.common.jurisdictions import DIVISION_CODE_PATTERN
from services.indicator.schemas import CODE_PATTERN

PERIOD_PATTERN = r"^\d{4}(Q[1-4]|0[1-9]|1[0-2])?$"
NO_NUL = r"^[^\x00]*$"
EvidenceUrl = Annotated[HttpUrl, UrlConstraints(max_length=2000)]
Status = Literal["submitted", "verified", "returned"]


class MeasurementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    jurisdiction_code: str = Field(pattern=DIVISION_CODE_PATTERN, examples=["231100"])
    indicator: str = Field(pattern=CODE_PATTERN, max_length=64, examples=["ECO.1.1"])
    department: str = Field(pattern=CODE_PATTERN, max_length=64, examples=["HH-FGW"])
    period: str = Field(pattern=PERIOD_PATTERN, examples=["202603"])
    value: float = Field(allow_inf_nan=False, examples=[6.2])
    comment: str | None = Field(default=None, max_length=4000, pattern=NO_NUL)
    source_system: str | None = Field(default=None, max_length=100, pattern=NO_NUL)
    evidence_url: EvidenceUrl | None = None


class MeasurementUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: float | None = Field(default=None, allow_inf_nan=False)
    comment: str | None = Field(default=None, max_length=4000, pattern=NO_NUL)
    source_system: str | None = Field(default=None, max_length=100, pattern=NO_NUL)
    evidence_url: EvidenceUrl | None = None


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)


class Measurement(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    indicator_code: str
    department_id: uuid.UUID
    period: str
    value: float | None
    comment: str | None
    source_system: str | None
    evidence_url: str | None
    status: Status
    status_reason: str | None
    flagged: bool
    flag_reason: str | None
    version: int
    change_seq: int
    updated_by: str
    created_at: datetime
    updated_at: datetime
    deleted: bool = Field(description="A tombstone: the value was deleted (change feed only)")


class ChangeFeedPage(BaseModel):
    items: list[Measurement]
    next_cursor: str = Field(description="Pass as changed_since to get the changes after these")


class ImportConflict(BaseModel):
    row: int
    field: str
    value: str | None
    reason: str


class ImportSummary(BaseModel):
    status: Literal["SUCCESS", "WARNING", "ERROR"]
    strategy: Literal["CREATE", "UPDATE", "CREATE_AND_UPDATE", "DELETE"]
    dry_run: bool
    atomic: bool
    written: bool
    rows: int
    imported: int
    updated: int
    ignored: int
    deleted: int
    conflicts_total: int
    conflicts: list[ImportConflict]
    conflicts_truncated: bool
    cursor: str | None = Field(description="The change feed's position after this import")


class ImportJob(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    jurisdiction_code: str
    status: Literal["queued", "running", "succeeded", "failed"]
    format: str
    options: dict[str, Any]
    rows_total: int | None
    rows_done: int
    summary: ImportSummary | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


# --- files, as the import takes them and the export writes them (documentation of the bodies;
# the import reads them streaming, row by row, and reports each bad row as a conflict) -------


class MeasurementRecord(BaseModel):
    indicator: str = Field(examples=["ECO.1.1"])
    department: str = Field(examples=["HH-FGW"])
    period: str = Field(examples=["2026Q1"])
    value: float | None = Field(default=None, examples=[6.8])
    comment: str | None = None
    source_system: str | None = None
    evidence_url: str | None = None


class MeasurementsFile(BaseModel):
    """Our JSON: `format=json`."""

    measurements: list[MeasurementRecord]


class Dhis2DataValue(BaseModel):
    dataElement: str = Field(description="The indicator's code", examples=["ECO.1.1"])
    period: str | None = Field(default=None, examples=["2026Q1"])
    orgUnit: str | None = Field(
        default=None, description="The department's code", examples=["HH-FGW"]
    )
    value: str | float | None = Field(default=None, examples=["6.8"])
    comment: str | None = None


class Dhis2DataValueSet(BaseModel):
    """DHIS2 `dataValueSets` JSON with codes as ids: `format=dhis2`. The set's `period` and
    `orgUnit` apply to values that carry none."""

    period: str | None = None
    orgUnit: str | None = None
    dataValues: list[Dhis2DataValue]


class MeasurementsJson(RootModel[MeasurementsFile | Dhis2DataValueSet]):
    """A JSON file of values: ours or DHIS2's."""


CSV_DESCRIPTION = (
    "UTF-8 CSV (a BOM is fine) with a header line naming some of: indicator, department, "
    "period, value, comment, source_system, evidence_url"
)
