"""Calls from the gateway to the services, over the one shared connection pool.

A GraphQL field's call goes through a `Transport`: in a running gateway aiohttp's session
itself (`AiohttpTransport`), without httpx's request and response models on top, which cost
more of the gateway's CPU per call than the rest of the call (≈ 400 µs of ≈ 800 µs, measured
on this machine for a system's tree); with an httpx client when one is given
(`HttpxTransport`: the tests route it to in-process apps). Both answer an `Answer` that
`request_json` reads the same way. The REST passthrough streams through httpx over the same
aiohttp session.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import httpx
import orjson

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


@dataclass(frozen=True, slots=True)
class Answer:
    """A service's answer, read whole: its status, its header fields (looked up without
    regard to case) and its body."""

    status: int
    headers: Mapping[str, str]
    content: bytes


class Unreachable(Exception):
    """The service did not answer (refused, reset, timed out); the message names how."""


class Transport(Protocol):
    async def call(
        self,
        method: str,
        url: str,
        *,
        params: list[tuple[str, str]],
        body: bytes | None,
        headers: dict[str, str],
    ) -> Answer: ...


class AiohttpTransport:
    """Calls over an aiohttp session (the gateway's own connection pool)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session

    async def call(
        self,
        method: str,
        url: str,
        *,
        params: list[tuple[str, str]],
        body: bytes | None,
        headers: dict[str, str],
    ) -> Answer:
        try:
            async with self.session.request(
                method, url, params=params or None, data=body, headers=headers
            ) as response:
                return Answer(response.status, response.headers, await response.read())
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise Unreachable(type(exc).__name__) from exc


class HttpxTransport:
    """Calls over an httpx client (in tests, one routed to in-process apps)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def call(
        self,
        method: str,
        url: str,
        *,
        params: list[tuple[str, str]],
        body: bytes | None,
        headers: dict[str, str],
    ) -> Answer:
        try:
            response = await self.client.request(
                method, url, params=params, content=body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise Unreachable(type(exc).__name__) from exc
        return Answer(response.status_code, response.headers, response.content)


def query_pairs(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """The query of a call: `None` left out, a list repeated (`ids=a&ids=b`), booleans as
    `true`/`false` (as the services' query parameters read them)."""

    def text(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    pairs: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        values: Iterable[Any] = value if isinstance(value, list | tuple) else (value,)
        pairs.extend((key, text(v)) for v in values if v is not None)
    return pairs


def _retry_after(answer: Answer) -> int | None:
    value = answer.headers.get("retry-after", "")
    return int(value) if value.isdigit() else None


def _problem(service: str, answer: Answer) -> UpstreamError:
    try:
        problem = orjson.loads(answer.content)
    except orjson.JSONDecodeError:
        problem = None
    if not isinstance(problem, dict):
        problem = {}
    errors = problem.get("errors")
    return UpstreamError(
        service,
        answer.status,
        str(problem.get("title") or "Upstream error"),
        problem.get("detail"),
        problem.get("code"),
        errors=errors if isinstance(errors, list) else None,
        retry_after=_retry_after(answer),
    )


async def request_json(
    transport: Transport,
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
    sent = dict(headers or {})
    content = None
    if body is not None:
        content = orjson.dumps(body)
        sent["content-type"] = "application/json"
    try:
        answer = await transport.call(
            method, f"{base_url}{path}", params=query_pairs(params), body=content, headers=sent
        )
    except Unreachable as exc:
        raise UpstreamError(service, 502, "Service unreachable", str(exc), UNREACHABLE) from exc
    if answer.status >= 400:
        raise _problem(service, answer)
    try:
        return orjson.loads(answer.content)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError(
            service, 502, "The service's answer is not JSON", code=UNREACHABLE
        ) from exc


async def get_json(
    transport: Transport,
    base_url: str,
    service: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    authorization: str | None = None,
) -> Any:
    """GET a service's JSON, turning its problem+json (or its absence) into UpstreamError."""
    return await request_json(
        transport,
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

    transport: Transport
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
            self.transport,
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
            self.transport,
            self.urls[service],
            service,
            method,
            path,
            body=body,
            headers=self._headers(idempotency_key),
        )
