"""The request path: the indicator service beside a bare FastAPI app, loaded by wrk in one run.

    .venv/bin/python bench/request_path.py [--seconds N] [--connections C] [--threads T]
                                           [--rounds R] [--only postgresql|sqlite]

PostgreSQL: two fresh databases; the bare app (bench/bare_app.py: FastAPI + asyncpg, one
statement per request) under uvicorn and `python -m govperf serve indicator`, one worker each,
the service at its INFO access logs (stdout to /dev/null: writing the line is part of what a
request costs). ~200 departments are created through each app's API, then wrk
(`-tT -cC -dNs --latency`) loads bare `/ping`, read by id and INSERT, and govperf `/healthz`,
`GET /v1/departments/{id}`, `GET /v1/departments?limit=50` and `POST /v1/departments`. After a
1 s warm-up of each, R rounds run every scenario once, each govperf scenario next to its bare
one, the order reversed every other round so that both apps see the same machine; the table
shows the median of the rounds and the ratio govperf / bare against the targets.

SQLite: the service on a fresh SQLite file and the bare app on aiosqlite (one connection),
`POST` at C connections once each after a warm-up: p99, req/s, socket errors.

wrk gives up on a request after 2 s and counts it as a socket error (timeout), not in the
latencies: a p99 next to timeouts is a floor.

A measurement, not a test: a target BELOW is shown, not failed. It exits 1 only on a failed run:
a server that does not start or answer, or non-2xx answers or socket errors on either side.
wrk comes from Debian's packages and is installed (apt-get) when missing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from _common import (
    ROOT,
    asyncpg_dsn,
    cancel_on_sigterm,
    clean_env,
    die_with_parent,
    free_port,
    machine,
    postgres_database,
    postgres_version,
    server,
    service,
)

from services.common.auth import mint_token
from services.common.settings import DEVELOPMENT_JWT_SECRET

WRK_SCRIPTS = ROOT / "bench" / "wrk"
JURISDICTION = "231100"
SEED_DEPARTMENTS = 200
SEED_CONCURRENCY = 8
WARMUP_SECONDS = 1
WRK_TIMEOUT_SECONDS = 2
SERVICE_LOG_LEVEL = "INFO"
BARE_LOG_LEVEL = "warning"
SQLITE_P99_TARGET_MS = 100.0
CATEGORIES = ("economic", "social_services", "party_affairs", "law_enforcement")
# This machine's figures for the bare app (/work/shared/REFERENCES.md), to tell noise from change.
KNOWN_BARE = "/ping 10,200-11,200 req/s, read 3,030-3,100, INSERT 2,990-3,200, SQLite p99 22-26 ms"


# --- wrk ------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    """wrk's path, installing Debian's package first when it is missing."""
    if found := shutil.which("wrk"):
        return found
    command = "apt-get update && apt-get install -y wrk"
    print(f"wrk not found: installing it with `{command}`")
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(command, shell=True, env=env, capture_output=True, text=True)
    if done.returncode != 0 or not (found := shutil.which("wrk")):
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise SystemExit(
            f"!! could not install wrk (`{command}` exited {done.returncode}); install Debian's"
            f" `wrk` package by hand and run again\n{tail}"
        )
    return found


def wrk_version(wrk: str) -> str:
    # `wrk -v` prints its version before the usage text and exits 1.
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True)
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0] if first else "?"


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: dict[str, int] = field(default_factory=dict)
    answers: str = ""  # what the non-2xx were, when the server counts its answers

    @property
    def failures(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    def failure_text(self) -> str:
        errors = ", ".join(f"{k} {v}" for k, v in self.socket_errors.items() if v)
        answers = f": {self.answers}" if self.answers else ""
        parts = [f"{self.non_2xx} non-2xx{answers}"] if self.non_2xx else []
        return "; ".join([*parts, *([f"socket errors: {errors}"] if errors else [])])


TIME_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_wrk(output: str) -> WrkResult:
    """The figures of wrk's `--latency` report."""

    def latency(percent: int) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M)
        if not found:
            raise ValueError(f"no {percent}% latency in wrk's output:\n{output}")
        return float(found[1]) * TIME_UNITS_MS[found[2]]

    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    requests = re.search(r"^\s*(\d+) requests in ", output, re.M)
    if not rps or not requests:
        raise ValueError(f"no request rate in wrk's output:\n{output}")
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    kinds = ("connect", "read", "write", "timeout")
    return WrkResult(
        rps=float(rps[1]),
        p50_ms=latency(50),
        p99_ms=latency(99),
        requests=int(requests[1]),
        non_2xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors={k: int(sockets[i]) if sockets else 0 for i, k in enumerate(kinds, 1)},
    )


