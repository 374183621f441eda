"""Public reads beyond the publication list: search, department history, exports, the Atom
feed, the DCAT catalog, comparison and the transparency index. No sign-in needed; every
answer carries an ETag and Cache-Control and answers If-None-Match with 304."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import TypeAdapter
from pydantic_core import to_json

from services.common.auth import OptionalPrincipal
from services.common.caching import cached_json
from services.common.errors import responses
from services.common.jurisdictions import DIVISION_CODE_PATTERN
from services.common.pagination import Page, PageParamsDep
from services.common.ratelimit import TooManyRequests
from services.common.routing import SessionDep, TransactionalRoute
from services.disclosure.public import comparison as comparison_service
from services.disclosure.public import exports, feeds, queries, schemas
from services.disclosure.public import transparency as transparency_service
from services.disclosure.public.http import (
    answers_early,
    conditional,
    rate_limited,
)
from services.disclosure.public.settings import PublicSettings, public_settings

router = APIRouter(
    prefix="/v1",
    tags=["public"],
    route_class=TransactionalRoute,
    dependencies=[Depends(rate_limited)],
)

JSON = "application/json"
CONDITIONAL = {304: {"description": "Not modified (If-None-Match matched the ETag)"}}
PUBLIC = {**responses(TooManyRequests), **CONDITIONAL}
Kind = Literal["plan", "results", "department_result", "rectification", "annual_report", "notice"]
Jurisdiction = Annotated[str | None, Query(pattern=DIVISION_CODE_PATTERN, examples=["231100"])]
Period = Annotated[str | None, Query(pattern=r"^\d{4}([QSH]\d|\d{2})?$", examples=["2026"])]
Code = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get(
    "/search/publications",
    response_model=Page[schemas.PublishedSummary],
    responses=PUBLIC,
)
@answers_early
async def search_publications(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    page: PageParamsDep,
    jurisdiction: Jurisdiction = None,
    kind: Kind | None = None,
    cycle_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    department_code: Code = None,
    period: Period = None,
    category: Code = None,
    published_from: datetime | None = None,
    published_to: datetime | None = None,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> Response:
    """Published publications (each at its latest version, without its content), newest
    first, by any filters; `q` looks in titles and summaries."""
    check = await conditional(request, principal, session)
    if (early := check.early()) is not None:
        return early
    rows, next_cursor = await queries.search(
        session,
        page,
        jurisdiction=jurisdiction,
        kind=kind,
        cycle_id=cycle_id,
        department_id=department_id,
        department_code=department_code,
        period=period,
        category=category,
        published_from=published_from,
        published_to=published_to,
        text=q,
    )
    body = SUMMARY_PAGE.validate_python(
        {"items": rows, "next_cursor": next_cursor}, from_attributes=True
    )
    return check.answer(SUMMARY_PAGE.dump_json(body), "application/json")


SUMMARY_PAGE = TypeAdapter(Page[schemas.PublishedSummary])


def department_result(version: Any) -> schemas.DepartmentResult:
    view = queries.public_view(version)
    snapshot = view["data"] or {}
    return schemas.DepartmentResult(
        publication_id=version.publication_id,
        version=version.version,
        cycle_id=version.cycle_id,
        cycle=snapshot.get("cycle"),
        cycle_name=snapshot.get("name"),
        period=version.period or snapshot.get("period"),
        category=version.category or snapshot.get("category"),
        result_version=snapshot.get("result_version"),
        status=snapshot.get("status"),
        total=snapshot.get("total"),
        rank=snapshot.get("rank"),
        tied=snapshot.get("tied"),
        grade=snapshot.get("grade"),
        vetoed=snapshot.get("vetoed"),
        published_at=version.published_at,
        retracted_at=version.retracted_at,
        retraction_reason=version.retraction_reason,
        withdrawn=view["withdrawn"],
    )


@router.get(
    "/departments/{department_id}/results",
    response_model=Page[schemas.DepartmentResult],
    responses=PUBLIC,
)
@answers_early
async def department_results(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    page: PageParamsDep,
    department_id: uuid.UUID,
) -> Response:
    """A department's published result in each cycle (its latest version), newest first."""
    check = await conditional(request, principal, session)
    if (early := check.early()) is not None:
        return early
    rows, next_cursor = await queries.department_history(session, department_id, page)
    body = Page[schemas.DepartmentResult](
        items=[department_result(r) for r in rows], next_cursor=next_cursor
    )
    return check.answer(body.model_dump_json().encode(), JSON)


EXPORT_RESPONSES = {
    **PUBLIC,
    200: {"content": {"text/csv": {}, "application/json": {}}, "description": "The rows"},
}


