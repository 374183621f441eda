"""The gateway's cost: one department with its indicator system through GraphQL, beside the
direct REST calls the gateway makes for it, loaded by wrk in one run.

    .venv/bin/python bench/gateway.py [--seconds N] [--rounds R]

PostgreSQL: fresh databases for the indicator service and the gateway, `govperf serve` of
each (one uvicorn worker, INFO access logs to /dev/null), a department and a published
indicator system of 2026 (3 dimensions × 5 indicators) created through the API. The query

    { departments(first: 1) { … nodes { id code nameZh
        indicatorSystem(year: 2026) { … id version name nodes { code … children { … } } } } } }

costs the gateway three upstream calls, one after the other (counted from the indicator
service's request metrics before the load): the page of departments, the published systems
of the year (one call for every category) and the system with its tree. The direct side is
those three calls, made by a client that knows what to ask:

- at concurrency 1 (wrk -t1 -c1) the direct p50 is the sum of the three calls' p50s; the
  gateway's added p50 is its p50 minus that sum (target ≤ 1.5 ms, stretch ≤ 1.0 ms);
- at concurrency 8 (wrk -t2 -c8) the direct rate of whole answers is 1 / Σ(1 / rate of each
  call); the ratio is the gateway's answers per second over that (target ≥ 0.3×, stretch
  ≥ 0.5×).

Each round measures every load once, the order reversed every other round; the table shows
the median of the rounds. The gateway's rate limit for the office's token is raised far
above the load (the limiter still runs on every request). A measurement, not a test: a
target BELOW is shown, not failed; it exits 1 only on a failed run (a server that does not
start, a GraphQL error in the answer, non-2xx answers or socket errors).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from _common import (
    cancel_on_sigterm,
    free_port,
    machine,
    postgres_database,
    postgres_version,
    service,
)
from request_path import Load, Settings, WrkResult, ensure_wrk, run_wrk, wrk_version

from services.common.auth import mint_token
from services.common.settings import DEVELOPMENT_JWT_SECRET

JURISDICTION = "231100"
YEAR = 2026
LOG_LEVEL = "INFO"
WARMUP_SECONDS = 1
ADDED_P50_TARGET_MS, ADDED_P50_STRETCH_MS = 1.5, 1.0
RATIO_TARGET, RATIO_STRETCH = 0.3, 0.5
# (wrk threads, connections) of the two measurements.
CONCURRENCY = {"c1": (1, 1), "c8": (2, 8)}
QUERY = """
query Department($year: Int!) {
  departments(first: 1) {
    ... on DepartmentConnection {
      nodes {
        id code nameZh category
        indicatorSystem(year: $year) {
          __typename
          ... on IndicatorSystem {
            id version name
            nodes { code nameZh weight children { code nameZh weight target rule } }
          }
        }
      }
    }
  }
}
"""
TOKEN = mint_token(
    DEVELOPMENT_JWT_SECRET, role="admin", jurisdictions=(JURISDICTION,), ttl_seconds=6 * 3600
)
HEADERS = {"authorization": f"Bearer {TOKEN}"}


def system_body() -> dict[str, Any]:
    dimensions = []
    for d in range(3):
        children = [
            {
                "code": f"G{d}.{i}",
                "name_zh": f"指标 {d}.{i}",
                "weight": 0.0,
                "frequency": "annual",
                "target": 100,
                "rule": {"method": "ratio", "ceiling": 1.2},
            }
            for i in range(5)
        ]
        weight = 100 / 3
        for child in children:
            child["weight"] = weight / 5
        dimensions.append(
            {"code": f"G{d}", "name_zh": f"维度 {d}", "weight": weight, "children": children}
        )
    return {
        "jurisdiction_code": JURISDICTION,
        "year": YEAR,
        "category": "economic",
        "name": "网关基准指标体系",
        "nodes": dimensions,
    }


def expect(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} answered"
            f" {response.status_code}: {response.text[:400]}"
        )
    return response.json()


async def indicator_requests(client: httpx.AsyncClient, indicator: str) -> float:
    """Requests the indicator service has answered so far (its Prometheus counter)."""
    text = (await client.get(f"{indicator}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("govperf_http_requests_total{") and 'route="/metrics"' not in line
    )


@dataclass
class Stack:
    indicator: str
    gateway: str


@asynccontextmanager
async def servers(client: httpx.AsyncClient) -> AsyncIterator[Stack]:
    async with AsyncExitStack() as stack:
        indicator_db = await stack.enter_async_context(postgres_database())
        gateway_db = await stack.enter_async_context(postgres_database())
        ports = {"indicator": free_port(), "gateway": free_port()}
        nowhere = f"http://127.0.0.1:{free_port()}"
        common = {
            "GOVPERF_INDICATOR_URL": f"http://127.0.0.1:{ports['indicator']}",
            "GOVPERF_EVALUATION_URL": nowhere,
            "GOVPERF_DISCLOSURE_URL": nowhere,
            "GOVPERF_FEEDBACK_URL": nowhere,
        }
        urls = {}
        for name, database, extra in (
            ("indicator", indicator_db, {}),
            ("gateway", gateway_db, {"GOVPERF_GATEWAY_RATE_LIMIT_PERSON": "100000000/minute"}),
        ):
            settings = common | extra
            settings[f"GOVPERF_{name.upper()}_DATABASE_URL"] = database
            settings[f"GOVPERF_{name.upper()}_LOG_LEVEL"] = LOG_LEVEL
            urls[name] = await stack.enter_async_context(
                service(name, settings, client, port=ports[name], stdout=asyncio.subprocess.DEVNULL)
            )
        yield Stack(indicator=urls["indicator"], gateway=urls["gateway"])


async def seed(client: httpx.AsyncClient, indicator: str) -> str:
    """A department and the published system of its category; the system's id."""
    department = {
        "jurisdiction_code": JURISDICTION,
        "code": "GW-BENCH",
        "name_zh": "网关基准部门",
        "category": "economic",
    }
    expect(await client.post(f"{indicator}/v1/departments", json=department, headers=HEADERS), 201)
    system = expect(
        await client.post(f"{indicator}/v1/indicator-systems", json=system_body(), headers=HEADERS),
        201,
    )
    expect(
        await client.post(
            f"{indicator}/v1/indicator-systems/{system['id']}/publish", headers=HEADERS
        )
    )
    return system["id"]


