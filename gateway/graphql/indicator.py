"""The indicator service's types: departments (the org units every score hangs on), their
indicator systems (the tree of what is measured, with weights, targets and scoring rules),
the measured values with their change feed, and import jobs.

Each type mirrors the service's REST read model (services/indicator/*/schemas.py); a
department's system and latest values resolve through the request's loaders, so a page of
departments with both costs a few calls whatever its size.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.graphql.errors import (
    Forbidden,
    InvalidArgument,
    NotFound,
    Unavailable,
    ValidationFailed,
    problem_field,
)
from gateway.graphql.loaders import loaders, upstream
from gateway.graphql.types import (
    DEFAULT_PAGE,
    Connection,
    build,
    connection_of,
    fetch_page,
    page_params,
    uuid_argument,
)
from gateway.upstream import UpstreamError

LATEST_DEFAULT = 10


def year_argument(value: int) -> int:
    if not 2000 <= value <= 2100:
        raise InvalidArgument(["year"], "year must be between 2000 and 2100")
    return value


def first_argument(value: int) -> int:
    limit: int = page_params(value, None)["limit"]
    return limit


# --- enums --------------------------------------------------------------------------------


@strawberry.enum
class SystemStatus(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


@strawberry.enum(description="Whether a higher or a lower value is better.")
class Polarity(enum.Enum):
    HIGHER = "higher"
    LOWER = "lower"


@strawberry.enum
class Frequency(enum.Enum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ANNUAL = "annual"


@strawberry.enum
class MeasurementStatus(enum.Enum):
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    RETURNED = "returned"


@strawberry.enum
class ImportJobStatus(enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# --- indicator systems --------------------------------------------------------------------


@strawberry.type(
    description="A dimension, indicator or sub-indicator; leaves carry a scoring rule and "
    "the frequency values are reported at."
)
class Indicator:
    id: strawberry.ID
    level: int
    code: str
    name_zh: str
    name_en: str | None
    description: str
    unit: str
    polarity: Polarity
    weight: float
    frequency: Frequency | None
    data_source_department_id: strawberry.ID | None
    target: float | None
    baseline: float | None
    target_overrides: JSON = strawberry.field(
        description="Department id → the target replacing `target` for it"
    )
    rule: JSON | None = strawberry.field(
        description="How a value scores (the service's rule: `method` and its parameters)"
    )
    children: list[Indicator]


@strawberry.type(
    description="A version of the indicators a department category is assessed on in a year: "
    "drafts for the office, published versions for anyone."
)
class IndicatorSystem:
    id: strawberry.ID
    jurisdiction_code: str
    year: int
    category: str
    version: int
    name: str
    description: str
    status: SystemStatus
    published_at: datetime | None
    published_by: str | None
    superseded_at: datetime | None
    created_at: datetime
    updated_at: datetime
    nodes: list[Indicator] = strawberry.field(description="The tree: dimensions first")


IndicatorSystemOutcome = Annotated[
    IndicatorSystem | NotFound | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("IndicatorSystemOutcome"),
]


async def load_system(info: Info, system_id: str) -> IndicatorSystem:
    return build(IndicatorSystem, await loaders(info).systems.load(system_id))


# --- measurements -------------------------------------------------------------------------


@strawberry.type(description="A department's value of an indicator for a period.")
class Measurement:
    id: strawberry.ID
    jurisdiction_code: str
    indicator_code: str
    department_id: strawberry.ID
    period: str
    value: float | None
    comment: str | None
    source_system: str | None
    evidence_url: str | None
    status: MeasurementStatus
    status_reason: str | None
    flagged: bool
    flag_reason: str | None
    version: int
    change_seq: int
    updated_by: str
    created_at: datetime
    updated_at: datetime
    deleted: bool = strawberry.field(description="A deletion (in the change feed only)")

    @problem_field(description="The department the value is of.")
    async def department(self, info: Info) -> DepartmentOutcome:
        return await load_department(info, str(self.department_id))


@strawberry.type
class MeasurementConnection(Connection[Measurement]):
    pass


@strawberry.type(description="A department's most recently changed values, newest first.")
class LatestMeasurements:
    nodes: list[Measurement]


@strawberry.type(description="Changes in the order they were committed, deletions included.")
class MeasurementChanges:
    nodes: list[Measurement]
    cursor: str = strawberry.field(description="Pass as `since` for the changes after these")


MeasurementConnectionOutcome = Annotated[
    MeasurementConnection | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("MeasurementConnectionOutcome"),
]
LatestMeasurementsOutcome = Annotated[
    LatestMeasurements | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("LatestMeasurementsOutcome"),
]
MeasurementChangesOutcome = Annotated[
    MeasurementChanges | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("MeasurementChangesOutcome"),
]


# --- import jobs --------------------------------------------------------------------------


@strawberry.type(description="A row of an import that was not taken, and why.")
class ImportConflict:
    row: int
    field: str
    value: str | None
    reason: str


@strawberry.type(description="What an import did (DHIS2's import summary, in our words).")
class ImportSummary:
    status: str = strawberry.field(description="SUCCESS, WARNING or ERROR")
    strategy: str = strawberry.field(description="CREATE, UPDATE, CREATE_AND_UPDATE or DELETE")
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
    cursor: str | None = strawberry.field(description="The change feed's position after it")


@strawberry.type(description="A large import running in the background: progress, then summary.")
class ImportJob:
    id: strawberry.ID
    jurisdiction_code: str
    status: ImportJobStatus
    format: str
    options: JSON
    rows_total: int | None
    rows_done: int
    summary: ImportSummary | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


ImportJobOutcome = Annotated[
    ImportJob | NotFound | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("ImportJobOutcome"),
]


# --- departments --------------------------------------------------------------------------


@strawberry.type(description="A department of a jurisdiction (indicator service).")
class Department:
    id: strawberry.ID
    jurisdiction_code: str
    code: str
    name_zh: str
    name_en: str | None
    category: str
    parent_id: strawberry.ID | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @problem_field(
        description="The published indicator system of the department's category for a year."
    )
    async def indicator_system(self, info: Info, year: int) -> IndicatorSystemOutcome:
        key = (self.jurisdiction_code, year_argument(year), self.category)
        summary = await loaders(info).published_systems.load(key)
        return await load_system(info, str(summary["id"]))

    @problem_field(description="The department's most recently changed values, newest first.")
    async def latest_measurements(
        self, info: Info, first: int = LATEST_DEFAULT
    ) -> LatestMeasurementsOutcome:
        key = (str(self.id), first_argument(first))
        values = await loaders(info).latest_measurements.load(key)
        return LatestMeasurements(nodes=[build(Measurement, value) for value in values])


@strawberry.type
class DepartmentConnection(Connection[Department]):
    pass


DepartmentOutcome = Annotated[
    Department | NotFound | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("DepartmentOutcome"),
]
DepartmentConnectionOutcome = Annotated[
    DepartmentConnection | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("DepartmentConnectionOutcome"),
]


async def load_department(info: Info, department_id: str) -> Department:
    """A department through the request's batch loader (one call for up to 100)."""
    return build(Department, await loaders(info).departments.load(department_id))