class ExportQuery:
    def __init__(
        self,
        jurisdiction: Jurisdiction = None,
        cycle_id: uuid.UUID | None = None,
        period: Period = None,
        category: Code = None,
        department_id: uuid.UUID | None = None,
        detail: Literal["departments", "indicators"] = "departments",
    ) -> None:
        self.filters = {
            "jurisdiction": jurisdiction,
            "cycle_id": cycle_id,
            "period": period,
            "category": category,
            "department_id": department_id,
        }
        self.detail = detail == "indicators"
        self.filename = exports.filename(
            "results", "{ext}", detail=self.detail, jurisdiction=jurisdiction, period=period
        )

    async def rows(self, session: Any) -> list[dict[str, Any]]:
        return await exports.result_rows(session, detail=self.detail, **self.filters)


@router.get("/results/export.csv", response_class=Response, responses=EXPORT_RESPONSES)
@answers_early
async def export_results_csv(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    export: Annotated[ExportQuery, Depends()],
) -> Response:
    """Published results as CSV (UTF-8 with BOM): one row per department × cycle, or per
    department × cycle × indicator with `detail=indicators`."""
    check = await conditional(request, principal, session)
    if (early := check.early()) is not None:
        return early
    body = exports.to_csv(await export.rows(session), export.detail)
    disposition = f'attachment; filename="{export.filename.format(ext="csv")}"'
    return check.answer(body, "text/csv; charset=utf-8", {"Content-Disposition": disposition})


@router.get("/results/export.json", response_class=Response, responses=EXPORT_RESPONSES)
@answers_early
async def export_results_json(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    export: Annotated[ExportQuery, Depends()],
) -> Response:
    """The same rows as the CSV, as `{"columns": [...], "rows": [{...}]}`."""
    check = await conditional(request, principal, session)
    if (early := check.early()) is not None:
        return early
    rows = await export.rows(session)
    body = to_json({"columns": list(exports.columns(export.detail)), "rows": rows})
    disposition = f'attachment; filename="{export.filename.format(ext="json")}"'
    return check.answer(body, JSON, {"Content-Disposition": disposition})


@router.get(
    "/feed.atom",
    response_class=Response,
    responses={**PUBLIC, 200: {"content": {"application/atom+xml": {}}, "description": "Atom"}},
)
@answers_early
async def feed(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    jurisdiction: Jurisdiction = None,
    kind: Kind | None = None,
) -> Response:
    """The newest published versions and retractions as an Atom feed (RFC 4287)."""
    check = await conditional(request, principal, session)
    if (early := check.early()) is not None:
        return early
    body = await feeds.atom_feed(session, request, jurisdiction=jurisdiction, kind=kind)
    return check.answer(body, "application/atom+xml; charset=utf-8")


@router.get(
    "/catalog.jsonld",
    response_class=Response,
    responses={**PUBLIC, 200: {"content": {"application/ld+json": {}}, "description": "DCAT"}},
)
@answers_early
async def catalog(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    page: PageParamsDep,
    jurisdiction: Jurisdiction = None,
) -> Response:
    """A DCAT-AP catalog in JSON-LD: a dataset per publication, paged the Hydra way."""
    check = await conditional(request, principal, session)
    if (early := check.early()) is not None:
        return early
    document = await feeds.dcat_catalog(session, request, page, jurisdiction=jurisdiction)
    return check.answer(to_json(document), "application/ld+json")


@router.get("/comparison", response_model=schemas.Comparison, responses=PUBLIC)
@answers_early
async def comparison(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    indicator: Annotated[str, Query(min_length=1, max_length=64, examples=["E01"])],
    period: Period = None,
    category: Code = None,
    jurisdiction: Annotated[list[str] | None, Query(max_length=50)] = None,
) -> Response:
    """Each department's (and jurisdiction's) published value, points and rank for one
    indicator code, across every jurisdiction that published it."""
    check = await conditional(request, principal, session)
    if (early := check.early()) is not None:
        return early
    result = await comparison_service.compare(
        session, indicator=indicator, period=period, category=category, jurisdictions=jurisdiction
    )
    return check.answer(result.model_dump_json().encode(), JSON)


@router.get("/transparency", response_model=Page[schemas.CycleTransparency], responses=PUBLIC)
async def transparency(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    page: PageParamsDep,
    settings: Annotated[PublicSettings, Depends(public_settings)],
    jurisdiction: Jurisdiction = None,
    cycle_id: uuid.UUID | None = None,
) -> Response:
    """Per cycle: the items due for disclosure, which were disclosed, when, how late."""
    cycles, next_cursor = await transparency_service.transparency(
        session, settings, page, jurisdiction=jurisdiction, cycle_id=cycle_id
    )
    body = Page[schemas.CycleTransparency](items=cycles, next_cursor=next_cursor)
    return cached_json(request, principal, body, max_age=300)