async def check_answer(client: httpx.AsyncClient, stack: Stack, body: dict[str, Any]) -> int:
    """One GraphQL answer, checked: the department with its whole tree, no errors; how many
    calls the indicator service answered for it."""
    before = await indicator_requests(client, stack.indicator)
    answer = expect(await client.post(f"{stack.gateway}/graphql", json=body, headers=HEADERS))
    calls = round(await indicator_requests(client, stack.indicator) - before)
    if answer.get("errors"):
        raise RuntimeError(f"GraphQL errors: {answer['errors']}")
    nodes = answer["data"]["departments"]["nodes"]
    system = nodes[0]["indicatorSystem"]
    if system["__typename"] != "IndicatorSystem" or len(system["nodes"]) != 3:
        raise RuntimeError(f"unexpected answer: {json.dumps(answer)[:400]}")
    return calls


def loads(stack: Stack, system_id: str, body_file: Path) -> dict[str, Load]:
    bearer = (f"Authorization: Bearer {TOKEN}",)
    systems = f"jurisdiction={JURISDICTION}&year={YEAR}&status=published&limit=200"
    return {
        "gateway": Load(f"{stack.gateway}/graphql", bearer, "post_json.lua", (str(body_file),)),
        "departments": Load(f"{stack.indicator}/v1/departments?limit=1", bearer),
        "published systems": Load(f"{stack.indicator}/v1/indicator-systems?{systems}", bearer),
        "system tree": Load(f"{stack.indicator}/v1/indicator-systems/{system_id}", bearer),
    }


