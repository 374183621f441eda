"""Domain errors and their RFC 9457 `application/problem+json` rendering."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import fastapi.routing
import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.common import body
from services.common.context import current_request_id

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("govperf.errors")


# The members every problem has; an error's extra members may not reuse their names.
PROBLEM_MEMBERS = frozenset({"type", "title", "status", "code", "detail", "instance", "request_id"})


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
        reserved = PROBLEM_MEMBERS.intersection(extra)
        if reserved:
            # A programming error, caught by the first test that raises it: an extra member
            # must not overwrite the problem's own.
            raise TypeError(f"problem members cannot be extras: {', '.join(sorted(reserved))}")
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
    """RFC 9457 problem details, as every error of every route is rendered.

    Some problems carry more members (a conflict's `conflicts`, a validation's `errors`).
    """

    type: str = Field(examples=["urn:govperf:problem:not-found"])
    title: str
    status: int = Field(ge=400, le=599)
    code: str = Field(examples=["not-found"])
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Validation failures: each with its location, message, type"
    )


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


PROBLEM_SCHEMA_REF = "#/components/schemas/Problem"


def problem_content() -> dict[str, Any]:
    """An OpenAPI `content` map: the `Problem` schema as `application/problem+json`."""
    return {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_SCHEMA_REF}}}


def responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the domain errors a route may raise.

    No `model`: FastAPI would put its schema under `application/json`. The app's OpenAPI
    (`document_problems`) carries the `Problem` schema and the errors every route may give.
    """
    titles: dict[int, list[str]] = {422: ["Validation failed"]}
    for error in errors:
        titles.setdefault(error.status, [])
        if error.title not in titles[error.status]:
            titles[error.status].append(error.title)
    return {
        status: {"description": "; ".join(names), "content": problem_content()}
        for status, names in titles.items()
    }


# What every route can answer besides its own domain errors (document_problems adds them).
_COMMON_PROBLEMS = {
    401: "Authentication required",
    403: "Not allowed",
    422: "Validation failed",
    503: "Database unavailable; retry shortly",
}


def _dependants(dependant: Any) -> Iterator[Any]:
    """A route's dependant and every dependency under it."""
    yield dependant
    for dependency in dependant.dependencies:
        yield from _dependants(dependency)


def _common_problems(route: Any) -> list[int]:
    """The problem statuses every route of its kind may answer, found from its signature."""
    from services.common import auth  # auth imports this module

    dependants = list(_dependants(route.dependant))
    calls = {dependant.call for dependant in dependants}
    statuses = [503]
    reads_a_body = route.body_field is not None or "requestBody" in (route.openapi_extra or {})
    if reads_a_body or any(
        d.path_params or d.query_params or d.header_params or d.cookie_params for d in dependants
    ):
        statuses.append(422)  # a body that is not JSON is one of these too
    needs = {getattr(call, auth.AUTH, None) for call in calls}
    if needs & {"optional", "required"}:
        # A token that does not verify is refused even where one is optional.
        statuses.append(401)
    if "required" in needs:
        statuses.append(403)
    return statuses


def _speaks_problem_json(route: Any) -> bool:
    # The GraphQL endpoint answers errors in GraphQL's own format.
    return not getattr(route.endpoint, "__module__", "").startswith("strawberry.")


def _is_generated_error_schema(media: dict[str, Any]) -> bool:
    ref = media.get("schema", {}).get("$ref", "")
    return ref in (PROBLEM_SCHEMA_REF, "#/components/schemas/HTTPValidationError")


def _api_routes(app: FastAPI) -> Iterator[Any]:
    """The app's API routes, those of included routers too (as the OpenAPI generator sees them)."""
    iterate = getattr(fastapi.routing, "iter_route_contexts", None)
    if iterate is None:  # FastAPI before included routers kept their own routes
        yield from (route for route in app.routes if isinstance(route, APIRoute))
        return
    for context in iterate(app.routes):
        if isinstance(context.original_route, APIRoute):
            yield context


def _document_route(route: Any, paths: dict[str, Any]) -> None:
    for method in route.methods:
        operation = paths.get(route.path_format, {}).get(method.lower())
        if operation is None:
            continue
        answers = operation.setdefault("responses", {})
        for status in _common_problems(route):
            answers.setdefault(str(status), {"description": _COMMON_PROBLEMS[status]})
        for status, answer in answers.items():
            if not status.isdigit() or int(status) < 400:
                continue
            content = answer.setdefault("content", {})
            if _is_generated_error_schema(content.get("application/json", {})):
                del content["application/json"]
            if not content.get(PROBLEM_JSON, {}).get("schema"):
                content[PROBLEM_JSON] = problem_content()[PROBLEM_JSON]
            if answer.get("description") == "Validation Error":
                answer["description"] = _COMMON_PROBLEMS[422]


