"""DataLoaders over the services' endpoints, made once per request (on first use, in the
request's context): a query for a cycle's results with their departments costs one call
for the results and one for the departments, not one per department.

Each loader answers a key with the service's read model or with the UpstreamError that
explains it (a record the batch did not return is a 404 of its service), which the field
answers as its typed problem.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from gateway.settings import Settings
from gateway.upstream import Upstream, UpstreamError

K = TypeVar("K", bound=Hashable)
Record = dict[str, Any]
# The indicator service's batch reads take at most this many ids.
DEPARTMENTS_PER_CALL = 100
# A published system is found by its jurisdiction, year and department category.
SystemKey = tuple[str, int, str]


def not_found(service: str, what: str) -> UpstreamError:
    return UpstreamError(service, 404, "Resource not found", what, "not-found")


async def _each(
    keys: list[K], fetch: Callable[[K], Awaitable[Record]]
) -> list[Record | UpstreamError]:
    """One call per key, concurrently, for endpoints without a batch form."""

    async def one(key: K) -> Record | UpstreamError:
        try:
            return await fetch(key)
        except UpstreamError as exc:
            return exc

    return list(await asyncio.gather(*(one(key) for key in keys)))


class Loaders:
    """The loaders of one request, each over one endpoint of one service."""

    def __init__(self, upstream: Upstream) -> None:
        self.upstream = upstream
        self.departments = DataLoader(self._departments, max_batch_size=DEPARTMENTS_PER_CALL)
        self.cycles: DataLoader[str, Record] = DataLoader(self._cycles)
        self.cycle_groups: DataLoader[str, Record] = DataLoader(self._cycle_groups)
        self.cycle_results: DataLoader[tuple[str, int | None], Record] = DataLoader(
            self._cycle_results
        )
        self.breakdowns: DataLoader[tuple[str, str, int], Record] = DataLoader(self._breakdowns)
        self.systems: DataLoader[str, Record] = DataLoader(self._systems)
        self.published_systems: DataLoader[SystemKey, Record] = DataLoader(self._published_systems)
        self.latest_measurements: DataLoader[tuple[str, int], list[Record]] = DataLoader(
            self._latest_measurements
        )

    async def _departments(self, ids: list[str]) -> list[Record | UpstreamError]:
        """`GET /indicator/v1/departments?ids=…`: one call for up to 100 departments."""
        try:
            page = await self.upstream.get(
                "indicator", "/v1/departments", {"ids": ids, "limit": len(ids)}
            )
        except UpstreamError as exc:
            return [exc] * len(ids)
        found = {item["id"]: item for item in page["items"]}
        return [found.get(i) or not_found("indicator", f"No department {i}") for i in ids]

    async def _cycles(self, ids: list[str]) -> list[Record | UpstreamError]:
        return await _each(ids, lambda i: self.upstream.get("evaluation", f"/v1/cycles/{i}"))

    async def _cycle_groups(self, ids: list[str]) -> list[Record | UpstreamError]:
        return await _each(ids, lambda i: self.upstream.get("evaluation", f"/v1/cycles/{i}/groups"))

    async def _cycle_results(
        self, keys: list[tuple[str, int | None]]
    ) -> list[Record | UpstreamError]:
        """Every result of a cycle's version (the latest for `None`), in one call."""
        return await _each(
            keys,
            lambda key: self.upstream.get(
                "evaluation", f"/v1/cycles/{key[0]}/results", {"version": key[1]}
            ),
        )

    async def _breakdowns(self, keys: list[tuple[str, str, int]]) -> list[Record | UpstreamError]:
        return await _each(
            keys,
            lambda key: self.upstream.get(
                "evaluation",
                f"/v1/cycles/{key[0]}/results/{key[1]}/breakdown",
                {"version": key[2]},
            ),
        )

    async def _systems(self, ids: list[str]) -> list[Record | UpstreamError]:
        """A system with its whole tree; the same published system of many departments is
        one call."""
        return await _each(
            ids, lambda i: self.upstream.get("indicator", f"/v1/indicator-systems/{i}")
        )

    async def _published_systems(self, keys: list[SystemKey]) -> list[Record | UpstreamError]:
        """The published systems (summaries) of every category of a jurisdiction's year in
        one call: `GET /indicator/v1/indicator-systems?status=published&jurisdiction=…&year=…`."""
        found: dict[SystemKey, Record | UpstreamError] = {}

        async def of_year(jurisdiction: str, year: int) -> None:
            params: dict[str, Any] = {
                "jurisdiction": jurisdiction,
                "year": year,
                "status": "published",
                "limit": 200,
            }
            try:
                while True:
                    page = await self.upstream.get("indicator", "/v1/indicator-systems", params)
                    for item in page["items"]:
                        found[(jurisdiction, year, item["category"])] = item
                    if not page.get("next_cursor"):
                        return
                    params["cursor"] = page["next_cursor"]
            except UpstreamError as exc:
                for key in keys:
                    if key[:2] == (jurisdiction, year):
                        found[key] = exc

        await asyncio.gather(*(of_year(j, y) for j, y in dict.fromkeys(k[:2] for k in keys)))
        return [
            found.get(key)
            or not_found(
                "indicator", f"No published indicator system of {key[2]} for {key[1]} in {key[0]}"
            )
            for key in keys
        ]

    async def _latest_measurements(
        self, keys: list[tuple[str, int]]
    ) -> list[list[Record] | UpstreamError]:
        """Each department's latest values, for up to 100 departments a call:
        `GET /indicator/v1/measurements?department_ids=…&latest=n`."""
        found: dict[tuple[str, int], list[Record] | UpstreamError] = {key: [] for key in keys}

        async def batch(latest: int, ids: list[str]) -> None:
            try:
                page = await self.upstream.get(
                    "indicator", "/v1/measurements", {"department_ids": ids, "latest": latest}
                )
            except UpstreamError as exc:
                if exc.status == 403 and len(ids) > 1:
                    # A caller bound to one department: each department answers for itself.
                    await asyncio.gather(*(batch(latest, [i]) for i in ids))
                    return
                for i in ids:
                    found[(i, latest)] = exc
                return
            for item in page["items"]:
                values = found.get((item["department_id"], latest))
                if isinstance(values, list):
                    values.append(item)

        by_size: dict[int, list[str]] = {}
        for department_id, latest in keys:
            by_size.setdefault(latest, []).append(department_id)
        await asyncio.gather(
            *(
                batch(latest, ids[start : start + DEPARTMENTS_PER_CALL])
                for latest, ids in by_size.items()
                for start in range(0, len(ids), DEPARTMENTS_PER_CALL)
            )
        )
        return [found[key] for key in keys]


def upstream(info: Info) -> Upstream:
    """The caller's way to the services, made once per request."""
    context = info.context
    made: Upstream | None = context.get("upstream")
    if made is None:
        settings: Settings = context["settings"]
        request = context.get("request")
        client = getattr(request, "client", None)
        made = Upstream(
            transport=context["transport"],
            urls=settings.service_urls(),
            authorization=context["authorization"],
            client_address=client.host if client else None,
        )
        context["upstream"] = made
    return made


def loaders(info: Info) -> Loaders:
    """This request's loaders (made on first use, so never shared between requests)."""
    made: Loaders | None = info.context.get("loaders")
    if made is None:
        made = Loaders(upstream(info))
        info.context["loaders"] = made
    return made


def forget_loaded(info: Info) -> None:
    """After a change, later fields of the same request load afresh."""
    info.context.pop("loaders", None)
