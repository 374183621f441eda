"""Questionnaires: drafts edited by the office; published versions readable by anyone (the
citizen apps show them), never changed; closed versions take no more responses."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from services.common.auth import AdminOnly, OptionalPrincipal
from services.common.errors import Forbidden, NotFound, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep, page_of
from services.common.routing import SessionDep, TransactionalRoute
from services.evaluation.questionnaires import schemas
from services.evaluation.questionnaires import service as questionnaire_service
from services.evaluation.schemas import CODE_PATTERN

router = APIRouter(
    prefix="/v1/questionnaires", tags=["questionnaires"], route_class=TransactionalRoute
)
WRITE_ERRORS = (Unauthorized, Forbidden, NotFound, questionnaire_service.QuestionnaireNotDraft)


@router.get("", response_model=Page[schemas.Questionnaire])
async def list_questionnaires(
    session: SessionDep,
    principal: OptionalPrincipal,
    page: PageParamsDep,
    jurisdiction: str | None = None,
    code: Annotated[str | None, Query(max_length=64, pattern=CODE_PATTERN)] = None,
    status: schemas.Status | None = None,
) -> Page[schemas.Questionnaire]:
    """Your jurisdictions' versions in every state; anyone's published and closed ones."""
    rows, next_cursor = await questionnaire_service.list_questionnaires(
        session, principal, page, jurisdiction=jurisdiction, code=code, status=status
    )
    return page_of(schemas.Questionnaire, rows, next_cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Questionnaire,
    responses=responses(Unauthorized, Forbidden, questionnaire_service.QuestionnaireDraftExists),
)
async def create_questionnaire(
    session: SessionDep, principal: AdminOnly, body: schemas.QuestionnaireCreate
) -> schemas.Questionnaire:
    """A draft: version 1 of a new code, or the next version of an existing code."""
    row = await questionnaire_service.create_questionnaire(session, principal, body)
    return schemas.Questionnaire.model_validate(row)


@router.get(
    "/{questionnaire_id}", response_model=schemas.Questionnaire, responses=responses(NotFound)
)
async def get_questionnaire(
    session: SessionDep, principal: OptionalPrincipal, questionnaire_id: uuid.UUID
) -> schemas.Questionnaire:
    row = await questionnaire_service.get_questionnaire(session, principal, questionnaire_id)
    return schemas.Questionnaire.model_validate(row)


@router.patch(
    "/{questionnaire_id}",
    response_model=schemas.Questionnaire,
    responses=responses(*WRITE_ERRORS, questionnaire_service.InvalidQuestionnaire),
)
async def update_questionnaire(
    session: SessionDep,
    principal: AdminOnly,
    questionnaire_id: uuid.UUID,
    body: schemas.QuestionnaireUpdate,
) -> schemas.Questionnaire:
    """Change a draft (checked as a whole afterwards)."""
    row = await questionnaire_service.update_questionnaire(
        session, principal, questionnaire_id, body
    )
    return schemas.Questionnaire.model_validate(row)


@router.post(
    "/{questionnaire_id}/publish",
    response_model=schemas.Questionnaire,
    responses=responses(*WRITE_ERRORS),
)
async def publish_questionnaire(
    session: SessionDep, principal: AdminOnly, questionnaire_id: uuid.UUID
) -> schemas.Questionnaire:
    """Freeze the draft: it may now be answered, and never changes again."""
    row = await questionnaire_service.publish(session, principal, questionnaire_id)
    return schemas.Questionnaire.model_validate(row)


@router.post(
    "/{questionnaire_id}/close",
    response_model=schemas.Questionnaire,
    responses=responses(
        Unauthorized, Forbidden, NotFound, questionnaire_service.QuestionnaireNotPublishedYet
    ),
)
async def close_questionnaire(
    session: SessionDep, principal: AdminOnly, questionnaire_id: uuid.UUID
) -> schemas.Questionnaire:
    """Stop taking responses to this version."""
    row = await questionnaire_service.close(session, principal, questionnaire_id)
    return schemas.Questionnaire.model_validate(row)