def document_problems(app: FastAPI) -> None:
    """Make the app's OpenAPI say how it fails: every error as `application/problem+json`.

    Each route gets the problems any route of its kind can give (422 for its inputs, an
    unparsable body among them, 401/403 when it resolves a principal, 503 when the database
    is away) beside the domain errors it declares with `responses(...)`; the `Problem` schema
    stands under `application/problem+json` only, never `application/json`.
    """
    generate = app.openapi
    documented: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = generate()  # FastAPI caches it until the routes change
        if documented and documented[0] is document:
            return document
        paths = document.get("paths", {})
        for route in _api_routes(app):
            if route.include_in_schema and _speaks_problem_json(route):
                _document_route(route, paths)
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, model in body.BODY_MODELS.items():  # bodies routes read themselves
            if f'"#/components/schemas/{name}"' in json.dumps(paths):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[name] = schema
        # FastAPI's own 422 schemas go once nothing refers to them (the first refers to the
        # second).
        for generated in ("HTTPValidationError", "ValidationError"):
            if generated in schemas and f'/schemas/{generated}"' not in json.dumps(document):
                del schemas[generated]
        documented[:] = [document]
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def app_error_response(request: Request, exc: AppError) -> JSONResponse:
    """The problem+json answer of an expected failure."""
    return problem_response(
        request,
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        headers=exc.headers,
        **exc.extra,
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        return app_error_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_problem(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        unparsable = _unparsable_json(exc)
        if unparsable is not None:
            return _validation_problem(request, unparsable)
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

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        return unexpected_error_response(request, exc)

    @app.exception_handler(SQLAlchemyTimeoutError)
    async def _pool_timeout(request: Request, exc: SQLAlchemyTimeoutError) -> JSONResponse:
        return unexpected_error_response(request, exc)


def _validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
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


def _unparsable_json(exc: StarletteHTTPException) -> RequestValidationError | None:
    """FastAPI's 400 for a JSON body it could not decode, as the 422 of any malformed JSON.

    FastAPI turns only `JSONDecodeError` into a validation error; bytes that are not UTF-8
    (nor the UTF-16/32 the body starts as) and nesting too deep for the parser reach it as
    a bare 400 "There was an error parsing the body", raised from the parser's error.
    """
    if exc.status_code != 400:
        return None
    cause = exc.__cause__
    if isinstance(cause, UnicodeDecodeError):
        location: tuple[str | int, ...] = ("body", cause.start)
        message = f"JSON decode error: not valid {cause.encoding} ({cause.reason})"
    elif isinstance(cause, RecursionError):
        location, message = ("body",), "JSON decode error: nested too deeply"
    else:
        return None
    return RequestValidationError(
        [{"type": "json_invalid", "loc": location, "msg": message, "input": {}}]
    )


# SQLSTATE classes and codes of PostgreSQL that a retry may cure: connection exceptions,
# insufficient resources (too many connections), lock and statement timeouts, operator
# intervention (shutdown, "cannot connect now"), serialization failures and deadlocks.
_TRANSIENT_SQLSTATES = ("08", "53", "55P03", "57014", "57P01", "57P02", "57P03", "40001", "40P01")
# SQLite says "database is locked" / "database table is locked" / "database is busy".
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "database is busy")


def is_transient_database_error(exc: BaseException) -> bool:
    """A lost or refused connection, a full pool, a lock timeout: retrying later may succeed.

    Everything else the database refuses (no such table, a syntax error, a read-only
    transaction asked to write) is a defect or a missing migration, not "retry shortly"."""
    if isinstance(exc, SQLAlchemyTimeoutError):  # no pooled connection in time (or no writer slot)
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = exc.orig
        sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_TRANSIENT_SQLSTATES):
            return True
        message = str(orig).lower()
        if any(fragment in message for fragment in _SQLITE_TRANSIENT):
            return True
        return orig is not None and _is_connection_failure(orig)
    return _is_connection_failure(exc)


def _is_connection_failure(exc: BaseException) -> bool:
    # asyncpg raises OSError subclasses (or an OSError "Multiple exceptions: ... Connect call
    # failed") when the server cannot be reached at all.
    return isinstance(exc, ConnectionError | TimeoutError) or (
        isinstance(exc, OSError) and "connect call failed" in str(exc).lower()
    )


def unexpected_error_response(request: Request, exc: BaseException) -> JSONResponse:
    """503 "retry shortly" for a transient database failure, else 500; both carry the request
    id (in the body and, through the request middleware, the `X-Request-ID` header) and are
    logged with it."""
    if is_transient_database_error(exc):
        log.warning("database_unavailable", error=f"{type(exc).__name__}: {exc}")
        return problem_response(
            request,
            status=503,
            code="database-unavailable",
            title="Database unavailable",
            detail="The database is busy or unreachable; retry shortly.",
            headers={"Retry-After": "1"},
        )
    log.error("unhandled_error", path=request.url.path, exc_info=exc)
    return problem_response(
        request,
        status=500,
        code="internal-error",
        title="Internal error",
        detail="An unexpected error occurred; quote the request id when reporting it.",
    )
