from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Request, Response, status

from services.common.auth import AdminOnly, OptionalPrincipal
from services.common.caching import cached_json
from services.common.errors import Forbidden, NotFound, Unauthorized, responses
from services.common.pagination import Page, PageParamsDep
from services.common.routing import SessionDep, TransactionalRoute
from services.disclosure import schemas
from services.disclosure import service as publication_service

router = APIRouter(prefix="/v1/publications", tags=["publications"], route_class=TransactionalRoute)

CONDITIONAL = {304: {"description": "Not modified (If-None-Match matched the ETag)"}}


@router.get("", response_model=Page[schemas.Publication], responses={**responses(), **CONDITIONAL})
async def list_publications(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    page: PageParamsDep,
    jurisdiction: str | None = None,
    kind: schemas.PublicationKind | None = None,
    status: Literal["draft", "published", "retracted"] | None = None,
) -> Response:
    """Public: published items of every jurisdiction; admins also see their own drafts."""
    rows, next_cursor = await publication_service.list_publications(
        session, principal, page, jurisdiction=jurisdiction, kind=kind, status=status
    )
    body = Page(
        items=[schemas.Publication.model_validate(r) for r in rows], next_cursor=next_cursor
    )
    return cached_json(request, principal, body)


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
    return cached_json(request, principal, schemas.Publication.model_validate(publication))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.Publication,
    responses=responses(Unauthorized, Forbidden),
)
async def create_publication(
    session: SessionDep, principal: AdminOnly, body: schemas.PublicationCreate
) -> schemas.Publication:
    """Create a draft (admins of its jurisdiction); nobody else sees it until published."""
    publication = await publication_service.create_publication(session, principal, body)
    return schemas.Publication.model_validate(publication)


@router.patch(
    "/{publication_id}",
    response_model=schemas.Publication,
    responses=responses(Unauthorized, Forbidden, NotFound, publication_service.PublicationNotDraft),
)
async def update_publication(
    session: SessionDep,
    principal: AdminOnly,
    publication_id: uuid.UUID,
    body: schemas.PublicationUpdate,
) -> schemas.Publication:
    publication = await publication_service.update_publication(
        session, principal, publication_id, body
    )
    return schemas.Publication.model_validate(publication)


@router.post(
    "/{publication_id}/publish",
    response_model=schemas.Publication,
    responses=responses(Unauthorized, Forbidden, NotFound, publication_service.PublicationNotDraft),
)
async def publish_publication(
    session: SessionDep, principal: AdminOnly, publication_id: uuid.UUID
) -> schemas.Publication:
    """Make a draft public."""
    publication = await publication_service.publish(session, principal, publication_id)
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
    """Withdraw a published item, with the reason the public will read."""
    publication = await publication_service.retract(session, principal, publication_id, body)
    return schemas.Publication.model_validate(publication)
