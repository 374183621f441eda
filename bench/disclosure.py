"""The disclosure service's public list, fresh (200) and revalidated (304), beside its /healthz.

    .venv/bin/python bench/disclosure.py [--seconds N] [--connections C] [--threads T]
                                         [--rounds R] [--publications N] [--only list|search]

`python -m govperf serve disclosure` (one uvicorn worker, INFO access logs to /dev/null) on
a fresh PostgreSQL database; N publications (default 200) are created and published
through its API (each published version goes into the ledger, as in production). Then wrk
(`-tT -cC -dNs --latency`, bench/request_path.py's runner) loads, anonymously:

- `GET /healthz` (the process, no database: the ceiling of this server),
- `GET /v1/publications?limit=50` and `GET /v1/search/publications?limit=50` answered in
  full (200: the query, the page's JSON, its ETag),
- the same two with `If-None-Match: <their ETag>` (304: the same query and hash, no body).

After a 1 s warm-up of each, R rounds run every scenario once, the order reversed every
other round so that each sees the same machine; the table shows the medians and each
list's ratio to /healthz of the same run against the targets (304 ≥ 0.8×, 200 ≥ 0.4×;
stretch 0.9×, 0.6×). The public-read rate limit stays on, set high enough never to refuse
the load, so its per-request cost is part of what is measured.

A measurement, not a test: a target BELOW is shown, not failed. It exits 1 only on a failed
run: a server that does not start or answer, non-2xx/304 answers or socket errors.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from dataclasses import dataclass, field

import httpx
from _common import (
    cancel_on_sigterm,
    machine,
    postgres_database,
    postgres_version,
    service,
)
from request_path import (
    WARMUP_SECONDS,
    Load,
    Settings,
    WrkResult,
    answer_counts,
    ensure_wrk,
    failed_answers,
    run_wrk,
    wrk_version,
)

from services.common.auth import mint_token
from services.common.settings import DEVELOPMENT_JWT_SECRET

JURISDICTION = "231100"
SEED_CONCURRENCY = 8
# Kinds the office may publish itself (notices and annual reports wait for an approver).
KINDS = ("plan", "results", "department_result", "rectification")


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    path: str
    conditional: bool = False
    target: float | None = None
    stretch: float | None = None


SCENARIOS = (
    Scenario("healthz", "GET /healthz", "/healthz"),
    Scenario("list", "GET /v1/publications?limit=50  200", "/v1/publications?limit=50",
             target=0.4, stretch=0.6),
    Scenario("list304", "GET /v1/publications?limit=50  304", "/v1/publications?limit=50",
             conditional=True, target=0.8, stretch=0.9),
    Scenario("search", "GET /v1/search/publications   200", "/v1/search/publications?limit=50",
             target=0.4, stretch=0.6),
    Scenario("search304", "GET /v1/search/publications   304",
             "/v1/search/publications?limit=50", conditional=True, target=0.8, stretch=0.9),
)  # fmt: skip


@dataclass
class Runs:
    results: dict[str, list[WrkResult]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def median_rps(self, key: str) -> float:
        return statistics.median(r.rps for r in self.results[key])

    def median(self, key: str, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in self.results[key])


async def seed(client: httpx.AsyncClient, url: str, count: int) -> None:
    """`count` publications created and published through the API, as the office would."""
    token = mint_token(DEVELOPMENT_JWT_SECRET, role="admin", jurisdictions=[JURISDICTION])
    headers = {"authorization": f"Bearer {token}"}
    gate = asyncio.Semaphore(SEED_CONCURRENCY)

    async def one(n: int) -> None:
        body = {
            "jurisdiction_code": JURISDICTION,
            "kind": KINDS[n % len(KINDS)],
            "title": f"黑河市2026年度绩效信息公开第{n}号",
            "title_en": f"Heihe performance disclosure no. {n}",
            "summary": "各部门考评得分、排名与整改进展。" * 3,
            "body": "正文" * 200,
            "period": "2026",
            "data": {"n": n, "rows": [{"department": f"D{i}", "total": 80 + i} for i in range(20)]},
        }
        async with gate:
            created = await client.post(f"{url}/v1/publications", json=body, headers=headers)
            if created.status_code != 201:
                raise RuntimeError(f"create answered {created.status_code}: {created.text}")
            done = await client.post(
                f"{url}/v1/publications/{created.json()['id']}/publish", headers=headers
            )
            if done.status_code != 200:
                raise RuntimeError(f"publish answered {done.status_code}: {done.text}")

    await asyncio.gather(*(one(n) for n in range(count)))


async def loads_for(client: httpx.AsyncClient, url: str) -> dict[str, Load]:
    loads = {}
    for scenario in SCENARIOS:
        headers: tuple[str, ...] = ()
        first = await client.get(url + scenario.path)
        if first.status_code != 200:
            raise RuntimeError(f"{scenario.label} answered {first.status_code}: {first.text}")
        if scenario.conditional:
            etag = first.headers["etag"]
            again = await client.get(url + scenario.path, headers={"if-none-match": etag})
            if again.status_code != 304:
                raise RuntimeError(f"{scenario.label}: If-None-Match got {again.status_code}")
            headers = (f"If-None-Match: {etag}",)
        loads[scenario.key] = Load(url + scenario.path, headers=headers, metrics=f"{url}/metrics")
    return loads


async def measure(
    client: httpx.AsyncClient, loads: dict[str, Load], settings: Settings, rounds: int
) -> Runs:
    runs = Runs()
    labels = {s.key: s.label for s in SCENARIOS}
    order = [s.key for s in SCENARIOS]
    for key in order:
        await run_wrk(loads[key], settings, WARMUP_SECONDS)
    for number in range(1, rounds + 1):
        for key in order if number % 2 else list(reversed(order)):
            before = await answer_counts(client, loads[key].metrics)
            result = await run_wrk(loads[key], settings, settings.seconds)
            if result.non_2xx:
                result.answers = failed_answers(
                    before, await answer_counts(client, loads[key].metrics)
                )
            runs.results.setdefault(key, []).append(result)
            line = (
                f"  round {number}  {labels[key]:<38}{result.rps:>9,.0f} req/s"
                f"  p50 {result.p50_ms:>7.2f} ms  p99 {result.p99_ms:>8.2f} ms"
            )
            if result.failures:
                runs.problems.append(f"{labels[key]} round {number}: {result.failure_text()}")
                line += f"  !! {result.failure_text()}"
            print(line, flush=True)
    return runs


def report(runs: Runs) -> None:
    ceiling = runs.median_rps("healthz")
    print()
    print(f"{'scenario':<40}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'× healthz':>11}  target")
    for scenario in SCENARIOS:
        rps = runs.median_rps(scenario.key)
        ratio = rps / ceiling if ceiling else 0.0
        verdict = ""
        if scenario.target is not None:
            status = "OK" if ratio >= scenario.target else "BELOW"
            stretch = " (stretch met)" if scenario.stretch and ratio >= scenario.stretch else ""
            verdict = f"≥ {scenario.target:.1f}× {status}{stretch}"
        print(
            f"{scenario.label:<40}{rps:>9,.0f}{runs.median(scenario.key, 'p50_ms'):>9.2f}"
            f"{runs.median(scenario.key, 'p99_ms'):>9.2f}{ratio:>10.2f}×  {verdict}"
        )


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (-c)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (-t)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds (median shown)")
    parser.add_argument("--publications", type=int, default=200, help="publications seeded")
    parser.add_argument(
        "--only",
        choices=("list", "search"),
        help="only /healthz and this list (the other's queued work cannot slow it)",
    )
    args = parser.parse_args()
    if args.only:
        keep = {"healthz", args.only, f"{args.only}304"}
        global SCENARIOS
        SCENARIOS = tuple(s for s in SCENARIOS if s.key in keep)
    cancel_on_sigterm()
    wrk = ensure_wrk()
    settings = Settings(wrk, args.seconds, args.threads, args.connections, args.rounds)
    print("== disclosure public list: 200 and 304 beside /healthz")
    for line in machine(await postgres_version()):
        print(line)
    print(f"wrk        {wrk_version(wrk)} -t{args.threads} -c{args.connections} -d{args.seconds}s")
    print(f"seeded     {args.publications} published publications")
    async with (
        httpx.AsyncClient(timeout=30) as client,
        postgres_database() as database_url,
        service(
            "disclosure",
            {
                "GOVPERF_DISCLOSURE_DATABASE_URL": database_url,
                "GOVPERF_DISCLOSURE_LOG_LEVEL": "INFO",
                "GOVPERF_DISCLOSURE_PUBLIC_RATE_LIMIT": "100000000/minute",
            },
            client,
            stdout=asyncio.subprocess.DEVNULL,
        ) as url,
    ):
        await seed(client, url, args.publications)
        loads = await loads_for(client, url)
        runs = await measure(client, loads, settings, args.rounds)
    report(runs)
    if runs.problems:
        print("\n!! failed run:\n  " + "\n  ".join(runs.problems))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
