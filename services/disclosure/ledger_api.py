from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from services.common.auth import OptionalPrincipal
from services.common.errors import responses
from services.common.pagination import Page, PageParamsDep, paginate
from services.common.routing import SessionDep, TransactionalRoute
from services.disclosure import ledger, schemas
from services.disclosure.api import json_answer
from services.disclosure.models import LedgerEntry

router = APIRouter(prefix="/v1/ledger", tags=["ledger"], route_class=TransactionalRoute)
CONDITIONAL = {304: {"description": "Not modified (If-None-Match matched the ETag)"}}


@router.get("", response_model=Page[schemas.LedgerEntry], responses={**responses(), **CONDITIONAL})
async def list_ledger(
    request: Request, session: SessionDep, principal: OptionalPrincipal, page: PageParamsDep
) -> Response:
    """Public: the hash chain of every version published or retracted, in order."""
    rows, next_cursor = await paginate(
        session, select(LedgerEntry), LedgerEntry.seq, page, parse=int
    )
    body = Page(
        items=[schemas.LedgerEntry.model_validate(r) for r in rows], next_cursor=next_cursor
    )
    return json_answer(request, principal, body)


@router.get("/verify", response_model=schemas.LedgerVerification, responses=responses())
async def verify_ledger(session: SessionDep) -> schemas.LedgerVerification:
    """Public: recompute the chain and every recorded version's content hash from what is
    stored now; the first entry that does not match, and why."""
    result = await ledger.verify_stored(session)
    return schemas.LedgerVerification(**vars(result))


@router.get(
    "/export",
    responses={
        **responses(),
        200: {
            "description": "The ledger with the versions it records",
            "content": {"application/x-ndjson": {}, "application/json": {}},
        },
    },
)
async def export_ledger(request: Request, format: Literal["jsonl", "json"] = "jsonl") -> Response:
    """Public: every entry with the current content of the version it records, for offline
    verification (`govperf verify-ledger FILE`): JSON lines, or one JSON document."""
    db = request.app.state.db

    async def lines() -> object:
        async with db.session(read_only=True) as session:
            first = True
            if format == "json":
                yield '{"entries":['
            async for entry, version in ledger.stored_chain(session):
                record = ledger.canonical({**entry, "version_content": version})
                if format == "json":
                    yield ("" if first else ",") + record
                else:
                    yield record + "\n"
                first = False
            if format == "json":
                yield "]}"

    media_type = "application/json" if format == "json" else "application/x-ndjson"
    return StreamingResponse(
        lines(),  # type: ignore[arg-type]
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="ledger.{format}"'},
    )
