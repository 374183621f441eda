"""Conditional GET for public reads: a strong ETag over the body and 304 on a match."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.common.auth import Principal


def cached_json(
    request: Request, principal: Principal, content: Any, *, max_age: int = 60
) -> Response:
    """Anonymous readers get a shared-cacheable answer; signed-in ones a private one."""
    response = JSONResponse(jsonable_encoder(content))
    etag = '"' + hashlib.sha256(bytes(response.body)).hexdigest()[:32] + '"'
    cache_control = f"public, max-age={max_age}" if principal.is_anonymous else "private, no-cache"
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Authorization"}
    if_none_match = request.headers.get("if-none-match", "")
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    if etag in candidates or "*" in candidates:
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return response
