"""Calls from the gateway to the services, over the one shared HTTP client."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from services.common.context import current_request_id

# The code of an UpstreamError for a service that did not answer (or not in JSON).
UNREACHABLE = "service-unreachable"


class UpstreamError(Exception):
    """A service answered with a problem (or did not answer); its message is safe to show.

    `status` is the service's HTTP status (502 when it did not answer at all), `code` its
    problem code, `errors` the fields a validation problem lists (each with `location`
    and `message`) and `retry_after` the seconds a 429 or 503 asks the caller to wait.
    """

    def __init__(
        self,
        service: str,
        status: int,
        title: str,
        detail: str | None = None,
        code: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(f"{service}: {detail or title}")
        self.service = service
        self.status = status
        self.title = title
        self.detail = detail or title
        self.code = code or "upstream-error"
        self.errors = errors or []
        self.retry_after = retry_after


def forwarded_headers(
    authorization: str | None, *, client_address: str | None = None
) -> dict[str, str]:
    """The caller's Authorization and the request id; the caller's address when given (the
    services rate-limit and check bursts by it)."""
    headers: dict[str, str] = {}
    if authorization:
        headers["authorization"] = authorization
    request_id = current_request_id()
    if request_id:
        headers["x-request-id"] = request_id
    if client_address:
        headers["x-forwarded-for"] = client_address
    return headers


def _retry_after(response: httpx.Response) -> int | None:
    value = response.headers.get("retry-after", "")
    return int(value) if value.isdigit() else None


def _problem(service: str, response: httpx.Response) -> UpstreamError:
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if not isinstance(problem, dict):
        problem = {}
    errors = problem.get("errors")
    return UpstreamError(
        service,
        response.status_code,
        str(problem.get("title") or "Upstream error"),
        problem.get("detail"),
        problem.get("code"),
        errors=errors if isinstance(errors, list) else None,
        retry_after=_retry_after(response),
    )


async def request_json(
    http: httpx.AsyncClient,
    base_url: str,
    service: str,
    method: str,
    path: str,
    *,
    params: Mapping[str, Any] | None = None,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """Call a service and return its JSON, turning its problem+json (or its silence) into
    UpstreamError. `None` params are left out; a list param repeats (`ids=a&ids=b`)."""
    clean = {k: v for k, v in (params or {}).items() if v is not None}
    try:
        response = await http.request(
            method, f"{base_url}{path}", params=clean, json=body, headers=dict(headers or {})
        )
    except httpx.HTTPError as exc:
        raise UpstreamError(
            service, 502, "Service unreachable", type(exc).__name__, UNREACHABLE
        ) from exc
    if response.status_code >= 400:
        raise _problem(service, response)
    try:
        return response.json()
    except ValueError as exc:
        raise UpstreamError(
            service, 502, "The service's answer is not JSON", code=UNREACHABLE
        ) from exc


async def get_json(
    http: httpx.AsyncClient,
    base_url: str,
    service: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    authorization: str | None = None,
) -> Any:
    """GET a service's JSON, turning its problem+json (or its absence) into UpstreamError."""
    return await request_json(
        http,
        base_url,
        service,
        "GET",
        path,
        params=params,
        headers=forwarded_headers(authorization),
    )


@dataclass(frozen=True)
class Upstream:
    """One caller's way to the services: every call carries the caller's Authorization (the
    services decide what it may see and do), the request id and the caller's address."""

    http: httpx.AsyncClient
    urls: Mapping[str, str]
    authorization: str | None
    client_address: str | None = None

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = forwarded_headers(self.authorization, client_address=self.client_address)
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        return headers

    async def get(self, service: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await request_json(
            self.http,
            self.urls[service],
            service,
            "GET",
            path,
            params=params,
            headers=self._headers(),
        )

    async def send(
        self,
        service: str,
        method: str,
        path: str,
        body: Any = None,
        *,
        idempotency_key: str | None = None,
    ) -> Any:
        return await request_json(
            self.http,
            self.urls[service],
            service,
            method,
            path,
            body=body,
            headers=self._headers(idempotency_key),
        )
