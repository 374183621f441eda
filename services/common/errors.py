"""Domain errors and their RFC 9457 `application/problem+json` rendering."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common.context import current_request_id

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("govperf.errors")


class AppError(Exception):
    """Base of every expected failure; subclasses fix status, code and title."""

    status: int = 400
    code: str = "bad-request"
    title: str = "Bad request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code is not None:
            self.code = code
        self.headers = headers or {}
        self.extra = extra


class NotFound(AppError):
    status, code, title = 404, "not-found", "Resource not found"


class Unauthorized(AppError):
    status, code, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="govperf"'}, **extra)


class Forbidden(AppError):
    status, code, title = 403, "forbidden", "Not allowed"


class Conflict(AppError):
    status, code, title = 409, "conflict", "Conflict with the current state"


class Unprocessable(AppError):
    status, code, title = 422, "unprocessable", "The request cannot be processed"


class ServiceUnavailable(AppError):
    status, code, title = 503, "unavailable", "Service unavailable"


class Problem(BaseModel):
    """RFC 9457 problem details, as every error of every route is rendered."""

    type: str
    title: str
    status: int
    code: str
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = None


def problem_type(code: str) -> str:
    return f"urn:govperf:problem:{code}"


def problem_response(
    request: Request,
    *,
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "instance": request.url.path,
        "request_id": current_request_id(),
    }
    body.update(extra)
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


_HTTP_CODES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Resource not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    409: ("conflict", "Conflict with the current state"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
}


def responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the domain errors a route may raise."""
    out: dict[int | str, dict[str, Any]] = {
        422: {"model": Problem, "description": "Validation failed", "content": {PROBLEM_JSON: {}}},
    }
    for error in errors:
        out[error.status] = {
            "model": Problem,
            "description": error.title,
            "content": {PROBLEM_JSON: {}},
        }
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return problem_response(
            request,
            status=exc.status,
            code=exc.code,
            title=exc.title,
            detail=exc.detail,
            headers=exc.headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "location": list(error.get("loc", ())),
                "message": error.get("msg", ""),
                "type": error.get("type", ""),
            }
            for error in exc.errors()
        ]
        fields = ", ".join(".".join(str(p) for p in e["location"]) for e in errors)
        return problem_response(
            request,
            status=422,
            code="validation-error",
            title="Request validation failed",
            detail=f"Invalid fields: {fields}" if fields else None,
            errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = _HTTP_CODES.get(exc.status_code, ("http-error", "HTTP error"))
        detail = exc.detail if isinstance(exc.detail, str) and exc.detail != title else None
        if exc.status_code == 404 and detail in (None, "Not Found"):
            detail = f"No route matches {request.method} {request.url.path}"
        return problem_response(
            request,
            status=exc.status_code,
            code=code,
            title=title,
            detail=detail,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # The database is the second net behind validation: a constraint it enforces is a
        # conflict with existing data, never a server failure.
        log.info("integrity_error", error=str(exc.orig))
        return problem_response(
            request,
            status=409,
            code="constraint-violation",
            title="Conflict with existing data",
            detail="The change conflicts with existing data (a unique or reference rule).",
        )

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        # A busy SQLite file or an unreachable server is a temporary condition: say so and
        # let the client retry, rather than answer 500.
        log.warning("database_unavailable", error=str(exc.orig))
        return problem_response(
            request,
            status=503,
            code="database-unavailable",
            title="Database unavailable",
            detail="The database is busy or unreachable; retry shortly.",
            headers={"Retry-After": "1"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return problem_response(
            request,
            status=500,
            code="internal-error",
            title="Internal error",
            detail="An unexpected error occurred; quote the request id when reporting it.",
        )
