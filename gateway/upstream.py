"""Calls from the gateway to the services, over the one shared HTTP client."""

from __future__ import annotations

from typing import Any

import httpx

from services.common.context import current_request_id

# The GraphQL error class of a service's answer, in the `extensions.code` words clients and
# tools know (Apollo's): a refused argument is the caller's error, not the server's.
GRAPHQL_ERROR_CODES = {
    400: "BAD_USER_INPUT",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "BAD_USER_INPUT",
    422: "BAD_USER_INPUT",
    429: "RATE_LIMITED",
}


class UpstreamError(Exception):
    """A service answered with a problem (or did not answer); its message is safe to show."""

    def __init__(
        self,
        service: str,
        status: int,
        title: str,
        detail: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(f"{service}: {detail or title}")
        self.service = service
        self.status = status
        self.code = code or "upstream-error"
        # GraphQL copies an exception's `extensions` into the error it answers.
        self.extensions = {
            "code": GRAPHQL_ERROR_CODES.get(
                status, "SERVICE_UNAVAILABLE" if status >= 500 else "BAD_REQUEST"
            ),
            "status": status,
            "problem": self.code,
            "service": service,
        }


def forwarded_headers(authorization: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if authorization:
        headers["authorization"] = authorization
    request_id = current_request_id()
    if request_id:
        headers["x-request-id"] = request_id
    return headers


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
    clean = {k: v for k, v in (params or {}).items() if v is not None}
    try:
        response = await http.get(
            f"{base_url}{path}", params=clean, headers=forwarded_headers(authorization)
        )
    except httpx.HTTPError as exc:
        raise UpstreamError(service, 502, "Service unreachable", type(exc).__name__) from exc
    if response.status_code >= 400:
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        raise UpstreamError(
            service,
            response.status_code,
            problem.get("title", "Upstream error"),
            problem.get("detail"),
            problem.get("code"),
        )
    return response.json()
