"""The evaluation service's types and reads: cycles, evaluator groups, questionnaires,
results with their breakdowns, and an evaluator's assignments.

Each type mirrors the service's REST read model (services/evaluation/*/schemas.py); each
relation to another record resolves through the request's loaders.
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
    Conflict,
    Forbidden,
    NotFound,
    Unavailable,
    ValidationFailed,
    problem_field,
)
from gateway.graphql.indicator import DepartmentOutcome, load_department
from gateway.graphql.loaders import loaders, not_found, upstream
from gateway.graphql.types import (
    DEFAULT_PAGE,
    Connection,
    build,
    connection_of,
    fetch_page,
    page_params,
    uuid_argument,
    version_argument,
)


@strawberry.enum
class CycleStatus(enum.Enum):
    DRAFT = "draft"
    OPEN = "open"
    SCORING = "scoring"
    PRELIMINARY = "preliminary"
    FINALIZED = "finalized"
    REVISED = "revised"


@strawberry.enum
class GroupKind(enum.Enum):
    OBJECTIVE = "objective"
    LEADERSHIP = "leadership"
    SELF = "self"
    CITIZEN = "citizen"
    EXPERT = "expert"
    DEPUTY = "deputy"
    ENTERPRISE = "enterprise"


@strawberry.enum
class Normalization(enum.Enum):
    NONE = "none"
    MIN_MAX = "min_max"
    Z_SCORE = "z_score"


@strawberry.enum
class QualityPolicy(enum.Enum):
    COUNT = "count"
    EXCLUDE = "exclude"
    REVIEW = "review"


@strawberry.enum
class QuestionnaireStatus(enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


# --- cycles -------------------------------------------------------------------------------


@strawberry.type(description="A total at or above `min` earns `grade`; null: every lower total.")
class GradeBand:
    grade: str
    min: float | None


@strawberry.type(description="At most `max` departments may get `grade`.")
class GradeQuota:
    grade: str
    max: int


@strawberry.type(description="How a cycle is scored and how its citizen ratings are checked.")
class CycleRules:
    bands: list[GradeBand]
    quotas: list[GradeQuota]
    normalization: Normalization
    bonus_cap: float
    quality_policy: QualityPolicy
    speeder_ratio: float
    speeder_min_responses: int
    burst_window_seconds: int
    burst_max_per_device: int
    burst_max_per_network: int
    exclusion_criteria: int
    weakest_count: int
    population_shares: JSON | None = strawberry.field(
        description="Stratum → population share, for post-stratification"
    )

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> CycleRules:
        quotas = record.get("quotas") or {}
        return cls(
            bands=[build(GradeBand, band) for band in record["bands"]],
            quotas=[GradeQuota(grade=g, max=n) for g, n in quotas.items()],
            normalization=Normalization(record["normalization"]),
            bonus_cap=record["bonus_cap"],
            quality_policy=QualityPolicy(record["quality_policy"]),
            speeder_ratio=record["speeder_ratio"],
            speeder_min_responses=record["speeder_min_responses"],
            burst_window_seconds=record["burst_window_seconds"],
            burst_max_per_device=record["burst_max_per_device"],
            burst_max_per_network=record["burst_max_per_network"],
            exclusion_criteria=record["exclusion_criteria"],
            weakest_count=record["weakest_count"],
            population_shares=record.get("population_shares"),
        )


@strawberry.type(
    description="An evaluation cycle of one period and department category: draft → open → "
    "scoring → preliminary → finalized (→ revised)."
)
class Cycle:
    id: strawberry.ID
    jurisdiction_code: str
    code: str
    name: str
    period: str
    category: str
    status: CycleStatus
    system_id: strawberry.ID | None
    appeal_days: int
    rules: CycleRules
    appeal_window_ends_at: datetime | None
    result_version: int
    opened_at: datetime | None
    closed_at: datetime | None
    preliminary_at: datetime | None
    finalized_at: datetime | None
    revised_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @problem_field(description="The cycle's evaluator groups and whether their weights add up.")
    async def groups(self, info: Info) -> EvaluatorGroupsOutcome:
        return build(EvaluatorGroups, await loaders(info).cycle_groups.load(str(self.id)))

    @problem_field(
        description="Every department's result of a version (the latest when absent), by "
        "rank; a department officer sees its own"
    )
    async def results(self, info: Info, version: int | None = None) -> CycleResultsOutcome:
        return await load_cycle_results(info, str(self.id), version_argument(version))


@strawberry.type
class CycleConnection(Connection[Cycle]):
    pass


# --- evaluator groups ---------------------------------------------------------------------


@strawberry.type
class ScorecardDimension:
    code: str
    name_zh: str
    name_en: str | None
    max_score: float
    weight: float | None = strawberry.field(
        description="Within the group; null: all dimensions alike"
    )


@strawberry.type(description="Who rates, with what weight, on which dimensions.")
class EvaluatorGroup:
    id: strawberry.ID
    cycle_id: strawberry.ID
    jurisdiction_code: str
    kind: GroupKind
    code: str
    name: str
    weight: float
    min_sample: int
    department_ids: list[strawberry.ID] | None = strawberry.field(
        description="The departments this group rates; null: every department of the cycle"
    )
    dimensions: list[ScorecardDimension]
    questionnaire_id: strawberry.ID | None
    created_at: datetime
    updated_at: datetime


@strawberry.type
class EvaluatorGroups:
    items: list[EvaluatorGroup]
    weight_sum: float
    weights_add_up: bool = strawberry.field(description="Whether they sum to 100, as opening needs")


# --- questionnaires -----------------------------------------------------------------------


@strawberry.type
class QuestionnaireDimension:
    code: str
    name_zh: str
    name_en: str | None


@strawberry.type
class QuestionnaireItem:
    code: str
    dimension: str
    text_zh: str
    text_en: str | None


@strawberry.type(description="A version of a citizen questionnaire; published ones never change.")
class Questionnaire:
    id: strawberry.ID
    jurisdiction_code: str
    code: str
    version: int
    status: QuestionnaireStatus
    title_zh: str
    title_en: str | None
    scale_min: int
    scale_max: int
    top_box: int
    allow_dont_know: bool
    free_text_max: int
    dimensions: list[QuestionnaireDimension]
    items: list[QuestionnaireItem]
    published_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


# --- results ------------------------------------------------------------------------------


@strawberry.type
class GroupScore:
    code: str
    kind: str
    name: str
    weight: float
    effective_weight: float
    score: float | None
    points: float
    has_data: bool
    n: int | None
    below_min_sample: bool


@strawberry.type
class WeakIndicator:
    code: str
    name: str
    weight: float
    points: float
    achievement: float


@strawberry.type
class WeakDimension:
    group: str
    code: str
    name: str
    score: float


@strawberry.type(
    description="Why a department scored what it did: `tree` is total → group → dimension → "
    "indicator, every node with its points (children sum to their parent), weight, inputs, "
    "rule and parameters."
)
class Breakdown:
    cycle_id: strawberry.ID
    version: int
    department_id: strawberry.ID
    total: float
    tree: JSON

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Breakdown:
        return cls(
            cycle_id=record["cycle_id"],
            version=record["version"],
            department_id=record["department_id"],
            total=record["total"],
            tree=record["breakdown"],
        )


@strawberry.type(description="A department's total, rank and grade in one result version.")
class Result:
    cycle_id: strawberry.ID
    version: int
    department_id: strawberry.ID
    total: float
    rank: int
    tied: bool
    grade: str
    band_grade: str
    grade_explanation: str
    vetoed: bool
    veto_explanation: str | None
    group_scores: list[GroupScore]
    weakest_indicators: list[WeakIndicator]
    weakest_dimensions: list[WeakDimension]
    below_min_sample: list[str]
    computed_at: datetime

    @problem_field(description="The department (indicator service).")
    async def department(self, info: Info) -> DepartmentOutcome:
        return await load_department(info, str(self.department_id))

    @problem_field(description="Why the department scored what it did.")
    async def breakdown(self, info: Info) -> BreakdownOutcome:
        key = (str(self.cycle_id), str(self.department_id), self.version)
        return build(Breakdown, await loaders(info).breakdowns.load(key))


@strawberry.type
class CycleResults:
    cycle_id: strawberry.ID
    status: CycleStatus
    version: int
    computed_at: datetime | None = strawberry.field(description="When this version was scored")
    measurements_changed_at: datetime | None = strawberry.field(
        description="The indicator service's last change to a value of the cycle's period"
    )
    stale: bool = strawberry.field(
        description="Values changed after this version was scored: a re-score may differ"
    )
    results: list[Result] = strawberry.field(description="By rank; ties by department id")


# --- assignments --------------------------------------------------------------------------


@strawberry.type(description="A department you are asked to rate, and whether you have.")
class MyAssignment:
    id: strawberry.ID
    jurisdiction_code: str
    cycle_id: strawberry.ID
    group_id: strawberry.ID
    evaluator_subject: str
    evaluator_name: str
    evaluator_department_id: strawberry.ID | None
    department_id: strawberry.ID
    scorecard_submitted: bool
    created_at: datetime
    updated_at: datetime

    @problem_field(description="The department to rate (indicator service).")
    async def department(self, info: Info) -> DepartmentOutcome:
        return await load_department(info, str(self.department_id))

    @problem_field(description="The cycle the assignment is part of.")
    async def cycle(self, info: Info) -> CycleOutcome:
        return build(Cycle, await loaders(info).cycles.load(str(self.cycle_id)))


@strawberry.type
class MyAssignmentConnection(Connection[MyAssignment]):
    pass


# --- outcomes -----------------------------------------------------------------------------

CycleOutcome = Annotated[
    Cycle | NotFound | Forbidden | ValidationFailed | Unavailable, strawberry.union("CycleOutcome")
]
CycleConnectionOutcome = Annotated[
    CycleConnection | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("CycleConnectionOutcome"),
]
EvaluatorGroupsOutcome = Annotated[
    EvaluatorGroups | NotFound | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("EvaluatorGroupsOutcome"),
]
QuestionnaireOutcome = Annotated[
    Questionnaire | NotFound | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("QuestionnaireOutcome"),
]
# Results conflict while a cycle is not scored yet (`not-scored`).
CycleResultsOutcome = Annotated[
    CycleResults | NotFound | Forbidden | ValidationFailed | Conflict | Unavailable,
    strawberry.union("CycleResultsOutcome"),
]
ResultOutcome = Annotated[
    Result | NotFound | Forbidden | ValidationFailed | Conflict | Unavailable,
    strawberry.union("ResultOutcome"),
]
BreakdownOutcome = Annotated[
    Breakdown | NotFound | Forbidden | ValidationFailed | Conflict | Unavailable,
    strawberry.union("BreakdownOutcome"),
]
MyAssignmentConnectionOutcome = Annotated[
    MyAssignmentConnection | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("MyAssignmentConnectionOutcome"),
]


async def load_cycle_results(info: Info, cycle_id: str, version: int | None) -> CycleResults:
    return build(CycleResults, await loaders(info).cycle_results.load((cycle_id, version)))


@strawberry.type
class EvaluationQuery:
    @problem_field(description="An evaluation cycle of your jurisdictions.")
    async def cycle(self, info: Info, id: strawberry.ID) -> CycleOutcome:
        return build(Cycle, await loaders(info).cycles.load(uuid_argument(id, "id")))

    @problem_field(description="Evaluation cycles of your jurisdictions.")
    async def cycles(
        self,
        info: Info,
        status: CycleStatus | None = None,
        jurisdiction: str | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> CycleConnectionOutcome:
        params = {
            "status": status.value if status else None,
            "jurisdiction": jurisdiction,
            **page_params(first, after),
        }
        page = await fetch_page(upstream(info), "evaluation", "/v1/cycles", params)
        return connection_of(CycleConnection, Cycle, page)

    @problem_field(description="A questionnaire version: published ones for anyone.")
    async def questionnaire(self, info: Info, id: strawberry.ID) -> QuestionnaireOutcome:
        questionnaire_id = uuid_argument(id, "id")
        record = await upstream(info).get("evaluation", f"/v1/questionnaires/{questionnaire_id}")
        return build(Questionnaire, record)

    @problem_field(
        description="A cycle's results of a version (the latest when absent), by rank: the "
        "office sees every department, a department officer its own."
    )
    async def cycle_results(
        self, info: Info, cycle_id: strawberry.ID, version: int | None = None
    ) -> CycleResultsOutcome:
        return await load_cycle_results(
            info, uuid_argument(cycle_id, "cycleId"), version_argument(version)
        )

    @problem_field(description="One department's result, with its breakdown.")
    async def result(
        self,
        info: Info,
        cycle_id: strawberry.ID,
        department_id: strawberry.ID,
        version: int | None = None,
    ) -> ResultOutcome:
        cycle = uuid_argument(cycle_id, "cycleId")
        department = uuid_argument(department_id, "departmentId")
        results = await load_cycle_results(info, cycle, version_argument(version))
        for result in results.results:
            if str(result.department_id) == department:
                return result
        raise not_found("evaluation", f"No result of department {department} in this cycle")

    @problem_field(description="The departments you are asked to rate (evaluators).")
    async def my_assignments(
        self,
        info: Info,
        cycle_id: strawberry.ID | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> MyAssignmentConnectionOutcome:
        params = {
            "cycle_id": uuid_argument(cycle_id, "cycleId") if cycle_id is not None else None,
            **page_params(first, after),
        }
        page = await fetch_page(upstream(info), "evaluation", "/v1/my/assignments", params)
        return connection_of(MyAssignmentConnection, MyAssignment, page)