@dataclass(frozen=True)
class Load:
    """One wrk load: a URL, its headers and optional Lua script with its arguments.

    `creates` loads (create_department.lua) get a new code prefix for every run instead.
    """

    url: str
    headers: tuple[str, ...] = ()
    script: str | None = None
    script_args: tuple[str, ...] = ()
    creates: bool = False
    metrics: str | None = None  # the server's Prometheus /metrics: what its non-2xx answers were


@dataclass(frozen=True)
class Settings:
    wrk: str
    seconds: int
    threads: int
    connections: int
    rounds: int


RUN_NUMBERS = itertools.count(1)


async def run_wrk(load: Load, settings: Settings, seconds: int) -> WrkResult:
    script_args = (f"R{next(RUN_NUMBERS)}",) if load.creates else load.script_args
    argv = [
        settings.wrk,
        f"-t{settings.threads}",
        f"-c{settings.connections}",
        f"-d{seconds}s",
        f"--timeout={WRK_TIMEOUT_SECONDS}s",
        "--latency",
    ]
    for header in load.headers:
        argv += ["-H", header]
    if load.script:
        argv += ["-s", str(WRK_SCRIPTS / load.script)]
    argv.append(load.url)
    if script_args:
        argv += ["--", *script_args]
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=die_with_parent,
    )
    try:
        out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"wrk exited with {process.returncode}: {err.decode().strip()}")
    return parse_wrk(out.decode())


# --- the two apps ---------------------------------------------------------------------------


def bare_app(database_url: str, client: httpx.AsyncClient) -> AbstractAsyncContextManager[str]:
    """bench/bare_app.py under uvicorn, one worker, no access log."""
    port = free_port()
    argv = [
        *(sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", "bench"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
        *("--log-level", BARE_LOG_LEVEL, "--no-access-log"),
    ]
    env = clean_env({"BARE_DATABASE_URL": database_url})
    url = f"http://127.0.0.1:{port}"
    return server(
        "bare app", argv, env, url, client, ready_path="/ping", stdout=asyncio.subprocess.DEVNULL
    )


def indicator(database_url: str, client: httpx.AsyncClient) -> AbstractAsyncContextManager[str]:
    """`govperf serve indicator` at its INFO access logs, stdout to /dev/null."""
    settings = {
        "GOVPERF_INDICATOR_DATABASE_URL": database_url,
        "GOVPERF_INDICATOR_LOG_LEVEL": SERVICE_LOG_LEVEL,
    }
    return service("indicator", settings, client, stdout=asyncio.subprocess.DEVNULL)


def department_body(n: int) -> dict[str, object]:
    return {
        "jurisdiction_code": JURISDICTION,
        "code": f"SEED-{n:04d}",
        "name_zh": f"黑河市基准部门{n}",
        "name_en": f"Bench department {n}",
        "category": CATEGORIES[n % len(CATEGORIES)],
    }


async def seed(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], ids_file: Path
) -> None:
    """Create the seed departments through the app's API; their ids go to `ids_file`."""
    gate = asyncio.Semaphore(SEED_CONCURRENCY)

    async def create(n: int) -> str:
        async with gate:
            response = await client.post(url, json=department_body(n), headers=headers)
        if response.status_code != 201:
            raise RuntimeError(f"POST {url} answered {response.status_code}: {response.text}")
        return response.json()["id"]

    ids = await asyncio.gather(*(create(n) for n in range(SEED_DEPARTMENTS)))
    await asyncio.to_thread(ids_file.write_text, "\n".join(ids) + "\n")


