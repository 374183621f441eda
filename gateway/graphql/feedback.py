"""The feedback service's types, reads and mutations: feedback reports, rectification tasks,
appeals and citizen feedback.

Each read and mutation is one call of the service's REST route (services/feedback/*/api.py)
with the caller's Authorization: the service decides who may (a department plans and
reports on its own tasks; the office verifies, returns and decides appeals; the citizen
who sent feedback answers "resolved?" with the token handed out at submission).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
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
    problem_mutation,
)
from gateway.graphql.loaders import forget_loaded, upstream
from gateway.graphql.types import (
    DEFAULT_PAGE,
    Connection,
    build,
    connection_of,
    fetch_page,
    page_params,
    uuid_argument,
)
from gateway.upstream import forwarded_headers, request_json

# The header the feedback service reads a citizen's token from (services/feedback/schemas.py).
FEEDBACK_TOKEN_HEADER = "X-Feedback-Token"


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _optional_id(value: str | None, path: str) -> str | None:
    return None if value is None else uuid_argument(value, path)


# --- types --------------------------------------------------------------------------------


@strawberry.type(description="Something a department must put right, followed to verification.")
class RectificationTask:
    id: strawberry.ID
    jurisdiction_code: str
    cycle_id: strawberry.ID | None
    department_id: strawberry.ID
    department_code: str
    origin: str = strawberry.field(
        description="result, indicator, dimension, veto, feedback, appeal or manual"
    )
    origin_ref: str | None
    report_id: strawberry.ID | None
    title: str
    description: str
    deadline: date
    plan: str | None
    status: str = strawberry.field(
        description="open, planned, in_progress, submitted, verified or returned"
    )
    progress: float
    escalation_level: int
    overdue_since: datetime | None
    repeat_of: strawberry.ID | None = strawberry.field(
        description="The same problem's task in the department's previous cycle"
    )
    created_by: str
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RectificationTask:
        def when(name: str) -> datetime | None:
            value = record.get(name)
            return datetime.fromisoformat(value) if value else None

        return cls(
            id=record["id"],
            jurisdiction_code=record["jurisdiction_code"],
            cycle_id=record.get("cycle_id"),
            department_id=record["department_id"],
            department_code=record["department_code"],
            origin=record["origin"],
            origin_ref=record.get("origin_ref"),
            report_id=record.get("report_id"),
            title=record["title"],
            description=record.get("description") or "",
            deadline=_date(record["deadline"]),  # type: ignore[arg-type]
            plan=record.get("plan"),
            status=record["status"],
            progress=record["progress"],
            escalation_level=record["escalation_level"],
            overdue_since=when("overdue_since"),
            repeat_of=record.get("repeat_of"),
            created_by=record["created_by"],
            created_at=datetime.fromisoformat(record["created_at"]),
            updated_at=datetime.fromisoformat(record["updated_at"]),
            verified_at=when("verified_at"),
        )


@strawberry.type
class AppealEvidence:
    url: str | None
    description: str


@strawberry.type(description="A department's appeal against one score of a preliminary result.")
class Appeal:
    id: strawberry.ID
    jurisdiction_code: str
    cycle_id: strawberry.ID
    department_id: strawberry.ID
    department_code: str
    result_version: int
    target_kind: str = strawberry.field(description="indicator or group")
    target: str
    reason: str
    evidence: list[AppealEvidence]
    status: str = strawberry.field(description="filed, upheld, partly_upheld or dismissed")
    adjustment_points: float | None
    decision_text: str | None
    filed_by: str
    filed_at: datetime
    decided_by: str | None
    decided_at: datetime | None


@strawberry.type(description="What a member of the public said, and the answer it got.")
class Feedback:
    id: strawberry.ID
    jurisdiction_code: str
    kind: str = strawberry.field(description="comment, suggestion, complaint or praise")
    publication_id: strawberry.ID | None
    department_code: str | None
    department_id: strawberry.ID | None
    cycle_id: strawberry.ID | None = strawberry.field(
        description="The cycle of the published item it was given on"
    )
    text: str
    status: str = strawberry.field(description="received, answered, resolved or reopened")
    answer: str | None
    answered_at: datetime | None
    respond_by: datetime | None
    resolution: str | None = strawberry.field(description="resolved or not_resolved")
    resolution_at: datetime | None
    reopen_count: int
    task_id: strawberry.ID | None = strawberry.field(
        description="The rectification task spawned from it"
    )
    created_at: datetime


@strawberry.type(description="What the citizen who sent feedback sees with its token.")
class FeedbackStatus:
    id: strawberry.ID
    kind: str
    department_code: str | None
    text: str
    status: str = strawberry.field(description="received, answered, resolved or reopened")
    answer: str | None
    answered_at: datetime | None
    respond_by: datetime | None
    resolution: str | None
    resolution_at: datetime | None
    reopen_count: int
    created_at: datetime


@strawberry.type(description="A department's feedback on one cycle's final (or revised) result.")
class FeedbackReport:
    id: strawberry.ID
    jurisdiction_code: str
    cycle_id: strawberry.ID
    department_id: strawberry.ID
    department_code: str
    result_version: int
    total: float
    grade: str | None
    rank: int | None
    vetoed: bool
    weakest_indicators: JSON
    weakest_dimensions: JSON
    themes: JSON = strawberry.field(
        description="Citizen comments: counts per kind and dimension, scrubbed samples"
    )
    created_at: datetime
    updated_at: datetime


@strawberry.type
class RectificationTaskConnection(Connection[RectificationTask]):
    pass


@strawberry.type
class AppealConnection(Connection[Appeal]):
    pass


@strawberry.type
class FeedbackConnection(Connection[Feedback]):
    pass


@strawberry.type
class FeedbackReportConnection(Connection[FeedbackReport]):
    pass


@strawberry.enum
class TaskStatus(enum.Enum):
    OPEN = "open"
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    RETURNED = "returned"


@strawberry.enum
class AppealDecision(enum.Enum):
    UPHELD = "upheld"
    PARTLY_UPHELD = "partly_upheld"
    DISMISSED = "dismissed"


TaskConnectionOutcome = Annotated[
    RectificationTaskConnection | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("RectificationTaskConnectionOutcome"),
]
TaskOutcome = Annotated[
    RectificationTask | NotFound | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("RectificationTaskOutcome"),
]
AppealConnectionOutcome = Annotated[
    AppealConnection | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("AppealConnectionOutcome"),
]
AppealOutcome = Annotated[
    Appeal | NotFound | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("AppealOutcome"),
]
FeedbackConnectionOutcome = Annotated[
    FeedbackConnection | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("FeedbackConnectionOutcome"),
]
FeedbackReportConnectionOutcome = Annotated[
    FeedbackReportConnection | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("FeedbackReportConnectionOutcome"),
]
FeedbackReportOutcome = Annotated[
    FeedbackReport | NotFound | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("FeedbackReportOutcome"),
]
TaskChangeOutcome = Annotated[
    RectificationTask | NotFound | Forbidden | ValidationFailed | Conflict | Unavailable,
    strawberry.union("RectificationTaskChangeOutcome"),
]
AppealChangeOutcome = Annotated[
    Appeal | NotFound | Forbidden | ValidationFailed | Conflict | Unavailable,
    strawberry.union("AppealChangeOutcome"),
]
FeedbackStatusOutcome = Annotated[
    FeedbackStatus | NotFound | Forbidden | ValidationFailed | Conflict | Unavailable,
    strawberry.union("FeedbackStatusOutcome"),
]
FeedbackChangeOutcome = Annotated[
    Feedback | NotFound | Forbidden | ValidationFailed | Conflict | Unavailable,
    strawberry.union("FeedbackChangeOutcome"),
]


# --- reads --------------------------------------------------------------------------------


@strawberry.type
class FeedbackQuery:
    @problem_field(
        description="Rectification tasks of your jurisdictions (a department: its own); "
        "`overdue`: past the deadline and not verified."
    )
    async def rectification_tasks(
        self,
        info: Info,
        jurisdiction: str | None = None,
        cycle_id: strawberry.ID | None = None,
        department_id: strawberry.ID | None = None,
        status: TaskStatus | None = None,
        overdue: bool | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> TaskConnectionOutcome:
        page = await fetch_page(
            upstream(info),
            "feedback",
            "/v1/rectification-tasks",
            {
                "jurisdiction": jurisdiction,
                "cycle_id": _optional_id(cycle_id, "cycleId"),
                "department_id": _optional_id(department_id, "departmentId"),
                "status": status.value if status else None,
                "overdue": None if overdue is None else str(overdue).lower(),
                **page_params(first, after),
            },
        )
        return connection_of(RectificationTaskConnection, RectificationTask, page)

    @problem_field(description="One rectification task.")
    async def rectification_task(self, info: Info, id: strawberry.ID) -> TaskOutcome:
        task_id = uuid_argument(id, "id")
        record = await upstream(info).get("feedback", f"/v1/rectification-tasks/{task_id}")
        return build(RectificationTask, record)

    @problem_field(
        description="Appeals: decided ones for anyone; pending ones for the office and the "
        "appealing department."
    )
    async def appeals(
        self,
        info: Info,
        jurisdiction: str | None = None,
        cycle_id: strawberry.ID | None = None,
        department_id: strawberry.ID | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> AppealConnectionOutcome:
        page = await fetch_page(
            upstream(info),
            "feedback",
            "/v1/appeals",
            {
                "jurisdiction": jurisdiction,
                "cycle_id": _optional_id(cycle_id, "cycleId"),
                "department_id": _optional_id(department_id, "departmentId"),
                **page_params(first, after),
            },
        )
        return connection_of(AppealConnection, Appeal, page)

    @problem_field(description="One appeal.")
    async def appeal(self, info: Info, id: strawberry.ID) -> AppealOutcome:
        appeal_id = uuid_argument(id, "id")
        return build(Appeal, await upstream(info).get("feedback", f"/v1/appeals/{appeal_id}"))

    @problem_field(
        description="Citizen feedback of your jurisdictions (a department: what concerns it)."
    )
    async def citizen_feedback(
        self,
        info: Info,
        status: str | None = None,
        department_code: str | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> FeedbackConnectionOutcome:
        page = await fetch_page(
            upstream(info),
            "feedback",
            "/v1/citizen-feedback",
            {"status": status, "department_code": department_code, **page_params(first, after)},
        )
        return connection_of(FeedbackConnection, Feedback, page)

    @problem_field(description="Feedback reports (the office: its city's; a department: its own).")
    async def feedback_reports(
        self,
        info: Info,
        cycle_id: strawberry.ID | None = None,
        department_id: strawberry.ID | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> FeedbackReportConnectionOutcome:
        page = await fetch_page(
            upstream(info),
            "feedback",
            "/v1/feedback-reports",
            {
                "cycle_id": _optional_id(cycle_id, "cycleId"),
                "department_id": _optional_id(department_id, "departmentId"),
                **page_params(first, after),
            },
        )
        return connection_of(FeedbackReportConnection, FeedbackReport, page)

    @problem_field(description="One feedback report.")
    async def feedback_report(self, info: Info, id: strawberry.ID) -> FeedbackReportOutcome:
        report_id = uuid_argument(id, "id")
        record = await upstream(info).get("feedback", f"/v1/feedback-reports/{report_id}")
        return build(FeedbackReport, record)


# --- mutations ----------------------------------------------------------------------------


async def _task_call(info: Info, id: strawberry.ID, method: str, action: str, body: Any) -> Any:
    forget_loaded(info)
    task_id = uuid_argument(id, "id")
    record = await upstream(info).send(
        "feedback", method, f"/v1/rectification-tasks/{task_id}/{action}", body
    )
    return build(RectificationTask, record)


async def _move(info: Info, id: strawberry.ID, to: str, reason: str | None) -> Any:
    return await _task_call(info, id, "POST", "status", {"to_status": to, "reason": reason})


@strawberry.type
class FeedbackMutation:
    @problem_mutation(
        description="The department: write (or rewrite) its task's plan; an open task becomes "
        "planned. The office may not write it (Forbidden).",
        body_path=(),
    )
    async def write_task_plan(self, info: Info, id: strawberry.ID, plan: str) -> TaskChangeOutcome:
        return await _task_call(info, id, "PUT", "plan", {"plan": plan})

    @problem_mutation(
        description="The department: how far it is (0–100) on a task without milestones.",
        body_path=(),
    )
    async def report_task_progress(
        self, info: Info, id: strawberry.ID, progress: float, note: str | None = None
    ) -> TaskChangeOutcome:
        return await _task_call(info, id, "POST", "progress", {"progress": progress, "note": note})

    @problem_mutation(description="The department: planned or returned → in progress.")
    async def start_task(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> TaskChangeOutcome:
        return await _move(info, id, "in_progress", reason)

    @problem_mutation(description="The department: submit its task for the office to verify.")
    async def submit_task(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> TaskChangeOutcome:
        return await _move(info, id, "submitted", reason)

    @problem_mutation(
        description="The office: a submitted task is verified (done). A department cannot "
        "verify its own (Forbidden)."
    )
    async def verify_task(
        self, info: Info, id: strawberry.ID, reason: str | None = None
    ) -> TaskChangeOutcome:
        return await _move(info, id, "verified", reason)

    @problem_mutation(
        description="The office: a submitted task goes back to the department, with the "
        "reason it must address."
    )
    async def return_task(self, info: Info, id: strawberry.ID, reason: str) -> TaskChangeOutcome:
        return await _move(info, id, "returned", reason)

    @problem_mutation(
        description="The office: decide an appeal in writing; upheld and partly upheld carry "
        "the points added to the contested score, and evaluation re-scores.",
        body_path=(),
    )
    async def decide_appeal(
        self,
        info: Info,
        id: strawberry.ID,
        decision: AppealDecision,
        decision_text: str,
        adjustment_points: float | None = None,
    ) -> AppealChangeOutcome:
        forget_loaded(info)
        appeal_id = uuid_argument(id, "id")
        body = {
            "decision": decision.value,
            "decision_text": decision_text,
            "adjustment_points": adjustment_points,
        }
        record = await upstream(info).send(
            "feedback", "POST", f"/v1/appeals/{appeal_id}/decision", body
        )
        return build(Appeal, record)

    @problem_mutation(
        description="The department concerned (or the office): answer a citizen's feedback.",
        body_path=(),
    )
    async def answer_feedback(
        self, info: Info, id: strawberry.ID, answer: str
    ) -> FeedbackChangeOutcome:
        forget_loaded(info)
        feedback_id = uuid_argument(id, "id")
        record = await upstream(info).send(
            "feedback", "POST", f"/v1/citizen-feedback/{feedback_id}/answer", {"answer": answer}
        )
        return build(Feedback, record)

    @problem_mutation(
        description="The citizen who sent feedback, with the token it was given: was the "
        "problem resolved? Not resolved reopens it for a new answer (a Conflict before any "
        "answer; NotFound for a wrong token).",
        body_path=(),
    )
    async def resolve_feedback(
        self,
        info: Info,
        id: strawberry.ID,
        token: str,
        resolved: bool,
        comment: str | None = None,
    ) -> FeedbackStatusOutcome:
        forget_loaded(info)
        feedback_id = uuid_argument(id, "id")
        caller = upstream(info)
        headers = forwarded_headers(caller.authorization, client_address=caller.client_address)
        # The token travels only to the service, as the REST route expects it.
        headers[FEEDBACK_TOKEN_HEADER] = token
        record = await request_json(
            caller.transport,
            caller.urls["feedback"],
            "feedback",
            "POST",
            f"/v1/citizen-feedback/{feedback_id}/resolution",
            body={"resolved": resolved, "comment": comment},
            headers=headers,
        )
        return build(FeedbackStatus, record)
