from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response, status
from pydantic import BaseModel

from services.common.auth import AdminOnly, OptionalPrincipal, Principal
from services.common.errors import Forbidden, NotFound, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep
from services.common.routing import SessionDep, TransactionalRoute
from services.disclosure import schemas
from services.disclosure import service as publication_service
from services.disclosure.public.http import (
    answers_early,
    cached_body,
    conditional,
    rate_limited,
)

# Anonymous reads are answered from the published state, as the public surface's are
# (services/disclosure/public/http.py): a revalidation costs no query, an answer already made
# for the same state and request is sent again; the office's reads see working copies.
router = APIRouter(prefix="/v1/publications", tags=["publications"], route_class=TransactionalRoute)

CONDITIONAL = {304: {"description": "Not modified (If-None-Match matched the ETag)"}}
# A path segment, not an int: a publication is looked up first (404 if it has no published
# version), then a segment that names none of its versions is a 404 as well.
VersionNumber = Annotated[str, Path(examples=["1"])]


def json_answer(request: Request, principal: Principal, body: BaseModel) -> Response:
    """A conditional JSON answer (ETag, Cache-Control, 304) serialized by pydantic-core in
    one pass: walking a page of data snapshots with `jsonable_encoder` cost most of a
    list's time."""
    return cached_body(request, principal, body.model_dump_json().encode(), "application/json")


def _policy(request: Request) -> dict[str, str]:
    return request.app.state.settings.policy()


@router.get(
    "",
    response_model=Page[schemas.Publication],
    responses={**responses(), **CONDITIONAL},
    dependencies=[Depends(rate_limited)],
)
@answers_early
async def list_publications(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    page: PageParamsDep,
    jurisdiction: str | None = None,
    kind: schemas.PublicationKind | None = None,
    status: schemas.PublicationStatus | None = None,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
) -> Response:
    """Public: the latest published version of every publication (withdrawn if retracted);
    admins see their own jurisdictions' working copies, drafts included."""
    check = None
    if principal.is_anonymous:
        check = await conditional(request, principal, session)
        if (early := check.early()) is not None:
            return early
    rows, next_cursor = await publication_service.list_publications(
        session,
        principal,
        page,
        jurisdiction=jurisdiction,
        kind=kind,
        status=status,
        cycle_id=cycle_id,
        department_id=department_id,
    )
    body = Page(
        items=[schemas.Publication.model_validate(r) for r in rows], next_cursor=next_cursor
    )
    if check is not None:
        return check.answer(body.model_dump_json().encode(), "application/json")
    return json_answer(request, principal, body)


@router.get(
    "/{publication_id}",
    response_model=schemas.Publication,
    responses={**responses(NotFound), **CONDITIONAL},
)
async def get_publication(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    publication_id: uuid.UUID,
) -> Response:
    publication = await publication_service.get_publication(session, principal, publication_id)
    return json_answer(request, principal, schemas.Publication.model_validate(publication))


@router.get(
    "/{publication_id}/versions",
    response_model=Page[schemas.PublicationVersion],
    responses={**responses(NotFound), **CONDITIONAL},
)
async def list_versions(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    page: PageParamsDep,
    publication_id: uuid.UUID,
) -> Response:
    """Public: every published version, oldest first, each with the version it supersedes."""
    rows, next_cursor = await publication_service.list_versions(session, publication_id, page)
    body = Page(
        items=[schemas.PublicationVersion.model_validate(r) for r in rows],
        next_cursor=next_cursor,
    )
    return json_answer(request, principal, body)


@router.get(
    "/{publication_id}/versions/{version}",
    response_model=schemas.PublicationVersion,
    responses={**responses(NotFound, publication_service.VersionNotFound), **CONDITIONAL},
)
async def get_version(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    publication_id: uuid.UUID,
    version: VersionNumber,
) -> Response:
    row = await publication_service.get_version(session, publication_id, version)
    return json_answer(request, principal, schemas.PublicationVersion.model_validate(row))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Publication,
    responses=responses(Unauthorized, Forbidden),
)
async def create_publication(
    session: SessionDep, principal: AdminOnly, body: schemas.PublicationCreate
) -> schemas.Publication:
    """Create a draft (admins of its jurisdiction; the caller is its editor)."""
    publication = await publication_service.create_publication(session, principal, body)
    return schemas.Publication.model_validate(publication)


@router.patch(
    "/{publication_id}",
    response_model=schemas.Publication,
    responses=responses(Unauthorized, Forbidden, NotFound),
)
async def update_publication(
    session: SessionDep,
    principal: AdminOnly,
    publication_id: uuid.UUID,
    body: schemas.PublicationUpdate,
) -> schemas.Publication:
    """Edit the working copy (back to draft); of a published one, the next version's draft."""
    publication = await publication_service.update_publication(
        session, principal, publication_id, body
    )
    return schemas.Publication.model_validate(publication)


@router.post(
    "/{publication_id}/approve",
    response_model=schemas.Publication,
    responses=responses(
        Unauthorized,
        Forbidden,
        NotFound,
        publication_service.ApproverIsEditor,
        publication_service.PublicationNotDraft,
    ),
)
async def approve_publication(
    session: SessionDep, principal: AdminOnly, publication_id: uuid.UUID
) -> schemas.Publication:
    """Approve a draft: an admin other than its editor."""
    publication = await publication_service.approve(session, principal, publication_id)
    return schemas.Publication.model_validate(publication)


@router.post(
    "/{publication_id}/publish",
    response_model=schemas.Publication,
    responses=responses(
        Unauthorized,
        Forbidden,
        NotFound,
        publication_service.ApprovalRequired,
        publication_service.NothingToPublish,
    ),
)
async def publish_publication(
    request: Request, session: SessionDep, principal: AdminOnly, publication_id: uuid.UUID
) -> schemas.Publication:
    """Publish now: freezes the next version, records it in the ledger, tells subscribers."""
    publication = await publication_service.publish(
        session, principal, publication_id, _policy(request)
    )
    return schemas.Publication.model_validate(publication)


@router.post(
    "/{publication_id}/schedule",
    response_model=schemas.Publication,
    responses=responses(
        Unauthorized,
        Forbidden,
        NotFound,
        publication_service.ApprovalRequired,
        publication_service.NothingToPublish,
        publication_service.ScheduleInPast,
    ),
)
async def schedule_publication(
    request: Request,
    session: SessionDep,
    principal: AdminOnly,
    publication_id: uuid.UUID,
    body: schemas.Schedule,
) -> schemas.Publication:
    """Publish at a time to come, with nobody present (any replica's scheduler does it)."""
    publication = await publication_service.schedule(
        session, principal, publication_id, body, _policy(request)
    )
    return schemas.Publication.model_validate(publication)


@router.post(
    "/{publication_id}/retract",
    response_model=schemas.Publication,
    responses=responses(
        Unauthorized, Forbidden, NotFound, publication_service.PublicationNotPublished
    ),
)
async def retract_publication(
    session: SessionDep,
    principal: AdminOnly,
    publication_id: uuid.UUID,
    body: schemas.Retraction,
) -> schemas.Publication:
    """Withdraw the published version, with the reason the public will read."""
    publication = await publication_service.retract(session, principal, publication_id, body)
    return schemas.Publication.model_validate(publication)
