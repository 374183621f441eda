"""HTTP baseline: the real indicator service in its own process, loaded over loopback.

    .venv/bin/python bench/http_baseline.py [--seconds N] [--concurrency C]
                                            [--backend sqlite|postgresql|both]

Per backend: a fresh database, `python -m govperf serve indicator` (migrating on start), then
four scenarios, each C workers sharing one keep-alive client for N seconds after a 1 s
warm-up. A measurement, not a test: it exits 1 only on a non-2xx answer or a failed run.
Latencies cover every completed request; the client shares the machine with the server.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
from _common import cancel_on_sigterm, machine, postgres_database, postgres_version, service
from httpx_aiohttp import HttpxAiohttpClient

from services.common.auth import mint_token
from services.common.settings import DEVELOPMENT_JWT_SECRET

WARMUP_SECONDS = 1.0
REQUEST_TIMEOUT = 10.0
NIL = ["00000000-0000-0000-0000-000000000000"]

Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


@asynccontextmanager
async def fresh_database(backend: str) -> AsyncIterator[str]:
    """A new, empty database URL for the indicator service; removed afterwards."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="govperf-bench-") as tmp:
            yield f"sqlite+aiosqlite:///{tmp}/indicator.db"
        return
    async with postgres_database() as url:
        yield url


def indicator_service(
    database_url: str, client: httpx.AsyncClient
) -> AbstractAsyncContextManager[str]:
    """Start `govperf serve indicator`, wait for /readyz, SIGTERM it at the end (kill on error)."""
    settings = {
        "GOVPERF_INDICATOR_DATABASE_URL": database_url,
        "GOVPERF_INDICATOR_LOG_LEVEL": "WARNING",
    }
    return service("indicator", settings, client)


async def measure(
    client: httpx.AsyncClient, request: Request, seconds: float, concurrency: int
) -> dict[str, float]:
    """C workers send back to back; only requests started after the warm-up count."""
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    counted_from, stop = start + WARMUP_SECONDS, start + WARMUP_SECONDS + seconds

    async def worker() -> None:
        nonlocal errors
        while (sent := time.perf_counter()) < stop:
            try:
                ok = (await request(client)).is_success
            except httpx.HTTPError:
                ok = False
            if sent >= counted_from:
                latencies.append((time.perf_counter() - sent) * 1000)
                errors += not ok

    async with asyncio.timeout(WARMUP_SECONDS + seconds + REQUEST_TIMEOUT + 5):
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - counted_from
    cuts = statistics.quantiles(latencies, n=100, method="inclusive") if latencies else [0.0] * 99
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": cuts[49],
        "p95_ms": cuts[94],
        "p99_ms": cuts[98],
    }


async def run_backend(backend: str, args: argparse.Namespace) -> list[dict[str, object]]:
    token = mint_token(DEVELOPMENT_JWT_SECRET, role="admin", jurisdictions=["231100"])
    headers = {"authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=None)
    codes = itertools.count()
    created: list[str] = []

    async def create(c: httpx.AsyncClient) -> httpx.Response:
        n = next(codes)
        body = {
            "jurisdiction_code": "231100",
            "code": f"BENCH-{n:07d}",
            "name_zh": f"基准部门{n}",
            "category": "economic",
        }
        response = await c.post("/v1/departments", json=body, headers=headers)
        if response.status_code == 201:
            created.append(response.json()["id"])
        return response

    def read(path: Callable[[], str]) -> Request:
        return lambda c: c.get(path(), headers=headers)

    scenarios: list[tuple[str, Request]] = [
        ("GET /healthz", lambda c: c.get("/healthz")),
        ("POST /v1/departments", create),
        ("GET /v1/departments?limit=50", read(lambda: "/v1/departments?limit=50")),
        # A nil id (404, counted as an error) if no POST succeeded.
        (
            "GET /v1/departments/{id}",
            read(lambda: f"/v1/departments/{random.choice(created or NIL)}"),
        ),
    ]
    results: list[dict[str, object]] = []
    async with (
        HttpxAiohttpClient(timeout=REQUEST_TIMEOUT, limits=limits, trust_env=False) as client,
        fresh_database(backend) as database_url,
        indicator_service(database_url, client) as url,
    ):
        client.base_url = httpx.URL(url)
        print(f"\n== {backend}: {database_url}, {args.seconds:g} s, concurrency {args.concurrency}")
        for name, request in scenarios:
            stats = await measure(client, request, args.seconds, args.concurrency)
            results.append({"backend": backend, "scenario": name, **stats})
    baseline = results[0]["rps"] or 1.0
    print(
        f"{'scenario':<30}{'requests':>9}{'errors':>8}{'req/s':>9}"
        f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'% healthz':>11}"
    )
    for r in results:
        r["pct_of_healthz"] = round(100 * r["rps"] / baseline, 1)
        print(
            f"{r['scenario']:<30}{r['requests']:>9}{r['errors']:>8}{r['rps']:>9.0f}"
            f"{r['p50_ms']:>9.2f}{r['p95_ms']:>9.2f}{r['p99_ms']:>9.2f}"
            f"{r['pct_of_healthz']:>10.1f}%"
        )
    return results


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent workers")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # keep our lines in order with the server's
    cancel_on_sigterm()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]

    pg_version = await postgres_version() if "postgresql" in backends else None
    print("\n".join(machine(pg_version)))

    summary: list[dict[str, object]] = []
    failed = False
    for backend in backends:
        try:
            summary += await run_backend(backend, args)
        except Exception as exc:
            failed = True
            print(f"!! {backend} failed: {type(exc).__name__}: {exc}")
    print()
    meta = {"seconds": args.seconds, "concurrency": args.concurrency}
    for row in summary:
        rounded = {k: round(v, 2) if isinstance(v, float) else v for k, v in row.items()}
        print(json.dumps({**rounded, **meta}, ensure_ascii=False))
    return 1 if failed or any(row["errors"] for row in summary) else 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("!! interrupted; server stopped, database removed")
        sys.exit(130)
