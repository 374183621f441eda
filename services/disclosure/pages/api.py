"""Routes of the public pages under /pages: home, cycle, department, comparison, ledger,
transparency. HTML with an ETag and Cache-Control, 304 on a match, like every public read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from services.common.auth import OptionalPrincipal, Principal
from services.common.errors import NotFound, responses
from services.common.jurisdictions import DIVISION_CODE_PATTERN
from services.common.pagination import PageParams
from services.common.ratelimit import TooManyRequests
from services.common.routing import SessionDep, TransactionalRoute
from services.disclosure import ledger as ledger_service
from services.disclosure.charts import format_number
from services.disclosure.pages import views
from services.disclosure.pages.i18n import Lang, translator
from services.disclosure.public import comparison as comparison_service
from services.disclosure.public import transparency as transparency_service
from services.disclosure.public.http import (
    Conditional,
    answers_early,
    cached_body,
    conditional,
    rate_limited,
)
from services.disclosure.public.settings import PublicSettings, public_settings

router = APIRouter(
    prefix="/pages",
    tags=["pages"],
    route_class=TransactionalRoute,
    dependencies=[Depends(rate_limited)],
)

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
HTML = {200: {"content": {"text/html": {}}, "description": "The page"}}
PAGE = {
    **responses(TooManyRequests),
    304: {"description": "Not modified (If-None-Match matched the ETag)"},
    **HTML,
}
HTML_TYPE = "text/html; charset=utf-8"
LangQuery = Annotated[Lang, Query(description="Page language: zh (default) or en")]


def _number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return format_number(float(value))


def _percent(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "—"
    return format_number(float(value) * 100, 1) + "%"


def _date(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def render(
    request: Request,
    principal: Principal,
    lang: Lang,
    template: str,
    *,
    check: Conditional | None = None,
    **context: Any,
) -> Response:
    """The page; with `check`, under the published state's ETag, else its body's."""
    t = translator(lang)

    def link(path: str, **query: Any) -> str:
        params = {k: v for k, v in query.items() if v is not None}
        if lang == "en":
            params["lang"] = "en"
        return path + (f"?{urlencode(params)}" if params else "")

    others = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    if lang != "en":
        others.append(("lang", "en"))
    other_language = request.url.path + (f"?{urlencode(others)}" if others else "")
    for key, value in list(context.items()):
        if isinstance(value, str) and key.endswith("chart"):
            context[key] = Markup(value)  # built by charts.py, labels already escaped
    html = TEMPLATES.get_template(template).render(
        lang=lang,
        t=t,
        link=link,
        other_language=other_language,
        num=_number,
        percent=_percent,
        date=_date,
        **context,
    )
    if check is not None:
        return check.answer(html.encode("utf-8"), HTML_TYPE)
    return cached_body(request, principal, html.encode("utf-8"), HTML_TYPE)


def _charts_safe(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**g, "chart": Markup(g["chart"])} for g in groups]


@router.get("", response_class=Response, responses=PAGE)
@answers_early
async def home_page(
    request: Request, session: SessionDep, principal: OptionalPrincipal, lang: LangQuery = "zh"
) -> Response:
    """The latest published results, ranked, and the latest publications."""
    check = await conditional(request, principal, session)
    if (early := check.early()) is not None:
        return early
    context = await views.home(session, translator(lang))
    for cycle in context["cycles"]:
        cycle["groups"] = _charts_safe(cycle["groups"])
    return render(request, principal, lang, "home.html", check=check, **context)


@router.get(
    "/cycles/{cycle_id}", response_class=Response, responses={**PAGE, **responses(NotFound)}
)
@answers_early
async def cycle_page(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    cycle_id: uuid.UUID,
    lang: LangQuery = "zh",
) -> Response:
    """A cycle's ranking per category as a bar chart with its table, and its versions."""
    check = await conditional(request, principal, session)
    if (early := check.early()) is not None:
        return early
    context = await views.cycle(session, translator(lang), cycle_id)
    context["cycle"]["groups"] = _charts_safe(context["cycle"]["groups"])
    return render(request, principal, lang, "cycle.html", check=check, **context)


@router.get(
    "/departments/{department_id}",
    response_class=Response,
    responses={**PAGE, **responses(NotFound)},
)
@answers_early
async def department_page(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    department_id: uuid.UUID,
    lang: LangQuery = "zh",
) -> Response:
    """A department's score history as a line chart, its latest breakdown, rectification."""
    check = await conditional(request, principal, session)
    if (early := check.early()) is not None:
        return early
    context = await views.department(session, translator(lang), department_id)
    return render(request, principal, lang, "department.html", check=check, **context)


@router.get("/comparison", response_class=Response, responses=PAGE)
@answers_early
async def comparison_page(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    indicator: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    period: Annotated[str | None, Query(pattern=r"^\d{4}([QSH]\d|\d{2})?$")] = None,
    lang: LangQuery = "zh",
) -> Response:
    """The comparison of one indicator code across jurisdictions, with a form to choose it."""
    check = await conditional(request, principal, session)
    if (early := check.early()) is not None:
        return early
    comparison = None
    chart = ""
    if indicator:
        comparison = await comparison_service.compare(session, indicator=indicator, period=period)
        chart = views.comparison_chart(comparison, translator(lang))
    return render(
        request,
        principal,
        lang,
        "comparison.html",
        check=check,
        indicator=indicator,
        period=period,
        comparison=comparison,
        chart=chart,
    )


@router.get("/ledger", response_class=Response, responses=PAGE)
async def ledger_page(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    before: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    lang: LangQuery = "zh",
) -> Response:
    """The hash chain's entries, newest first, and whether the whole chain verifies."""
    verification = await ledger_service.verify_stored(session)
    page = await views.ledger(session, before)
    next_page = None
    if page["next_before"] is not None:
        query = {"before": page["next_before"], **({"lang": "en"} if lang == "en" else {})}
        next_page = f"/pages/ledger?{urlencode(query)}"
    return render(
        request,
        principal,
        lang,
        "ledger.html",
        verification=verification,
        entries=page["entries"],
        next_page=next_page,
    )


@router.get("/transparency", response_class=Response, responses=PAGE)
async def transparency_page(
    request: Request,
    session: SessionDep,
    principal: OptionalPrincipal,
    settings: Annotated[PublicSettings, Depends(public_settings)],
    jurisdiction: Annotated[str | None, Query(pattern=DIVISION_CODE_PATTERN)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    lang: LangQuery = "zh",
) -> Response:
    """Each cycle's required disclosures: which were made, when, and how late."""
    cycles, next_cursor = await transparency_service.transparency(
        session, settings, PageParams(cursor=cursor, limit=20), jurisdiction=jurisdiction
    )
    next_page = None
    if next_cursor:
        query = {
            k: v for k, v in (("jurisdiction", jurisdiction), ("cursor", next_cursor)) if v
        } | ({"lang": "en"} if lang == "en" else {})
        next_page = f"/pages/transparency?{urlencode(query)}"
    return render(
        request,
        principal,
        lang,
        "transparency.html",
        cycles=[c.model_dump() for c in cycles],
        next_page=next_page,
    )
