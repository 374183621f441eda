"""The evaluation service: citizen rating intake, one response and batches, and scoring a cycle.

    .venv/bin/python bench/evaluation.py [--only intake|batch|scoring] [--seconds N]
                                         [--rounds R] [--ratings N] [--batch-clients C]
                                         [--batch-replicas P]

Each section starts `python -m govperf serve indicator` and `... evaluation` (one uvicorn
worker each, INFO access logs to /dev/null) on a fresh PostgreSQL database each, the two
knowing each other's URL, and sets up through their APIs an open cycle of 300 departments:
a published indicator system of 100 leaves (ratio, linear_interval, threshold_bands and
deduction rules, a bonus and a veto), a published questionnaire of 5 Likert items over 2
dimensions, and evaluator groups objective 50 / expert 20 / citizen 30.

1. intake: wrk (`-t2 -c32`, bench/wrk/submit_rating.lua: a new response_id and device for
   every request) against `POST /v1/ratings`, beside the bare app's `POST /departments`
   (bench/bare_app.py: FastAPI + one asyncpg INSERT), with bench/request_path.py's rounds:
   a warm-up each, R rounds alternating the order, medians, ratio against the targets.
2. batch: C concurrent aiohttp clients in a process of their own (the bodies made before the
   clock starts, so the load generator takes as little of the machine as it can) post
   batches of 500 distinct responses to `POST /v1/ratings/batch` for N seconds; every item
   must come back accepted, and the database must hold them all. Measured twice on one
   database: against one evaluation process, and against as many replicas of it as the
   machine has cores (`--batch-replicas`), the clients shared between them round-robin, as
   a load balancer in front of a service scaled out would (each replica has its own group
   commit; limits in memory are per replica, in Redis shared).
3. scoring: scorecards through the API (3 experts per department), a verified value for
   every department × leaf (imported through the indicator's bulk import; marked verified
   in its database directly, as seeding: 30,000 verifications one by one are not what is
   measured), N citizen ratings written straight into `ratings` (with their dimension sums)
   with asyncpg's COPY (seeding, then VACUUM ANALYZE as autovacuum would), then the cycle closed
   (timed: closing runs the rating quality checks, once, since no rating arrives after). Then
   `POST /v1/cycles/{id}/score` is timed end to end from this process, and scored again (a
   preliminary cycle may be re-scored). The results code records no timings of its own, so
   the split between loading and computing is measured by running the service's own
   functions in this process against the same databases, in a transaction rolled back:
   the quality checks, `results.inputs.load` (the database's sums and the indicator's
   export of verified values) and the engine's `score_cycle`, each with its seconds in SQL,
   in HTTP and in Python, and the slowest statements and requests.

CPU seconds of each measured phase are shown per process (the server under load,
PostgreSQL) and for the rest of the machine ("other": the load generator, other work on
the machine), so a busy machine shows in the figures.

A measurement, not a test: targets are shown (OK/BELOW), never asserted. It exits 1 only on
a failed run: a server that does not start, non-2xx answers, items not accepted.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import orjson
from _common import (
    asyncpg_dsn,
    cancel_on_sigterm,
    free_port,
    machine,
    postgres_database,
    postgres_version,
    service,
)
from events import cpu_snapshot, percentiles
from imports import body as import_body
from imports import run_import
from request_path import (
    LABELS,
    SERVICE_LOG_LEVEL,
    WARMUP_SECONDS,
    Load,
    Section,
    Settings,
    bare_app,
    ensure_wrk,
    measure,
    probe,
    rounded,
    verdict,
    wrk_version,
)
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from services.common.auth import Principal, mint_token
from services.common.db import make_engine
from services.common.settings import DEVELOPMENT_JWT_SECRET
from services.evaluation.engine import score_cycle
from services.evaluation.models import Cycle as CycleRow
from services.evaluation.ratings import quality as rating_quality
from services.evaluation.results import inputs as cycle_inputs

JURISDICTION = "231100"
CATEGORY = "social_services"
PERIOD = "2026"
DEPARTMENTS = 300
SEED_CONCURRENCY = 8
DIMENSIONS = 10  # of the indicator system, 10 leaves each
SCORED_RULES = ("ratio", "linear_interval", "threshold_bands", "deduction")
# The questionnaire; bench/wrk/submit_rating.lua answers the same items.
ITEMS = (("Q1", "service"), ("Q2", "service"), ("Q3", "service"))
ITEMS += (("Q4", "integrity"), ("Q5", "integrity"))
EXPERT_DIMENSIONS = ("efficiency", "service", "integrity")
EXPERTS_PER_DEPARTMENT = 3
EXPERTS = 30
GROUPS = {"objective": 50, "experts": 20, "citizens": 30}
APP_SUBJECT = "app:bench-citizens"
UNLIMITED = "100000000/minute"
BATCH_SIZE = 500

INTAKE_TARGET, INTAKE_STRETCH = 0.6, 0.8
BATCH_TARGET, BATCH_STRETCH = 20_000, 50_000
SCORING_TARGET_S, SCORING_STRETCH_S = 5.0, 2.0

LABELS["rating"] = "govperf POST /v1/ratings"  # request_path.measure prints by these keys


def token(role: str = "admin", subject: str | None = None) -> str:
    return mint_token(
        DEVELOPMENT_JWT_SECRET, role=role, subject=subject, jurisdictions=(JURISDICTION,)
    )


def bearer(role: str = "admin", subject: str | None = None) -> dict[str, str]:
    return {"authorization": f"Bearer {token(role, subject)}"}


def mark(ok: bool) -> str:
    return "OK" if ok else "BELOW"


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def expect(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    if response.status_code not in statuses:
        request = response.request
        raise RuntimeError(
            f"{request.method} {request.url.path} answered {response.status_code}:"
            f" {response.text[:400]}"
        )
    return response.json() if response.content else {}


# --- the two services -----------------------------------------------------------------------


@dataclass
class Stack:
    indicator: str
    evaluation: str
    indicator_db: str
    evaluation_db: str
    pids: dict[str, int]
    # Every evaluation process (the first is `evaluation`), by URL → pid.
    replicas: dict[str, int] = field(default_factory=dict)


@asynccontextmanager
async def services(client: httpx.AsyncClient, *, replicas: int = 1) -> AsyncIterator[Stack]:
    """Indicator and evaluation on fresh databases, each knowing the other's URL; the other
    siblings point at a port where nothing listens (their deliveries wait in the outbox).
    `replicas` evaluation processes on one database, the first of them the siblings'."""
    async with AsyncExitStack() as stack:
        indicator_db = await stack.enter_async_context(postgres_database())
        evaluation_db = await stack.enter_async_context(postgres_database())
        ports = {"indicator": free_port(), "evaluation": free_port()}
        nowhere = f"http://127.0.0.1:{free_port()}"
        common = {
            "GOVPERF_INDICATOR_URL": f"http://127.0.0.1:{ports['indicator']}",
            "GOVPERF_EVALUATION_URL": f"http://127.0.0.1:{ports['evaluation']}",
            "GOVPERF_DISCLOSURE_URL": nowhere,
            "GOVPERF_FEEDBACK_URL": nowhere,
        }
        processes: list[asyncio.subprocess.Process] = []
        urls = {}
        for name, database, extra in (
            ("indicator", indicator_db, {}),
            (
                "evaluation",
                evaluation_db,
                {
                    "GOVPERF_EVALUATION_RATING_LIMIT_PER_CLIENT": UNLIMITED,
                    "GOVPERF_EVALUATION_RATING_LIMIT_PER_DEVICE": UNLIMITED,
                },
            ),
        ):
            settings = common | extra
            settings[f"GOVPERF_{name.upper()}_DATABASE_URL"] = database
            settings[f"GOVPERF_{name.upper()}_LOG_LEVEL"] = SERVICE_LOG_LEVEL
            urls[name] = await stack.enter_async_context(
                service(
                    name,
                    settings,
                    client,
                    port=ports[name],
                    stdout=asyncio.subprocess.DEVNULL,
                    on_start=processes,
                )
            )
        running = {urls["evaluation"]: processes[1].pid}
        for _ in range(replicas - 1):  # started once the first has migrated the database
            started: list[asyncio.subprocess.Process] = []
            url = await stack.enter_async_context(
                service(
                    "evaluation",
                    settings,
                    client,
                    port=free_port(),
                    stdout=asyncio.subprocess.DEVNULL,
                    on_start=started,
                )
            )
            running[url] = started[0].pid
        yield Stack(
            indicator=urls["indicator"],
            evaluation=urls["evaluation"],
            indicator_db=indicator_db,
            evaluation_db=evaluation_db,
            pids={"indicator": processes[0].pid, "evaluation": processes[1].pid},
            replicas=running,
        )