async def probe(client: httpx.AsyncClient, name: str, load: Load) -> None:
    """One request like the load's, so that a broken route fails clearly before wrk runs."""
    headers = dict(h.split(": ", 1) for h in load.headers)
    if load.creates:
        body = department_body(0) | {"code": "PROBE"}
        response = await client.post(load.url, json=body, headers=headers)
    elif load.script == "read_by_id.lua":
        ids_file, prefix = load.script_args
        first = (await asyncio.to_thread(Path(ids_file).read_text)).split()[0]
        response = await client.get(load.url.rstrip("/") + prefix + first, headers=headers)
    else:
        response = await client.get(load.url, headers=headers)
    if not response.is_success:
        raise RuntimeError(f"{name} answered {response.status_code}: {response.text[:300]}")


REQUESTS_METRIC = "govperf_http_requests_total{"
METRIC_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_answer_counts(text: str) -> Counter[str]:
    """`status method route` -> count, from the service's Prometheus text."""
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if line.startswith(REQUESTS_METRIC):
            labels, _, value = line[len(REQUESTS_METRIC) :].rpartition("} ")
            label = dict(METRIC_LABEL.findall(labels))
            key = f"{label.get('status')} {label.get('method')} {label.get('route')}"
            counts[key] += int(float(value))
    return counts


async def answer_counts(client: httpx.AsyncClient, metrics: str | None) -> Counter[str]:
    """The service's own count of its answers (see parse_answer_counts); empty if unreadable."""
    if metrics is None:
        return Counter()
    try:
        response = await client.get(metrics)
    except httpx.HTTPError:
        return Counter()
    return parse_answer_counts(response.text) if response.is_success else Counter()


def failed_answers(before: Counter[str], after: Counter[str]) -> str:
    """`503 x 12 (GET /v1/...)` for each non-2xx answer counted between the two snapshots."""
    grown = after - before
    return ", ".join(
        f"{key.split(' ', 1)[0]} x {n} ({key.split(' ', 1)[1]})"
        for key, n in sorted(grown.items())
        if not key.startswith("2")
    )


# --- scenarios and rounds -------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """A govperf scenario and the bare one it is judged against."""

    scenario: str
    govperf: str
    bare: str
    target: float
    stretch: float


POSTGRES_PAIRS = (
    Pair("GET /healthz", "healthz", "ping", 0.8, 0.9),
    Pair("GET /v1/departments/{id}", "get", "read", 0.5, 0.7),
    Pair("GET /v1/departments?limit=50", "list", "read", 0.25, 0.4),
    Pair("POST /v1/departments", "post", "insert", 0.35, 0.5),
)
BARE_NAMES = {"ping": "GET /ping", "read": "read by id", "insert": "INSERT"}
LABELS = {
    "ping": "bare    GET /ping",
    "read": "bare    GET /departments/{id}",
    "insert": "bare    POST /departments",
    "healthz": "govperf GET /healthz",
    "get": "govperf GET /v1/departments/{id}",
    "list": "govperf GET /v1/departments?limit=50",
    "post": "govperf POST /v1/departments",
}