def verdict(met: bool) -> str:
    return "OK" if met else "BELOW"


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="measured seconds per run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (median shown)")
    args = parser.parse_args()
    if min(args.seconds, args.rounds) < 1:
        parser.error("--seconds and --rounds must be at least 1")
    sys.stdout.reconfigure(line_buffering=True)
    cancel_on_sigterm()
    wrk = ensure_wrk()
    print("\n".join(machine(await postgres_version())))
    print(f"wrk        {wrk_version(wrk)}")
    print(f"load avg   {' '.join(f'{x:.2f}' for x in os.getloadavg())} (1, 5, 15 min) at start")
    print(
        f"settings   {args.rounds} round(s) of {args.seconds} s per load and concurrency;"
        f" {WARMUP_SECONDS} s warm-up each; one uvicorn worker per server, {LOG_LEVEL} logs"
    )
    runs: dict[tuple[str, str], list[WrkResult]] = {}
    problems: list[str] = []
    async with httpx.AsyncClient(timeout=30) as client, servers(client) as stack:
        system_id = await seed(client, stack.indicator)
        body = {"query": QUERY, "variables": {"year": YEAR}}
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump(body, f)
        body_file = Path(f.name)
        try:
            calls = await check_answer(client, stack, body)
            print(f"upstream   one GraphQL answer cost the indicator service {calls} request(s)")
            by_name = loads(stack, system_id, body_file)
            for level, (threads, connections) in CONCURRENCY.items():
                for load in by_name.values():
                    warm = Settings(wrk, WARMUP_SECONDS, threads, connections, 1)
                    await run_wrk(load, warm, WARMUP_SECONDS)
                for round_number in range(args.rounds):
                    order = list(by_name.items())
                    if round_number % 2:
                        order.reverse()
                    for name, load in order:
                        settings = Settings(wrk, args.seconds, threads, connections, 1)
                        result = await run_wrk(load, settings, args.seconds)
                        if result.failures:
                            problems.append(f"{name} {level}: {result.failure_text()}")
                        runs.setdefault((level, name), []).append(result)
            await check_answer(client, stack, body)
        finally:
            os.unlink(body_file)

    def median(level: str, name: str, what: str) -> float:
        return statistics.median(getattr(r, what) for r in runs[(level, name)])

    direct = [n for n in by_name if n != "gateway"]
    print(f"\n== median of {args.rounds} round(s)")
    print(f"{'load':<20}{'c1 p50':>10}{'c1 req/s':>10}{'c8 p50':>10}{'c8 req/s':>10}")
    for name in by_name:
        print(
            f"{name:<20}{median('c1', name, 'p50_ms'):>7.2f} ms{median('c1', name, 'rps'):>10,.0f}"
            f"{median('c8', name, 'p50_ms'):>7.2f} ms{median('c8', name, 'rps'):>10,.0f}"
        )
    direct_p50 = sum(median("c1", n, "p50_ms") for n in direct)
    gateway_p50 = median("c1", "gateway", "p50_ms")
    added = gateway_p50 - direct_p50
    direct_rate = 1 / sum(1 / median("c8", n, "rps") for n in direct)
    ratio = median("c8", "gateway", "rps") / direct_rate
    print(
        f"\nconcurrency 1: gateway p50 {gateway_p50:.2f} ms, the {len(direct)} direct calls"
        f" {direct_p50:.2f} ms: added {added:.2f} ms (target <= {ADDED_P50_TARGET_MS} ms"
        f" {verdict(added <= ADDED_P50_TARGET_MS)}, stretch <= {ADDED_P50_STRETCH_MS} ms"
        f" {verdict(added <= ADDED_P50_STRETCH_MS)})"
    )
    print(
        f"concurrency 8: gateway {median('c8', 'gateway', 'rps'):,.0f} answers/s, direct"
        f" {direct_rate:,.0f} answers/s: {ratio:.2f}x (target >= {RATIO_TARGET}x"
        f" {verdict(ratio >= RATIO_TARGET)}, stretch >= {RATIO_STRETCH}x"
        f" {verdict(ratio >= RATIO_STRETCH)})"
    )
    row = {
        "scenario": "one department with its indicator system",
        "upstream_calls": calls,
        "gateway_p50_ms": round(gateway_p50, 3),
        "direct_p50_ms": round(direct_p50, 3),
        "added_p50_ms": round(added, 3),
        "gateway_c8_rps": round(median("c8", "gateway", "rps"), 1),
        "direct_c8_answers_per_s": round(direct_rate, 1),
        "ratio_c8": round(ratio, 3),
        "meets_target": added <= ADDED_P50_TARGET_MS and ratio >= RATIO_TARGET,
        "meets_stretch": added <= ADDED_P50_STRETCH_MS and ratio >= RATIO_STRETCH,
        "rounds": args.rounds,
        "seconds": args.seconds,
    }
    print(json.dumps(row, ensure_ascii=False))
    if problems:
        print("\n!! failed run:\n" + "\n".join(f"   {p}" for p in problems))
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("!! interrupted; servers stopped, databases removed")
        sys.exit(130)