# --- an open cycle, set up through the APIs -------------------------------------------------


def leaf(code: str, rule: str, weight: float) -> dict[str, Any]:
    """A yearly leaf indicator scored by `rule`."""
    node: dict[str, Any] = {
        "code": code,
        "name_zh": f"指标 {code}",
        "weight": weight,
        "frequency": "annual",
    }
    if rule == "ratio":
        node |= {"target": 100, "rule": {"method": "ratio", "ceiling": 1.2}}
    elif rule == "linear_interval":
        node |= {"rule": {"method": "linear_interval", "best": 100, "worst": 60, "floor": 0.2}}
    elif rule == "threshold_bands":
        bands = [
            {"max": 60, "points": 0.4},
            {"min": 60, "max": 80, "points": 0.7},
            {"min": 80, "points": 1.0},
        ]
        node |= {"rule": {"method": "threshold_bands", "bands": bands}}
    elif rule == "deduction":
        node |= {
            "unit": "起",
            "polarity": "lower",
            "rule": {"method": "deduction", "basis": "incident", "per_unit": 0.25},
        }
    elif rule == "bonus":
        node |= {"unit": "项", "rule": {"method": "bonus", "per_unit": 0.5, "cap": 3}}
    elif rule == "veto":
        node |= {
            "unit": "起",
            "polarity": "lower",
            "rule": {
                "method": "veto",
                "operator": ">=",
                "threshold": 1,
                "grade_cap": "pass",
                "reason": "发生重大安全责任事故",
            },
        }
    return node


def leaf_rules() -> dict[str, str]:
    """Leaf code → rule: ten dimensions of ten leaves; the last leaf of the last two
    dimensions is the bonus and the veto (weight 0: outside the base 100)."""
    rules = {}
    for d in range(DIMENSIONS):
        for i in range(10):
            rules[f"D{d}.{i}"] = SCORED_RULES[(d * 10 + i) % len(SCORED_RULES)]
    rules[f"D{DIMENSIONS - 2}.9"] = "bonus"
    rules[f"D{DIMENSIONS - 1}.9"] = "veto"
    return rules


def system_body() -> dict[str, Any]:
    rules = leaf_rules()
    nodes = []
    for d in range(DIMENSIONS):
        codes = [f"D{d}.{i}" for i in range(10)]
        scored = [c for c in codes if rules[c] not in ("bonus", "veto")]
        # Ten points a dimension: one each, the first leaf takes what an unscored one leaves.
        weights = {c: 1.0 for c in scored}
        weights[scored[0]] += 10 - len(scored)
        children = [leaf(c, rules[c], weights.get(c, 0)) for c in codes]
        nodes.append({"code": f"D{d}", "name_zh": f"维度 {d}", "weight": 10, "children": children})
    return {
        "jurisdiction_code": JURISDICTION,
        "year": int(PERIOD),
        "category": CATEGORY,
        "name": "基准考核指标体系",
        "nodes": nodes,
    }


def questionnaire_body() -> dict[str, Any]:
    return {
        "jurisdiction_code": JURISDICTION,
        "code": "bench-citizens",
        "title_zh": "群众满意度调查",
        "scale_min": 1,
        "scale_max": 5,
        "top_box": 3,
        "allow_dont_know": True,
        "free_text_max": 500,
        "dimensions": [
            {"code": "service", "name_zh": "服务态度"},
            {"code": "integrity", "name_zh": "廉洁自律"},
        ],
        "items": [{"code": c, "dimension": d, "text_zh": f"问题 {c}"} for c, d in ITEMS],
    }


@dataclass
class Cycle:
    id: str
    questionnaire_id: str
    citizen_group_id: str
    expert_group_id: str
    departments: list[tuple[str, str]]  # (id, code)


async def gather_limited(calls: list[Any], limit: int = SEED_CONCURRENCY) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(call: Any) -> Any:
        async with gate:
            return await call

    return await asyncio.gather(*(one(c) for c in calls))