@dataclass
class Section:
    """What one backend measured: every run of every scenario, and what went wrong."""

    backend: str
    runs: dict[str, list[WrkResult]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def median(self, key: str) -> dict[str, float | int]:
        results = self.runs.get(key, [])
        if not results:
            return {}
        return {
            "rps": statistics.median(r.rps for r in results),
            "p50_ms": statistics.median(r.p50_ms for r in results),
            "p99_ms": statistics.median(r.p99_ms for r in results),
            "requests": sum(r.requests for r in results),
            "non_2xx": sum(r.non_2xx for r in results),
            "socket_errors": sum(sum(r.socket_errors.values()) for r in results),
        }


async def measure(
    client: httpx.AsyncClient,
    section: Section,
    loads: dict[str, Load],
    order: Sequence[str],
    settings: Settings,
    rounds: int,
) -> None:
    """A warm-up of every load, then `rounds` rounds in `order`, reversed every other round."""
    for key in order:
        await run_wrk(loads[key], settings, WARMUP_SECONDS)
    for number in range(1, rounds + 1):
        for key in order if number % 2 else reversed(order):
            before = await answer_counts(client, loads[key].metrics)
            result = await run_wrk(loads[key], settings, settings.seconds)
            if result.non_2xx:
                after = await answer_counts(client, loads[key].metrics)
                result.answers = failed_answers(before, after)
            section.runs.setdefault(key, []).append(result)
            line = (
                f"  round {number}  {LABELS[key]:<38}{result.rps:>9,.0f} req/s"
                f"  p50 {result.p50_ms:>7.2f} ms  p99 {result.p99_ms:>8.2f} ms"
            )
            if result.failures:
                problem = f"{LABELS[key]} round {number}: {result.failure_text()}"
                section.problems.append(problem)
                line += f"  !! {result.failure_text()}"
            print(line)


def auth_headers() -> tuple[dict[str, str], tuple[str, ...]]:
    token = mint_token(DEVELOPMENT_JWT_SECRET, role="admin", jurisdictions=[JURISDICTION])
    return {"authorization": f"Bearer {token}"}, (f"Authorization: Bearer {token}",)


@asynccontextmanager
async def sqlite_files() -> AsyncIterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="govperf-bench-") as tmp:
        yield f"sqlite:///{tmp}/bare.db", f"sqlite+aiosqlite:///{tmp}/indicator.db"


async def run_postgres(settings: Settings, section: Section, tmp: Path) -> None:
    headers, wrk_headers = auth_headers()
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=10, trust_env=False))
        bare_db = await stack.enter_async_context(postgres_database())
        govperf_db = await stack.enter_async_context(postgres_database())
        bare = await stack.enter_async_context(bare_app(asyncpg_dsn(bare_db), client))
        govperf = await stack.enter_async_context(indicator(govperf_db, client))
        print(f"\n== PostgreSQL: bare app {bare}, indicator service {govperf}")
        bare_ids, govperf_ids = tmp / "bare-ids.txt", tmp / "govperf-ids.txt"
        await seed(client, f"{bare}/departments", {}, bare_ids)
        await seed(client, f"{govperf}/v1/departments", headers, govperf_ids)
        print(f"  {SEED_DEPARTMENTS} departments created through each app's API")
        loads = {
            "ping": Load(f"{bare}/ping"),
            "read": Load(bare, (), "read_by_id.lua", (str(bare_ids), "/departments/")),
            "insert": Load(f"{bare}/departments", (), "create_department.lua", creates=True),
            "healthz": Load(f"{govperf}/healthz", metrics=f"{govperf}/metrics"),
            "get": Load(
                govperf,
                wrk_headers,
                "read_by_id.lua",
                (str(govperf_ids), "/v1/departments/"),
                metrics=f"{govperf}/metrics",
            ),
            "list": Load(
                f"{govperf}/v1/departments?limit=50", wrk_headers, metrics=f"{govperf}/metrics"
            ),
            "post": Load(
                f"{govperf}/v1/departments",
                wrk_headers,
                "create_department.lua",
                creates=True,
                metrics=f"{govperf}/metrics",
            ),
        }
        for key, load in loads.items():
            await probe(client, LABELS[key], load)
        order = ("ping", "healthz", "read", "get", "list", "insert", "post")
        await measure(client, section, loads, order, settings, settings.rounds)


