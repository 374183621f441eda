"""Calls to the indicator service, with the caller's own token: the published system a cycle
is bound to when its event was missed, and the departments of a cycle's category."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import Request

from services.common.context import current_request_id
from services.common.errors import ServiceUnavailable

MAX_PAGES = 100  # 200 departments a page: far beyond any city's departments of one category
RETRY_AFTER_SECONDS = "30"


class UpstreamUnavailable(ServiceUnavailable):
    code = "upstream-unavailable"
    title = "The indicator service is unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": RETRY_AFTER_SECONDS})


@dataclass(frozen=True)
class IndicatorClient:
    http: httpx.AsyncClient
    base_url: str
    authorization: str | None

    @classmethod
    def for_request(cls, request: Request) -> IndicatorClient:
        """Through the app's shared client, as the caller of `request`."""
        return cls(
            http=request.app.state.http,
            base_url=request.app.state.settings.indicator_url.rstrip("/"),
            authorization=request.headers.get("authorization"),
        )

    async def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        headers = {}
        if self.authorization:
            headers["authorization"] = self.authorization
        request_id = current_request_id()
        if request_id:
            headers["x-request-id"] = request_id
        try:
            response = await self.http.get(f"{self.base_url}{path}", params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(
                f"The indicator service could not be reached ({type(exc).__name__})"
            ) from exc
        if response.status_code not in (200, 404):
            raise UpstreamUnavailable(
                f"The indicator service answered {response.status_code} to GET {path}"
            )
        return response

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise UpstreamUnavailable("The indicator service answered something not JSON") from exc

    async def _pages(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        query = {**params, "limit": 200}
        for _ in range(MAX_PAGES):
            response = await self._get(path, query)
            body = self._json(response) if response.status_code == 200 else None
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise UpstreamUnavailable(f"The indicator service answered no page to GET {path}")
            items.extend(body["items"])
            if not body.get("next_cursor"):
                return items
            query["cursor"] = body["next_cursor"]
        raise UpstreamUnavailable(f"GET {path} did not end after {MAX_PAGES} pages")

    async def published_systems(
        self, jurisdiction: str, year: int, category: str
    ) -> list[dict[str, Any]]:
        """Summaries of the published versions of a year's system for a category."""
        return await self._pages(
            "/v1/indicator-systems",
            {
                "jurisdiction": jurisdiction,
                "year": year,
                "category": category,
                "status": "published",
            },
        )

    async def system(self, system_id: uuid.UUID) -> dict[str, Any] | None:
        """One version with its tree, as the indicator service shows it; None if unknown."""
        response = await self._get(f"/v1/indicator-systems/{system_id}")
        if response.status_code == 404:
            return None
        body = self._json(response)
        if not isinstance(body, dict):
            raise UpstreamUnavailable("The indicator service answered no indicator system")
        return body

    async def departments(self, jurisdiction: str, category: str) -> list[dict[str, Any]]:
        """The active departments of a category, every page."""
        return await self._pages(
            "/v1/departments",
            {"jurisdiction": jurisdiction, "category": category, "active": "true"},
        )