async def post(
    client: httpx.AsyncClient,
    url: str,
    body: dict[str, Any] | None = None,
    *,
    status: int = 201,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POST `body` (as the office, unless `headers`); the answer, which must be `status`."""
    return expect(await client.post(url, json=body, headers=headers or bearer()), status)


async def open_cycle(client: httpx.AsyncClient, stack: Stack) -> Cycle:
    """Departments and a published system in the indicator service; a questionnaire, a
    cycle with its three groups, opened, in the evaluation service."""
    indicator, evaluation = stack.indicator, stack.evaluation

    async def department(n: int) -> tuple[str, str]:
        body = {
            "jurisdiction_code": JURISDICTION,
            "code": f"BENCH{n:03d}",
            "name_zh": f"基准部门 {n}",
            "category": CATEGORY,
        }
        created = await post(client, f"{indicator}/v1/departments", body)
        return created["id"], created["code"]

    departments = await gather_limited([department(n) for n in range(DEPARTMENTS)])
    system = await post(client, f"{indicator}/v1/indicator-systems", system_body())
    await post(client, f"{indicator}/v1/indicator-systems/{system['id']}/publish", status=200)
    questionnaire = await post(client, f"{evaluation}/v1/questionnaires", questionnaire_body())
    await post(client, f"{evaluation}/v1/questionnaires/{questionnaire['id']}/publish", status=200)
    cycle_body = {
        "jurisdiction_code": JURISDICTION,
        "code": "bench-2026",
        "name": "2026 年度基准考评",
        "period": PERIOD,
        "category": CATEGORY,
    }
    cycle = await post(client, f"{evaluation}/v1/cycles", cycle_body)
    experts = [{"code": c, "name_zh": c, "max_score": 100} for c in EXPERT_DIMENSIONS]
    groups = {}
    for group in (
        {"kind": "objective", "code": "objective", "name": "目标考核"},
        {"kind": "expert", "code": "experts", "name": "第三方专家评价", "dimensions": experts},
        {
            "kind": "citizen",
            "code": "citizens",
            "name": "社会评价",
            "min_sample": 30,
            "questionnaire_id": questionnaire["id"],
        },
    ):
        body = group | {"weight": GROUPS[group["code"]]}
        created = await post(client, f"{evaluation}/v1/cycles/{cycle['id']}/groups", body)
        groups[group["code"]] = created["id"]
    await post(client, f"{evaluation}/v1/cycles/{cycle['id']}/open", status=200)
    return Cycle(
        id=cycle["id"],
        questionnaire_id=questionnaire["id"],
        citizen_group_id=groups["citizens"],
        expert_group_id=groups["experts"],
        departments=departments,
    )


def rating_body(cycle: Cycle, rng: random.Random) -> dict[str, Any]:
    """One valid response from a new device (as bench/wrk/submit_rating.lua makes them)."""
    response_id = str(uuid.uuid4())
    return {
        "response_id": response_id,
        "cycle_id": cycle.id,
        "department_id": rng.choice(cycle.departments)[0],
        "questionnaire_id": cycle.questionnaire_id,
        "respondent": {"kind": "device", "token": f"bench-device-{response_id}"},
        "answers": {c: (None if rng.random() < 0.05 else rng.randint(2, 5)) for c, _ in ITEMS},
        "duration_seconds": rng.randint(45, 240),
    }


# --- CPU of a phase -------------------------------------------------------------------------


class CpuMeter:
    """CPU seconds spent between `start` and `stop` by the named processes, PostgreSQL and
    the rest of the machine."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.before: dict[str, float] = {}
        self.spent: dict[str, float] = {}

    def start(self) -> None:
        self.before = cpu_snapshot(self.pids)

    def stop(self) -> dict[str, float]:
        after = cpu_snapshot(self.pids)
        spent = {k: after[k] - self.before[k] for k in after}
        named = sum(spent[k] for k in (*self.pids, "postgresql"))
        spent["other"] = max(0.0, spent["machine_busy"] - named)
        self.spent = spent
        return spent

    def line(self, wall: float) -> str:
        s = self.spent
        cores = s["machine_total"] / wall if wall else 0
        named = ", ".join(f"{k} {s[k]:.1f}" for k in self.pids)
        return (
            f"cpu s: {named}, postgresql {s['postgresql']:.1f}, other {s['other']:.1f}"
            f" (machine {s['machine_busy']:.1f} busy of {s['machine_total']:.1f};"
            f" {cores:.0f} cores x {wall:.1f} s)"
        )


def bare_pid(url: str) -> int:
    """The pid of the bare app listening at `url` (request_path.bare_app does not say)."""
    wanted = ["bare_app:app", "--port", url.rsplit(":", 1)[1]]
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().decode().split("\0")
        except OSError:
            continue
        if entry.name.isdigit() and all(w in argv for w in wanted):
            return int(entry.name)
    return 0


# --- 1. intake, one response a request ------------------------------------------------------


async def run_intake(args: argparse.Namespace, problems: list[str]) -> dict[str, Any]:
    wrk = ensure_wrk()
    settings = Settings(wrk, args.seconds, 2, 32, args.rounds)
    section = Section("postgresql")
    async with AsyncExitStack() as exits:
        client = await exits.enter_async_context(httpx.AsyncClient(timeout=30, trust_env=False))
        bare_db = await exits.enter_async_context(postgres_database())
        bare = await exits.enter_async_context(bare_app(asyncpg_dsn(bare_db), client))
        stack = await exits.enter_async_context(services(client))
        print(f"\n== intake: bare app {bare}, evaluation {stack.evaluation}")
        cycle = await open_cycle(client, stack)
        print(f"  cycle open: {DEPARTMENTS} departments, 100 leaves, groups {GROUPS}")
        tmp = Path(exits.enter_context(tempfile.TemporaryDirectory(prefix="govperf-bench-")))
        ids_file = tmp / "departments.txt"
        ids_file.write_text("".join(f"{d}\n" for d, _ in cycle.departments))
        app_header = f"Authorization: Bearer {token('citizen_app', APP_SUBJECT)}"
        loads = {
            "insert": Load(f"{bare}/departments", (), "create_department.lua", creates=True),
            "rating": Load(
                f"{stack.evaluation}/v1/ratings",
                (app_header,),
                "submit_rating.lua",
                (str(ids_file), cycle.id, cycle.questionnaire_id),
                metrics=f"{stack.evaluation}/metrics",
            ),
        }
        await probe(client, LABELS["insert"], loads["insert"])
        app = bearer("citizen_app", APP_SUBJECT)
        await post(client, loads["rating"].url, rating_body(cycle, random.Random(1)), headers=app)
        meter = CpuMeter({"bare app": bare_pid(bare), "evaluation": stack.pids["evaluation"]})
        meter.start()
        started = time.monotonic()
        await measure(client, section, loads, ("insert", "rating"), settings, settings.rounds)
        meter.stop()
        print(f"  {meter.line(time.monotonic() - started)} (both apps' runs)")
        connection = await asyncpg.connect(asyncpg_dsn(stack.evaluation_db))
        try:
            stored = await connection.fetchval("SELECT count(*) FROM ratings")
        finally:
            await connection.close()
    problems.extend(section.problems)
    bare_m, rating_m = section.median("insert"), section.median("rating")
    if not bare_m or not rating_m:
        return {}
    ratio = rating_m["rps"] / bare_m["rps"] if bare_m["rps"] else 0.0
    print(
        f"\n== intake, median of {settings.rounds} round(s), one uvicorn worker each,"
        f" wrk -t{settings.threads} -c{settings.connections} -d{settings.seconds}s"
    )
    print(
        f"  {'scenario':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'ratio':>7}  {'target':<11}{'stretch':<11}"
    )
    print(
        f"  {'bare    POST /departments':<34}{bare_m['rps']:>9,.0f}{bare_m['p50_ms']:>9.2f}"
        f"{bare_m['p99_ms']:>9.2f}"
    )
    print(
        f"  {'govperf POST /v1/ratings':<34}{rating_m['rps']:>9,.0f}{rating_m['p50_ms']:>9.2f}"
        f"{rating_m['p99_ms']:>9.2f}{ratio:>7.2f}  {verdict(ratio, INTAKE_TARGET):<11}"
        f"{verdict(ratio, INTAKE_STRETCH):<11}"
    )
    print(f"  ratings stored: {stored:,} (every 2xx answer of the runs, the probe included)")
    return {
        "section": "intake",
        "scenario": "POST /v1/ratings",
        "baseline": "bare POST /departments (FastAPI + asyncpg INSERT)",
        "bare": bare_m,
        "govperf": rating_m,
        "ratio": ratio,
        "target": INTAKE_TARGET,
        "stretch": INTAKE_STRETCH,
        "meets_target": ratio >= INTAKE_TARGET,
        "meets_stretch": ratio >= INTAKE_STRETCH,
        "round_ratios": [
            g.rps / b.rps if b.rps else 0.0
            for g, b in zip(section.runs["rating"], section.runs["insert"], strict=False)
        ],
        "ratings_stored": stored,
        "cpu_s": meter.spent,
    }


# --- 2. intake, batches of 500 --------------------------------------------------------------


@dataclass(frozen=True)
class BatchJob:
    urls: tuple[str, ...]
    authorization: str
    cycle_id: str
    questionnaire_id: str
    departments: tuple[str, ...]
    clients: int
    seconds: float
    bodies: int


@dataclass
class BatchLoad:
    batches: int = 0
    elapsed: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    made_on_the_fly: int = 0
    cpu_s: float = 0.0


ITEM_TEMPLATE = (
    '{{"response_id":"{0}","cycle_id":"%s","department_id":"{1}","questionnaire_id":"%s",'
    '"respondent":{{"kind":"device","token":"bench-device-{0}"}},'
    '"answers":{{"Q1":{2},"Q2":{3},"Q3":{4},"Q4":{5},"Q5":{6}}},"duration_seconds":{7}}}'
)
ANSWERS = ("2", "3", "4", "5") * 5 + ("null",)


def batch_bodies(job: BatchJob, count: int, rng: random.Random) -> list[bytes]:
    """`count` bodies of 500 new responses each."""
    item = ITEM_TEMPLATE % (job.cycle_id, job.questionnaire_id)
    bodies = []
    for _ in range(count):
        items = ",".join(
            item.format(
                uuid.uuid4(),
                rng.choice(job.departments),
                *rng.choices(ANSWERS, k=5),
                rng.randint(45, 240),
            )
            for _ in range(BATCH_SIZE)
        )
        bodies.append(f'{{"ratings":[{items}]}}'.encode())
    return bodies


# The load generator's process keeps the bodies made for its next load here.
PREPARED: list[bytes] = []


def prepare_bodies(job: BatchJob) -> float:
    """In the load generator's own process: make `job.bodies` bodies (seconds taken)."""
    started = time.monotonic()
    PREPARED[:] = batch_bodies(job, job.bodies, random.Random())
    return time.monotonic() - started


def batch_load(job: BatchJob) -> BatchLoad:
    """In the load generator's own process: post batches for `job.seconds`, the prepared
    bodies first."""
    return asyncio.run(_batch_load(job))


async def _batch_load(job: BatchJob) -> BatchLoad:
    rng = random.Random()
    result = BatchLoad()
    cpu_started = time.process_time()
    headers = {"authorization": job.authorization, "content-type": "application/json"}
    # aiohttp: about half the client CPU of httpx a request, on a machine the servers share.
    connector = aiohttp.TCPConnector(limit=job.clients)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        deadline = time.monotonic() + job.seconds

        async def worker(url: str) -> None:
            while time.monotonic() < deadline:
                if PREPARED:
                    body = PREPARED.pop()
                else:
                    [body] = batch_bodies(job, 1, rng)
                    result.made_on_the_fly += 1
                sent = time.monotonic()
                async with client.post(url, data=body, headers=headers) as response:
                    content = await response.read()
                result.latencies_ms.append((time.monotonic() - sent) * 1000)
                result.statuses[response.status] += 1
                result.batches += 1
                if response.status == 200:
                    answer = orjson.loads(content)
                    for outcome in ("accepted", "duplicate", "conflict", "rejected"):
                        result.outcomes[outcome] += answer[outcome]
                    if answer["accepted"] < BATCH_SIZE:
                        for item in answer["results"]:
                            if item["status"] != "accepted":
                                result.outcomes[f"{item['status']} {item.get('code')}"] += 1

        started = time.monotonic()
        await asyncio.gather(*(worker(job.urls[i % len(job.urls)]) for i in range(job.clients)))
        result.elapsed = time.monotonic() - started
    result.cpu_s = time.process_time() - cpu_started
    PREPARED.clear()
    return result


async def run_batch(args: argparse.Namespace, problems: list[str]) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    async with AsyncExitStack() as exits:
        client = await exits.enter_async_context(httpx.AsyncClient(timeout=60, trust_env=False))
        stack = await exits.enter_async_context(services(client, replicas=args.batch_replicas))
        print(f"\n== batch intake: evaluation {', '.join(stack.replicas)}")
        cycle = await open_cycle(client, stack)
        print(f"  cycle open: {DEPARTMENTS} departments")
        # One process, kept for every load: the bodies it prepares wait there for the load.
        pool = exits.enter_context(ProcessPoolExecutor(1, mp_context=get_context("spawn")))
        loop = asyncio.get_running_loop()
        accepted_in_all = 0
        for replicas in sorted({1, args.batch_replicas}):
            urls = tuple(stack.replicas)[:replicas]
            job = BatchJob(
                urls=tuple(f"{url}/v1/ratings/batch" for url in urls),
                authorization=f"Bearer {token('citizen_app', APP_SUBJECT)}",
                cycle_id=cycle.id,
                questionnaire_id=cycle.questionnaire_id,
                departments=tuple(d for d, _ in cycle.departments),
                clients=args.batch_clients,
                seconds=WARMUP_SECONDS,
                bodies=0,
            )
            warm = await loop.run_in_executor(pool, batch_load, job)
            # Enough bodies for the stretch rate and a half, made before the clock starts.
            bodies = math.ceil(BATCH_STRETCH * 1.5 * args.seconds / BATCH_SIZE)
            job = dataclasses.replace(job, seconds=float(args.seconds), bodies=bodies)
            prepare_s = await loop.run_in_executor(pool, prepare_bodies, job)
            meter = CpuMeter(
                {
                    "evaluation" if n == 0 else f"evaluation {n + 1}": stack.replicas[url]
                    for n, url in enumerate(urls)
                }
            )
            meter.start()
            load = await loop.run_in_executor(pool, batch_load, job)
            meter.stop()
            accepted_in_all += warm.outcomes["accepted"] + load.outcomes["accepted"]
            runs.append(report_batch(args, replicas, warm, load, prepare_s, job, meter, problems))
        connection = await asyncpg.connect(asyncpg_dsn(stack.evaluation_db))
        try:
            stored = await connection.fetchval(
                "SELECT count(*) FROM ratings WHERE cycle_id = $1", uuid.UUID(cycle.id)
            )
        finally:
            await connection.close()
    print(f"\n  {stored:,} ratings stored, {accepted_in_all:,} accepted")
    if stored != accepted_in_all:
        problems.append(
            f"batch: the database holds {stored:,} ratings, {accepted_in_all:,} accepted"
        )
    best = max(runs, key=lambda run: run["responses_per_s"])
    return {
        "section": "batch",
        "scenario": "POST /v1/ratings/batch",
        "clients": args.batch_clients,
        "batch_size": BATCH_SIZE,
        "runs": runs,
        "ratings_stored": stored,
        "target": BATCH_TARGET,
        "stretch": BATCH_STRETCH,
        "meets_target": best["meets_target"],
        "meets_stretch": best["meets_stretch"],
    }


def report_batch(
    args: argparse.Namespace,
    replicas: int,
    warm: BatchLoad,
    load: BatchLoad,
    prepare_s: float,
    job: BatchJob,
    meter: CpuMeter,
    problems: list[str],
) -> dict[str, Any]:
    accepted = load.outcomes["accepted"]
    items = load.batches * BATCH_SIZE
    rate = accepted / load.elapsed if load.elapsed else 0.0
    latency = percentiles(load.latencies_ms)
    failed = [f"{n} x HTTP {s}" for s, n in sorted(load.statuses.items()) if s != 200]
    failed += [f"{n} items {k}" for k, n in sorted(load.outcomes.items()) if " " in k]
    if warm.outcomes["accepted"] != warm.batches * BATCH_SIZE or set(warm.statuses) - {200}:
        failed.append(f"warm-up: answers {dict(warm.statuses)}, items {dict(warm.outcomes)}")
    problems.extend(f"batch: {f}" for f in failed)
    processes = "1 evaluation process" if replicas == 1 else f"{replicas} evaluation replicas"
    print(
        f"\n== batch intake, {processes}: {args.batch_clients} clients x batches of"
        f" {BATCH_SIZE}, {load.elapsed:.1f} s"
    )
    print(
        f"  {load.batches:,} batches, {accepted:,} of {items:,} items accepted;"
        f" answers {dict(load.statuses)}"
    )
    print(
        f"  {rate:>9,.0f} responses/s   target {BATCH_TARGET:,} {mark(rate >= BATCH_TARGET)}"
        f"   stretch {BATCH_STRETCH:,} {mark(rate >= BATCH_STRETCH)}"
    )
    print(
        f"  batch latency ms: p50 {latency['p50']:.0f}, p90 {latency['p90']:.0f},"
        f" p99 {latency['p99']:.0f}, max {latency['max']:.0f}"
    )
    print(
        f"  load generator: {prepare_s:.1f} s making {job.bodies} bodies before the clock,"
        f" {load.made_on_the_fly} made during it, {load.cpu_s:.1f} cpu s during it"
    )
    print(f"  {meter.line(load.elapsed)}")
    for problem in failed:
        print(f"  !! {problem}")
    return {
        "replicas": replicas,
        "seconds": load.elapsed,
        "batches": load.batches,
        "accepted": accepted,
        "responses_per_s": rate,
        "meets_target": rate >= BATCH_TARGET,
        "meets_stretch": rate >= BATCH_STRETCH,
        "batch_latency_ms": latency,
        "cpu_s": meter.spent,
    }


# --- 3. scoring -----------------------------------------------------------------------------


def measurement_value(rule: str, quality: float, vetoed: bool, rng: random.Random) -> float:
    """A plausible value for a department of `quality` (0..1) under `rule`; the veto's
    incident count is 1 for a `vetoed` department."""
    if rule == "ratio":
        return round(rng.gauss(80 + 20 * quality, 8), 2)
    if rule in ("linear_interval", "threshold_bands"):
        return round(min(105.0, rng.gauss(55 + 40 * quality, 10)), 2)
    if rule == "deduction":
        return float(max(0, round(rng.expovariate(1 + 3 * quality))))
    if rule == "bonus":
        return float(rng.choice((0, 0, 0, 1, 2, 4)))
    return 1.0 if vetoed else 0.0


async def seed_measurements(
    client: httpx.AsyncClient, stack: Stack, cycle: Cycle, quality: dict[str, float]
) -> str:
    rng = random.Random(7)
    rules = leaf_rules()
    # A major accident in 1 % of the departments.
    vetoed = set(rng.sample([d for d, _ in cycle.departments], DEPARTMENTS // 100))
    rows = [
        (code, department, PERIOD, measurement_value(rule, quality[d], d in vetoed, rng))
        for d, department in cycle.departments
        for code, rule in rules.items()
    ]
    seconds, summary = await run_import(client, stack.indicator, import_body(rows, "json"), "json")
    if summary["imported"] != len(rows):
        raise RuntimeError(f"the import wrote {summary['imported']} of {len(rows)} values")
    connection = await asyncpg.connect(asyncpg_dsn(stack.indicator_db))
    try:
        verified = await connection.execute(
            "UPDATE measurements SET status = 'verified' WHERE status = 'submitted'"
        )
    finally:
        await connection.close()
    return (
        f"{len(rows):,} values imported through POST /v1/measurements/import in {seconds:.1f} s;"
        f" marked verified in the indicator database directly ({verified.split()[-1]} rows)"
    )


async def seed_scorecards(
    client: httpx.AsyncClient, stack: Stack, cycle: Cycle, quality: dict[str, float]
) -> str:
    rng = random.Random(11)
    url = f"{stack.evaluation}/v1/cycles/{cycle.id}/assignments/batch"
    wanted = [
        {
            "group_id": cycle.expert_group_id,
            "evaluator_subject": f"expert:{(n * EXPERTS_PER_DEPARTMENT + k) % EXPERTS}",
            "evaluator_name": f"专家 {(n * EXPERTS_PER_DEPARTMENT + k) % EXPERTS}",
            "department_id": department_id,
        }
        for n, (department_id, _) in enumerate(cycle.departments)
        for k in range(EXPERTS_PER_DEPARTMENT)
    ]
    assignments = []
    for start in range(0, len(wanted), BATCH_SIZE):
        chunk = {"assignments": wanted[start : start + BATCH_SIZE]}
        assignments += (await post(client, url, chunk))["items"]

    async def submit(assignment: dict[str, Any]) -> None:
        level = 60 + 35 * quality[assignment["department_id"]]
        scores = {
            d: (None if rng.random() < 0.05 else round(min(100, rng.gauss(level, 6)), 1))
            for d in EXPERT_DIMENSIONS
        }
        expect(
            await client.put(
                f"{stack.evaluation}/v1/assignments/{assignment['id']}/scorecard",
                json={"scores": scores},
                headers=bearer("evaluator", assignment["evaluator_subject"]),
            ),
            200,
        )

    await gather_limited([submit(a) for a in assignments])
    return f"{len(assignments)} expert scorecards submitted through the API"


RATING_COLUMNS = (
    "id",
    "jurisdiction_code",
    "cycle_id",
    "group_id",
    "questionnaire_id",
    "department_id",
    "client",
    "respondent_hash",
    "device_hash",
    "network_hash",
    "content_hash",
    "answers",
    "comment",
    "stratum",
    "duration_seconds",
    "straight_lined",
    "received_at",
    "dimensions",
    "means",
    "answered",
    "tops",
)
SEED_CHUNK = 50_000
SLOWEST, SQL_SHOWN = 6, 110
NETWORKS = 20_000
BURST_DEVICES, BURST_SIZE = 20, 30
STRATA = tuple(
    f"district={district}|age={age}"
    for district in ("爱辉区", "北安市", "五大连池市", "嫩江市", "逊克县", "孙吴县")
    for age in ("18-34", "35-59", "60+")
)


def digest(rng: random.Random) -> bytes:
    """A random 32-byte stand-in for a SHA-256 digest (the hashes the intake stores)."""
    return rng.getrandbits(256).to_bytes(32, "big")


def rating_rows(
    n: int, cycle: Cycle, levels: dict[str, float], rng: random.Random, *, bursts: bool
) -> list[tuple[Any, ...]]:
    """`n` responses as the intake writes them, with their dimension sums.

    Like a month of a city's survey: answers around each department's level (1..5), 4 %
    "don't know" per item, about 3 % straight-liners, 2 % speeders (a third of them
    straight-lining too), respondents on 20,000 networks; with `bursts`, the first 600 come
    from 20 devices that each sent 30 responses within ten minutes."""
    cycle_id, group_id = uuid.UUID(cycle.id), uuid.UUID(cycle.citizen_group_id)
    questionnaire_id = uuid.UUID(cycle.questionnaire_id)
    departments = [(uuid.UUID(d), levels[d]) for d, _ in cycle.departments]
    networks = [digest(rng) for _ in range(NETWORKS)]
    now = datetime.now(UTC)
    month = timedelta(days=30).total_seconds()
    devices = [
        (digest(rng), now - timedelta(days=rng.uniform(1, 29))) for _ in range(BURST_DEVICES)
    ]
    in_bursts = BURST_DEVICES * BURST_SIZE if bursts else 0
    dimensions = sorted({d for _, d in ITEMS})
    ratings = []
    for i in range(n):
        department_id, level = departments[rng.randrange(len(departments))]
        burst = i < in_bursts
        speeder = rng.random() < 0.02
        if burst or (speeder and rng.random() < 0.33) or rng.random() < 0.03:
            same = min(5, max(1, round(rng.gauss(level, 0.6))))
            answers: dict[str, int | None] = {code: same for code, _ in ITEMS}
        else:
            answers = {
                code: None if rng.random() < 0.04 else min(5, max(1, round(rng.gauss(level, 0.9))))
                for code, _ in ITEMS
            }
        answered = [a for a in answers.values() if a is not None]
        if burst:
            device, first = devices[i // BURST_SIZE]
            received = first + timedelta(seconds=20 * (i % BURST_SIZE))
            duration = rng.uniform(15, 30)
        else:
            device = digest(rng)
            received = now - timedelta(seconds=rng.uniform(0, month))
            duration = rng.uniform(8, 30) if speeder else rng.lognormvariate(math.log(100), 0.35)
        sums: list[tuple[str, float, int, int]] = []
        for dimension in dimensions:
            values = [answers[c] for c, d in ITEMS if d == dimension and answers[c] is not None]
            if values:
                top = sum(v >= 3 for v in values)
                sums.append((dimension, sum(values) / len(values), len(values), top))
        ratings.append(
            (
                uuid.uuid4(),
                JURISDICTION,
                cycle_id,
                group_id,
                questionnaire_id,
                department_id,
                APP_SUBJECT,
                digest(rng),
                device,
                networks[rng.randrange(NETWORKS)],
                digest(rng),
                json.dumps(answers),
                "窗口办事效率还可以提高" if rng.random() < 0.05 else None,
                rng.choice(STRATA),
                round(duration, 1),
                len(answered) >= 5 and len(set(answered)) == 1,
                received,
                *([list(column) for column in zip(*sums, strict=True)] or [[], [], [], []]),
            )
        )
    return ratings


async def seed_ratings(stack: Stack, cycle: Cycle, quality: dict[str, float], n: int) -> str:
    rng = random.Random(13)
    levels = {d: 2.6 + 2.2 * q for d, q in quality.items()}
    connection = await asyncpg.connect(asyncpg_dsn(stack.evaluation_db))
    started = time.monotonic()
    written = 0
    try:
        while written < n:
            chunk = min(SEED_CHUNK, n - written)
            ratings = rating_rows(chunk, cycle, levels, rng, bursts=written == 0)
            await connection.copy_records_to_table(
                "ratings", records=ratings, columns=RATING_COLUMNS
            )
            written += chunk
        copied = time.monotonic() - started
        await connection.execute("VACUUM ANALYZE ratings")
    finally:
        await connection.close()
    return (
        f"{written:,} ratings with their dimension sums COPYed in {copied:.1f} s,"
        f" then VACUUM ANALYZE ({time.monotonic() - started - copied:.1f} s)"
    )


@dataclass
class Phases:
    """Seconds per phase, and the seconds of each SQL statement and HTTP request in it."""

    seconds: dict[str, float] = field(default_factory=dict)
    statements: list[tuple[float, str, str]] = field(default_factory=list)
    phase: str = ""

    @contextmanager
    def timed(self, phase: str) -> Iterator[None]:
        self.phase = phase
        started = time.perf_counter()
        yield
        self.seconds[phase] = time.perf_counter() - started

    def watch(self, engine: AsyncEngine) -> None:
        """Time every statement `engine` runs."""

        def before(conn: Any, *_: Any) -> None:
            conn.info["bench_started"] = time.perf_counter()

        def after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            spent = time.perf_counter() - conn.info.pop("bench_started")
            self.statements.append((spent, self.phase, " ".join(statement.split())))

        event.listen(engine.sync_engine, "before_cursor_execute", before)
        event.listen(engine.sync_engine, "after_cursor_execute", after)

    def transport(self) -> httpx.AsyncBaseTransport:
        """An HTTP transport that times each request until its body is read."""
        phases = self

        class Timed(httpx.AsyncHTTPTransport):
            async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
                started = time.perf_counter()
                response = await super().handle_async_request(request)
                await response.aread()
                spent = time.perf_counter() - started
                phases.statements.append(
                    (
                        spent,
                        phases.phase,
                        f"HTTP {request.method} {request.url.path}?{request.url.query.decode()}",
                    )
                )
                return response

        return Timed()


async def split_in_process(stack: Stack, cycle_id: str) -> Phases:
    """The phases of `/score` run here with the service's own functions against the same
    databases, in a transaction rolled back (the results code records no timings)."""
    principal = Principal(subject="bench", role="admin", jurisdictions=(JURISDICTION,))
    authorization = f"Bearer {token()}"
    engine = make_engine(stack.evaluation_db)
    phases = Phases()
    phases.watch(engine)
    try:
        http = httpx.AsyncClient(transport=phases.transport(), trust_env=False)
        async with http, AsyncSession(engine) as session:
            cycle = await session.get(CycleRow, uuid.UUID(cycle_id))
            assert cycle is not None
            with phases.timed("quality checks"):
                rules = cycle.rules or {}
                await rating_quality.assess(session, principal, cycle.id, JURISDICTION, rules)
            with phases.timed("loading"):
                cycle_input, _ = await cycle_inputs.load(
                    session,
                    cycle,
                    http=http,
                    indicator_url=stack.indicator,
                    authorization=authorization,
                )
            with phases.timed("computing"):
                score_cycle(cycle_input)
            await session.rollback()
    finally:
        await engine.dispose()
    return phases


async def run_scoring(args: argparse.Namespace, problems: list[str]) -> dict[str, Any]:
    async with AsyncExitStack() as exits:
        client = await exits.enter_async_context(httpx.AsyncClient(timeout=600, trust_env=False))
        stack = await exits.enter_async_context(services(client))
        print(f"\n== scoring: indicator {stack.indicator}, evaluation {stack.evaluation}")
        started = time.monotonic()
        cycle = await open_cycle(client, stack)
        rng = random.Random(5)
        quality = {d: rng.betavariate(4, 2) for d, _ in cycle.departments}
        print(f"  seeding: cycle open, {DEPARTMENTS} departments, 100 leaves, groups {GROUPS}")
        print(f"  seeding: {await seed_scorecards(client, stack, cycle, quality)}")
        print(f"  seeding: {await seed_measurements(client, stack, cycle, quality)}")
        print(f"  seeding: {await seed_ratings(stack, cycle, quality, args.ratings)}")
        admin = bearer()
        evaluation = stack.evaluation
        print(f"  seeding took {time.monotonic() - started:.0f} s")
        sent = time.perf_counter()
        await post(client, f"{evaluation}/v1/cycles/{cycle.id}/close", status=200)
        closing_s = time.perf_counter() - sent
        print(
            f"  POST /close      {closing_s:>6.2f} s end to end (it runs the rating quality"
            " checks: no rating arrives after, so scoring does not run them again)"
        )

        print(
            f"\n== scoring {DEPARTMENTS} departments x 100 leaves,"
            f" {args.ratings:,} citizen ratings, {len(cycle.departments) * EXPERTS_PER_DEPARTMENT}"
            " scorecards"
        )
        timings: dict[str, float] = {}
        meters: dict[str, CpuMeter] = {}
        for run in ("score", "re-score"):
            meter = meters[run] = CpuMeter(stack.pids)
            meter.start()
            sent = time.perf_counter()
            response = await client.post(f"{evaluation}/v1/cycles/{cycle.id}/score", headers=admin)
            seconds = timings[run] = time.perf_counter() - sent
            meter.stop()
            expect(response, 200)
            if run == "score":
                print(
                    f"  POST /score      {seconds:>6.2f} s end to end"
                    f"   target < {SCORING_TARGET_S:.0f} s {mark(seconds < SCORING_TARGET_S)}"
                    f"   stretch < {SCORING_STRETCH_S:.0f} s"
                    f" {mark(seconds < SCORING_STRETCH_S)}"
                )
            else:
                print(f"  re-score         {seconds:>6.2f} s end to end (a second result version)")
            print(f"                   {meter.line(seconds)}")
        results = expect(
            await client.get(f"{evaluation}/v1/cycles/{cycle.id}/results", headers=admin), 200
        )["results"]
        summary = expect(
            await client.get(f"{evaluation}/v1/cycles/{cycle.id}/ratings/summary", headers=admin),
            200,
        )
        grades = Counter(r["grade"] for r in results)
        print(
            f"  results: {len(results)} departments, grades {dict(sorted(grades.items()))},"
            f" vetoed {sum(r['vetoed'] for r in results)}; ratings {summary['responses']:,},"
            f" excluded by the quality checks {summary['excluded']:,}, held {summary['held']:,}"
        )
        if len(results) != DEPARTMENTS:
            problems.append(f"scoring: {len(results)} results for {DEPARTMENTS} departments")
        try:
            phases = await split_in_process(stack, cycle.id)
        except Exception as exc:
            phases = Phases()
            problems.append(f"scoring: timing the phases failed: {type(exc).__name__}: {exc}")
            print(f"  !! {problems[-1]}")
    split = phases.seconds
    if split:
        print(
            "  where the time goes (the results code records no timings: the service's own"
            " functions, run in this process against the same databases, rolled back):"
        )
        for phase, value in split.items():
            waits = [(w, t.startswith("HTTP ")) for w, ph, t in phases.statements if ph == phase]
            http = sum(w for w, is_http in waits if is_http)
            sql = sum(w for w, is_http in waits if not is_http)
            print(
                f"    {phase:<36}{value:>6.2f} s  (SQL {sql:.2f} s, HTTP {http:.2f} s,"
                f" Python {max(0.0, value - sql - http):.2f} s)"
            )
        rest = timings["score"] - sum(v for k, v in split.items() if k != "quality checks")
        print(
            f"    {'the rest of /score (storing, HTTP)':<36}{max(0.0, rest):>6.2f} s"
            " (end to end less loading and computing; the quality checks ran at close)"
        )
        print("  the slowest statements and requests of those phases:")
        for spent, phase, statement in sorted(phases.statements, reverse=True)[:SLOWEST]:
            print(f"    {spent:>6.2f} s  {phase:<16}{statement[:SQL_SHOWN]}")
    total = timings["score"]
    return {
        "section": "scoring",
        "departments": DEPARTMENTS,
        "leaves": 100,
        "ratings": args.ratings,
        "scorecards": DEPARTMENTS * EXPERTS_PER_DEPARTMENT,
        "score_s": total,
        "close_s": closing_s,
        "rescore_s": timings["re-score"],
        "target_s": SCORING_TARGET_S,
        "stretch_s": SCORING_STRETCH_S,
        "meets_target": total < SCORING_TARGET_S,
        "meets_stretch": total < SCORING_STRETCH_S,
        "phases_s": split,
        "slowest_statements": [
            {"seconds": spent, "phase": phase, "sql": statement[:SQL_SHOWN]}
            for spent, phase, statement in sorted(phases.statements, reverse=True)[:SLOWEST]
        ],
        "cpu_s": meters["score"].spent,
        "excluded_ratings": summary["excluded"],
    }


# --- the run --------------------------------------------------------------------------------


SECTIONS = {"intake": run_intake, "batch": run_batch, "scoring": run_scoring}


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=tuple(SECTIONS), help="one section only")
    parser.add_argument("--seconds", type=int, default=10, help="per wrk run and batch load")
    parser.add_argument("--rounds", type=int, default=2, help="intake rounds (median shown)")
    parser.add_argument("--ratings", type=int, default=1_000_000, help="ratings to score")
    parser.add_argument("--batch-clients", type=int, default=4, help="concurrent batch clients")
    parser.add_argument(
        "--batch-replicas",
        type=int,
        default=os.cpu_count() or 1,
        help="evaluation processes of the second batch load (default: one per core)",
    )
    args = parser.parse_args()
    if min(args.seconds, args.rounds, args.ratings, args.batch_clients, args.batch_replicas) < 1:
        parser.error(
            "--seconds, --rounds, --ratings, --batch-clients and --batch-replicas must be at"
            " least 1"
        )
    sys.stdout.reconfigure(line_buffering=True)
    cancel_on_sigterm()

    sections = [args.only] if args.only else list(SECTIONS)
    print("\n".join(machine(await postgres_version())))
    if "intake" in sections:
        print(f"wrk        {wrk_version(ensure_wrk())}")
    print(f"load avg   {load_avg()} (1, 5, 15 min) at start")
    print(
        f"servers    indicator and evaluation, one uvicorn worker each, log level"
        f" {SERVICE_LOG_LEVEL} (access log on, stdout to /dev/null); rating limits raised to"
        f" {UNLIMITED}"
    )
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    for name in sections:
        print(f"\n-- {name}: load avg {load_avg()}")
        try:
            row = await SECTIONS[name](args, problems)
        except Exception as exc:
            problems.append(f"{name} failed: {type(exc).__name__}: {exc}")
            print(f"!! {problems[-1]}")
            continue
        if row:
            rows.append(row | {"load_avg_after": load_avg()})
    print()
    for row in rows:
        print(json.dumps(rounded(row), ensure_ascii=False))
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