async def run_sqlite(settings: Settings, section: Section) -> None:
    _, wrk_headers = auth_headers()
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=10, trust_env=False))
        bare_db, govperf_db = await stack.enter_async_context(sqlite_files())
        bare = await stack.enter_async_context(bare_app(bare_db, client))
        govperf = await stack.enter_async_context(indicator(govperf_db, client))
        print(f"\n== SQLite: bare app {bare} (aiosqlite, one connection), indicator {govperf}")
        loads = {
            "insert": Load(f"{bare}/departments", (), "create_department.lua", creates=True),
            "post": Load(
                f"{govperf}/v1/departments",
                wrk_headers,
                "create_department.lua",
                creates=True,
                metrics=f"{govperf}/metrics",
            ),
        }
        for key, load in loads.items():
            await probe(client, LABELS[key], load)
        # One run each: the target is govperf's own p99, the bare figure is shown beside it.
        await measure(client, section, loads, ("insert", "post"), settings, 1)


# --- the report -----------------------------------------------------------------------------


def verdict(ratio: float, bar: float) -> str:
    return f"{bar:.2f} {'OK' if ratio >= bar else 'BELOW'}"


def report(
    sections: list[Section], settings: Settings, meta: dict[str, object]
) -> list[dict[str, object]]:
    """Print the table and the SQLite line; the JSON rows to print after them."""
    rows: list[dict[str, object]] = []
    for section in sections:
        if section.backend == "postgresql" and section.runs:
            print(
                f"\n== PostgreSQL, median of {settings.rounds} round(s), one uvicorn worker"
                f" each, wrk -t{settings.threads} -c{settings.connections}"
                f" -d{settings.seconds}s"
            )
            print(
                f"{'scenario':<30}{'bare':<12}{'bare req/s':>11}{'govperf req/s':>15}"
                f"{'ratio':>7}  {'target':<11}{'stretch':<11}{'bare p99':>10}{'govperf p99':>13}"
            )
            for pair in POSTGRES_PAIRS:
                bare, govperf = section.median(pair.bare), section.median(pair.govperf)
                if not bare or not govperf:
                    continue
                ratio = govperf["rps"] / bare["rps"] if bare["rps"] else 0.0
                print(
                    f"{pair.scenario:<30}{BARE_NAMES[pair.bare]:<12}{bare['rps']:>11,.0f}"
                    f"{govperf['rps']:>15,.0f}{ratio:>7.2f}  {verdict(ratio, pair.target):<11}"
                    f"{verdict(ratio, pair.stretch):<11}{bare['p99_ms']:>7.1f} ms"
                    f"{govperf['p99_ms']:>10.1f} ms"
                )
                rows.append(
                    {
                        "backend": "postgresql",
                        "scenario": pair.scenario,
                        "baseline": f"bare {BARE_NAMES[pair.bare]}",
                        "bare_rps": bare["rps"],
                        "govperf_rps": govperf["rps"],
                        "ratio": ratio,
                        "target": pair.target,
                        "stretch": pair.stretch,
                        "meets_target": ratio >= pair.target,
                        "meets_stretch": ratio >= pair.stretch,
                        "bare": bare,
                        "govperf": govperf,
                        "round_ratios": [
                            g.rps / b.rps if b.rps else 0.0
                            # a run that failed mid-round leaves one side a round short
                            for g, b in zip(
                                section.runs[pair.govperf], section.runs[pair.bare], strict=False
                            )
                        ],
                        "govperf_rounds": [asdict(r) for r in section.runs[pair.govperf]],
                        "bare_rounds": [asdict(r) for r in section.runs[pair.bare]],
                        **meta,
                    }
                )
        if section.backend == "sqlite" and "post" in section.runs and "insert" in section.runs:
            bare, govperf = section.median("insert"), section.median("post")
            met = govperf["p99_ms"] <= SQLITE_P99_TARGET_MS and not govperf["socket_errors"]
            print(
                f"\n== SQLite POST /v1/departments at {settings.connections} connections:"
                f" p99 {govperf['p99_ms']:,.1f} ms (target <= {SQLITE_P99_TARGET_MS:.0f} ms,"
                f" no socket errors) {'OK' if met else 'BELOW'};"
                f" {govperf['rps']:,.0f} req/s, {govperf['socket_errors']} socket errors,"
                f" {govperf['non_2xx']} non-2xx"
            )
            print(
                f"   bare SQLite INSERT: p99 {bare['p99_ms']:,.1f} ms, {bare['rps']:,.0f} req/s,"
                f" {bare['socket_errors']} socket errors, {bare['non_2xx']} non-2xx"
            )
            rows.append(
                {
                    "backend": "sqlite",
                    "scenario": "POST /v1/departments",
                    "baseline": "bare INSERT (aiosqlite, one connection)",
                    "bare_rps": bare["rps"],
                    "govperf_rps": govperf["rps"],
                    "ratio": govperf["rps"] / bare["rps"] if bare["rps"] else 0.0,
                    "govperf_p99_ms": govperf["p99_ms"],
                    "bare_p99_ms": bare["p99_ms"],
                    "target_p99_ms": SQLITE_P99_TARGET_MS,
                    "meets_target": met,
                    "bare": bare,
                    "govperf": govperf,
                    **meta,
                }
            )
    if rows:
        print(f"   bare app on a quiet machine of this kind: {KNOWN_BARE}")
    return rows


def rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per run")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (-c)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (-t)")
    parser.add_argument("--rounds", type=int, default=2, help="PostgreSQL rounds (median shown)")
    parser.add_argument("--only", choices=("postgresql", "sqlite"), help="one backend only")
    args = parser.parse_args()
    if min(args.seconds, args.connections, args.threads, args.rounds) < 1:
        parser.error("--seconds, --connections, --threads and --rounds must be at least 1")
    if args.connections < args.threads:
        parser.error("--connections must be at least --threads (wrk's rule)")
    sys.stdout.reconfigure(line_buffering=True)
    cancel_on_sigterm()

    wrk = ensure_wrk()
    backends = [args.only] if args.only else ["postgresql", "sqlite"]
    settings = Settings(wrk, args.seconds, args.threads, args.connections, args.rounds)
    pg_version = await postgres_version() if "postgresql" in backends else None
    print("\n".join(machine(pg_version)))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"wrk        {wrk_version(wrk)}")
    print(f"load avg   {load} (1, 5, 15 min) at start")
    runs = {"postgresql": f"{args.rounds} PostgreSQL round(s)", "sqlite": "1 SQLite run"}
    print(
        f"settings   wrk -t{args.threads} -c{args.connections} -d{args.seconds}s"
        f" --timeout={WRK_TIMEOUT_SECONDS}s --latency; {WARMUP_SECONDS} s warm-up per scenario;"
        f" {', '.join(runs[b] for b in backends)}"
    )
    print(
        f"servers    one uvicorn worker each; govperf log level {SERVICE_LOG_LEVEL} (access log"
        f" on, stdout to /dev/null); bare app log level {BARE_LOG_LEVEL}, no access log"
    )

    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="govperf-bench-") as tmp:
        for backend in backends:
            section = Section(backend)
            sections.append(section)
            try:
                if backend == "postgresql":
                    await run_postgres(settings, section, Path(tmp))
                else:
                    await run_sqlite(settings, section)
            except Exception as exc:
                section.problems.append(f"{backend} failed: {type(exc).__name__}: {exc}")
                print(f"!! {section.problems[-1]}")

    meta = {
        "seconds": args.seconds,
        "threads": args.threads,
        "connections": args.connections,
        "workers": 1,
    }
    rows = report(sections, settings, meta)
    print()
    for row in rows:
        print(json.dumps(rounded(row), ensure_ascii=False))
    problems = [p for s in sections for p in s.problems]
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
