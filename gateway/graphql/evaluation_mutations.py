"""The evaluation service's mutations, one per role: citizen apps submit ratings, evaluators
their scorecards, the office moves cycles through their stages.

Each mutation is one call of the service's REST route (services/evaluation/*/api.py), with
the caller's Authorization: the service decides who may, and the answer is its read model
or a typed problem.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from gateway.graphql.errors import (
    Conflict,
    Forbidden,
    InvalidArgument,
    NotFound,
    Unavailable,
    ValidationFailed,
    problem_mutation,
)
from gateway.graphql.evaluation import Cycle
from gateway.graphql.loaders import forget_loaded, upstream
from gateway.graphql.types import build, uuid_argument

# The rating routes' own bound (services/evaluation/ratings/schemas.py MAX_BATCH).
MAX_RATINGS = 500


@strawberry.enum
class RespondentKind(enum.Enum):
    DEVICE = "device"
    PHONE = "phone"


@strawberry.enum
class RatingStatus(enum.Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"
    REJECTED = "rejected"


@strawberry.input(
    description="Who answered, as the app knows them; only a keyed hash of the token is stored"
)
class RespondentInput:
    kind: RespondentKind
    token: str


@strawberry.input(description="One item's answer on the questionnaire's scale.")
class AnswerInput:
    item: str = strawberry.field(description="The item's code")
    value: int | None = strawberry.field(description="null: don't know")


@strawberry.input(description="One questionnaire response about one department.")
class RatingInput:
    response_id: strawberry.ID = strawberry.field(
        description="A UUID made by the app once per response: resending it is harmless"
    )
    cycle_id: strawberry.ID
    department_id: strawberry.ID
    questionnaire_id: strawberry.ID = strawberry.field(
        description="The questionnaire version answered"
    )
    respondent: RespondentInput
    answers: list[AnswerInput]
    device_token: str | None = strawberry.field(
        default=None, description="The device, when the respondent is a phone token"
    )
    comment: str | None = None
    duration_seconds: float | None = None
    stratum: str | None = None


@strawberry.input(description="One dimension's score; null: don't know (left out, not low).")
class ScoreInput:
    dimension: str
    score: float | None


@strawberry.type(
    description="What became of one response: accepted; duplicate (a resend of one "
    "accepted, with its original `receivedAt`); conflict (the same responseId with other "
    "content); rejected (`reasonCode` and `reason` say why; `rate-limited` carries "
    "`retryAfter`)."
)
class RatingResult:
    index: int = strawberry.field(description="Position in the batch (0 for one response)")
    response_id: str | None
    status: RatingStatus
    # Not `code`: a selection beside `... on Problem { code }` needs one type per name.
    reason_code: str | None = strawberry.field(description="The REST result's `code`")
    reason: str | None
    received_at: datetime | None
    retry_after: int | None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RatingResult:
        received_at = record.get("received_at")
        return cls(
            index=record["index"],
            response_id=record.get("response_id"),
            status=RatingStatus(record["status"]),
            reason_code=record.get("code"),
            reason=record.get("reason"),
            received_at=datetime.fromisoformat(received_at) if received_at else None,
            retry_after=record.get("retry_after"),
        )


@strawberry.type(description="Each response of a batch answered on its own, in order.")
class RatingBatchResult:
    accepted: int
    duplicate: int
    conflict: int
    rejected: int
    results: list[RatingResult]


@strawberry.type
class DimensionScore:
    dimension: str
    score: float | None


@strawberry.type(description="An evaluator's scores for the assigned department.")
class Scorecard:
    id: strawberry.ID
    jurisdiction_code: str
    assignment_id: strawberry.ID
    cycle_id: strawberry.ID
    group_id: strawberry.ID
    department_id: strawberry.ID
    scores: list[DimensionScore]
    comment: str | None
    submitted_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Scorecard:
        scores = [DimensionScore(dimension=d, score=s) for d, s in record["scores"].items()]
        return cls(
            id=record["id"],
            jurisdiction_code=record["jurisdiction_code"],
            assignment_id=record["assignment_id"],
            cycle_id=record["cycle_id"],
            group_id=record["group_id"],
            department_id=record["department_id"],
            scores=scores,
            comment=record["comment"],
            submitted_by=record["submitted_by"],
            created_at=datetime.fromisoformat(record["created_at"]),
            updated_at=datetime.fromisoformat(record["updated_at"]),
        )


SubmitRatingOutcome = Annotated[
    RatingResult | NotFound | Forbidden | ValidationFailed | Conflict | Unavailable,
    strawberry.union("SubmitRatingOutcome"),
]
SubmitRatingsOutcome = Annotated[
    RatingBatchResult | NotFound | Forbidden | ValidationFailed | Conflict | Unavailable,
    strawberry.union("SubmitRatingsOutcome"),
]
SubmitScorecardOutcome = Annotated[
    Scorecard | NotFound | Forbidden | ValidationFailed | Conflict | Unavailable,
    strawberry.union("SubmitScorecardOutcome"),
]
CycleTransitionOutcome = Annotated[
    Cycle | NotFound | Forbidden | ValidationFailed | Conflict | Unavailable,
    strawberry.union("CycleTransitionOutcome"),
]


def _by_code(
    pairs: Sequence[tuple[str, Any]], path: Sequence[str | int], what: str
) -> dict[str, Any]:
    """A list of (code, value) inputs as the service's map; a code given twice is refused."""
    mapped: dict[str, Any] = {}
    for code, value in pairs:
        if code in mapped:
            raise InvalidArgument(path, f"{what} {code} is given twice")
        mapped[code] = value
    return mapped