def _changes(page: Mapping[str, Any]) -> MeasurementChanges:
    return MeasurementChanges(
        nodes=[build(Measurement, item) for item in page["items"]], cursor=page["next_cursor"]
    )


@strawberry.type
class IndicatorQuery:
    @problem_field(description="Departments of your jurisdictions (needs a token).")
    async def departments(
        self,
        info: Info,
        jurisdiction: str | None = None,
        category: str | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> DepartmentConnectionOutcome:
        page = await fetch_page(
            upstream(info),
            "indicator",
            "/v1/departments",
            {"jurisdiction": jurisdiction, "category": category, **page_params(first, after)},
        )
        return connection_of(DepartmentConnection, Department, page)

    @problem_field(description="A version of an indicator system with its tree.")
    async def indicator_system(self, info: Info, id: strawberry.ID) -> IndicatorSystemOutcome:
        return await load_system(info, uuid_argument(id, "id"))

    @problem_field(
        description="Values of your jurisdictions (officers and internal systems: their "
        "department's)."
    )
    async def measurements(
        self,
        info: Info,
        jurisdiction: str | None = None,
        department_id: strawberry.ID | None = None,
        indicator: str | None = None,
        period: str | None = None,
        status: MeasurementStatus | None = None,
        flagged: bool | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> MeasurementConnectionOutcome:
        params = {
            "jurisdiction": jurisdiction,
            "department_id": (
                uuid_argument(department_id, "departmentId") if department_id is not None else None
            ),
            "indicator": indicator,
            "period": period,
            "status": status.value if status else None,
            "flagged": flagged,
            **page_params(first, after),
        }
        page = await fetch_page(upstream(info), "indicator", "/v1/measurements", params)
        return connection_of(MeasurementConnection, Measurement, page)

    @problem_field(
        description='The change feed: every change after `since` ("0": from the start), in '
        "commit order, deletions included; sync by passing back its `cursor`."
    )
    async def measurement_changes(
        self,
        info: Info,
        since: str = "0",
        jurisdiction: str | None = None,
        first: int = DEFAULT_PAGE,
    ) -> MeasurementChangesOutcome:
        params = {
            "changed_since": since,
            "jurisdiction": jurisdiction,
            "limit": first_argument(first),
        }
        try:
            page = await upstream(info).get("indicator", "/v1/measurements", params)
        except UpstreamError as exc:
            if exc.code in ("bad-cursor", "invalid-cursor"):
                raise InvalidArgument(["since"], "since is not a cursor of this feed") from exc
            raise
        return _changes(page)

    @problem_field(description="An import job's progress and, once finished, its summary.")
    async def import_job(self, info: Info, id: strawberry.ID) -> ImportJobOutcome:
        job_id = uuid_argument(id, "id")
        return build(
            ImportJob,
            await upstream(info).get("indicator", f"/v1/measurements/import-jobs/{job_id}"),
        )