def rating_body(rating: RatingInput, path: Sequence[str | int]) -> dict[str, Any]:
    """The REST body of one response (`RatingIn`); the service checks its values."""
    body: dict[str, Any] = {
        "response_id": rating.response_id,
        "cycle_id": rating.cycle_id,
        "department_id": rating.department_id,
        "questionnaire_id": rating.questionnaire_id,
        "respondent": {"kind": rating.respondent.kind.value, "token": rating.respondent.token},
        "answers": _by_code(
            [(a.item, a.value) for a in rating.answers], [*path, "answers"], "item"
        ),
    }
    optional = {
        "device_token": rating.device_token,
        "comment": rating.comment,
        "duration_seconds": rating.duration_seconds,
        "stratum": rating.stratum,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


# It travels as a header: visible ASCII only.
IDEMPOTENCY_KEY = re.compile(r"[!-~]{1,200}")


def _idempotency_key(value: str | None) -> str | None:
    if value is not None and not IDEMPOTENCY_KEY.fullmatch(value):
        raise InvalidArgument(
            ["idempotencyKey"], "idempotencyKey is 1 to 200 visible ASCII characters"
        )
    return value


IdempotencyKey = Annotated[
    str | None,
    strawberry.argument(
        description="Sent as Idempotency-Key (1 to 200 visible ASCII characters): a retry "
        "with the same key and input replays the first answer"
    ),
]


async def _transition(info: Info, id: strawberry.ID, action: str) -> Cycle:
    forget_loaded(info)
    cycle_id = uuid_argument(id, "id")
    record = await upstream(info).send("evaluation", "POST", f"/v1/cycles/{cycle_id}/{action}")
    return build(Cycle, record)


@strawberry.type
class EvaluationMutation:
    @problem_mutation(
        description="Citizen apps: one response (as POST /v1/ratings). Accepted or duplicate "
        "is its RatingResult; the same responseId with other content, a closed cycle or a "
        "respondent who rated the department already is a Conflict; answers that do not fit "
        "the questionnaire are ValidationFailed; too many is Unavailable with retryAfter.",
        body_path=("input",),
    )
    async def submit_rating(
        self, info: Info, input: RatingInput, idempotency_key: IdempotencyKey = None
    ) -> SubmitRatingOutcome:
        forget_loaded(info)
        body = rating_body(input, ["input"])
        record = await upstream(info).send(
            "evaluation",
            "POST",
            "/v1/ratings",
            body,
            idempotency_key=_idempotency_key(idempotency_key),
        )
        return build(RatingResult, record)

    @problem_mutation(
        description=f"Citizen apps: up to {MAX_RATINGS} responses collected offline (as POST "
        "/v1/ratings/batch), each answered on its own in `results`: clear every item that is "
        "not rejected for a transient reason."
    )
    async def submit_ratings(
        self, info: Info, inputs: list[RatingInput], idempotency_key: IdempotencyKey = None
    ) -> SubmitRatingsOutcome:
        forget_loaded(info)
        if not 1 <= len(inputs) <= MAX_RATINGS:
            raise InvalidArgument(["inputs"], f"inputs holds 1 to {MAX_RATINGS} responses")
        body = {"ratings": [rating_body(r, ["inputs", i]) for i, r in enumerate(inputs)]}
        record = await upstream(info).send(
            "evaluation",
            "POST",
            "/v1/ratings/batch",
            body,
            idempotency_key=_idempotency_key(idempotency_key),
        )
        return build(RatingBatchResult, record)

    @problem_mutation(
        description="Evaluators: your scores for an assigned department, one per dimension of "
        "the group, while the cycle is open; sending again replaces them.",
        body_path=(),
    )
    async def submit_scorecard(
        self,
        info: Info,
        assignment_id: strawberry.ID,
        scores: list[ScoreInput],
        comment: str | None = None,
    ) -> SubmitScorecardOutcome:
        forget_loaded(info)
        assignment = uuid_argument(assignment_id, "assignmentId")
        body = {
            "scores": _by_code([(s.dimension, s.score) for s in scores], ["scores"], "dimension"),
            "comment": comment,
        }
        record = await upstream(info).send(
            "evaluation", "PUT", f"/v1/assignments/{assignment}/scorecard", body
        )
        return build(Scorecard, record)

    @problem_mutation(
        description="The office: draft → open. The groups' weights must sum to 100; the "
        "cycle binds its published indicator system and takes its category's departments."
    )
    async def open_cycle(self, info: Info, id: strawberry.ID) -> CycleTransitionOutcome:
        return await _transition(info, id, "open")

    @problem_mutation(description="The office: open → scoring; no more ratings or scorecards.")
    async def close_cycle(self, info: Info, id: strawberry.ID) -> CycleTransitionOutcome:
        return await _transition(info, id, "close")

    @problem_mutation(
        description="The office: score a closed (or re-score a preliminary) cycle into a new "
        "preliminary result version; the appeal window opens."
    )
    async def score_cycle(self, info: Info, id: strawberry.ID) -> CycleTransitionOutcome:
        return await _transition(info, id, "score")

    @problem_mutation(
        description="The office: make the latest preliminary results final once the appeal "
        "window has closed (a Conflict before)."
    )
    async def finalize_cycle(self, info: Info, id: strawberry.ID) -> CycleTransitionOutcome:
        return await _transition(info, id, "finalize")
