"""Bulk import of measurements through the HTTP API, against a raw COPY of the same rows.

    .venv/bin/python bench/imports.py [--rows N] [--format json|csv|dhis2]

A fresh PostgreSQL database and `python -m govperf serve indicator` as a separate process,
seeded through its API with departments and a published indicator system of 100 monthly
indicators. N distinct values (indicator × department × month) are then:

1. dry-run through `POST /v1/measurements/import?dryRun=true`, sampling the server's
   resident memory (it must stay about one chunk's worth above its idle size, whatever N);
2. imported for real (the user's path: a body this size answers 202 with a job, polled
   until it has finished), timed from the first byte sent to the job's end;
3. sent again (every row unchanged, so every row ignored);
4. and, as the baseline measured in the same run, written by asyncpg's
   `copy_records_to_table`, fully formed, into `measurements` itself (emptied first): the
   same rows into the same table, with no parsing, checking or merging — the raw rate the
   target is a share of. The same COPY into a bare table (no keys, no indexes) is shown too.

A measurement, not a test: it exits 1 only if the import does not write N rows.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import sys
import time
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from _common import (
    asyncpg_dsn,
    cancel_on_sigterm,
    machine,
    postgres_database,
    postgres_version,
    service,
)

from services.common.auth import mint_token
from services.common.settings import DEVELOPMENT_JWT_SECRET

JURISDICTION = "231100"
YEAR = 2026
INDICATORS = 100
TARGET_SHARE = 0.15
STRETCH_SHARE = 0.25
CHUNK_ROWS = 5000  # services/indicator/measurements/importer.CHUNK_ROWS
POLL_SECONDS = 0.05


def token() -> str:
    return mint_token(DEVELOPMENT_JWT_SECRET, role="admin", jurisdictions=(JURISDICTION,))


def system_body() -> dict[str, Any]:
    """Ten dimensions of ten monthly indicators, weight 1 each, scored by ratio."""
    return {
        "jurisdiction_code": JURISDICTION,
        "year": YEAR,
        "category": "economic",
        "name": "基准指标体系",
        "nodes": [
            {
                "code": f"D{d}",
                "name_zh": f"维度 {d}",
                "weight": 10,
                "children": [
                    {
                        "code": f"D{d}.{i}",
                        "name_zh": f"指标 {d}.{i}",
                        "weight": 1,
                        "frequency": "monthly",
                        "target": 100,
                        "rule": {"method": "ratio"},
                    }
                    for i in range(10)
                ],
            }
            for d in range(10)
        ],
    }


async def seed(client: httpx.AsyncClient, url: str, departments: int) -> list[dict[str, Any]]:
    headers = {"authorization": f"Bearer {token()}"}
    created = await client.post(f"{url}/v1/indicator-systems", json=system_body(), headers=headers)
    created.raise_for_status()
    published = await client.post(
        f"{url}/v1/indicator-systems/{created.json()['id']}/publish", headers=headers
    )
    published.raise_for_status()
    result = []
    for n in range(departments):
        response = await client.post(
            f"{url}/v1/departments",
            headers=headers,
            json={
                "jurisdiction_code": JURISDICTION,
                "code": f"DEPT{n:04d}",
                "name_zh": f"部门 {n}",
                "category": "economic",
            },
        )
        response.raise_for_status()
        result.append(response.json())
    return result


def records(rows: int, departments: list[dict[str, Any]]) -> list[tuple[str, str, str, float]]:
    out = []
    for n in range(rows):
        indicator = f"D{n % 10}.{(n // 10) % 10}"
        month = 1 + (n // INDICATORS) % 12
        department = departments[n // (INDICATORS * 12)]["code"]
        out.append((indicator, department, f"{YEAR}{month:02d}", round(50 + (n % 997) / 7, 3)))
    return out


def body(rows: list[tuple[str, str, str, float]], fmt: str) -> bytes:
    if fmt == "csv":
        buffer = io.StringIO()
        buffer.write("indicator,department,period,value\n")
        for indicator, department, period, value in rows:
            buffer.write(f"{indicator},{department},{period},{value!r}\n")
        return buffer.getvalue().encode()
    if fmt == "dhis2":
        values = [
            {"dataElement": i, "orgUnit": d, "period": p, "value": repr(v)} for i, d, p, v in rows
        ]
        return json.dumps({"dataValues": values}).encode()
    items = [{"indicator": i, "department": d, "period": p, "value": v} for i, d, p, v in rows]
    return json.dumps({"measurements": items}).encode()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def run_import(
    client: httpx.AsyncClient, url: str, content: bytes, fmt: str, **params: str
) -> tuple[float, dict[str, Any]]:
    """Seconds from sending to the summary, and the summary (polling a job if one starts)."""
    headers = {"authorization": f"Bearer {token()}", "content-type": "application/json"}
    started = time.perf_counter()
    response = await client.post(
        f"{url}/v1/measurements/import",
        params={"jurisdiction": JURISDICTION, "format": fmt, **params},
        content=content,
        headers=headers,
        timeout=600,
    )
    if response.status_code == 202:
        location = url + response.headers["location"]
        while True:
            job = (await client.get(location, headers=headers)).json()
            if job["status"] in ("succeeded", "failed"):
                if job["status"] == "failed" and job["summary"] is None:
                    raise RuntimeError(f"import job failed: {job['error']}")
                return time.perf_counter() - started, job["summary"]
            await asyncio.sleep(POLL_SECONDS)
    if response.status_code != 200:
        raise RuntimeError(f"import answered {response.status_code}: {response.text[:500]}")
    return time.perf_counter() - started, response.json()


async def sample_rss(pid: int, stop: asyncio.Event, peak: list[float]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mib(pid))
        await asyncio.sleep(0.02)


async def copy_baseline(
    url: str,
    rows: list[tuple[str, str, str, float]],
    departments: list[dict[str, Any]],
    *,
    bare: bool,
) -> float:
    """Seconds for asyncpg to COPY the same rows, fully formed, into `measurements` itself
    (emptied first: its keys, indexes and foreign key, where the import writes them), or
    into a bare table with its columns and nothing else."""
    ids = {d["code"]: uuid.UUID(d["id"]) for d in departments}
    now = datetime.now(UTC)
    tuples = [
        (uuid.uuid4(), JURISDICTION, i, ids[d], p, v, "submitted", False, 1, n, "bench", now, now)
        for n, (i, d, p, v) in enumerate(rows, start=1)
    ]
    columns = (
        "id",
        "jurisdiction_code",
        "indicator_code",
        "department_id",
        "period",
        "value",
        "status",
        "flagged",
        "version",
        "change_seq",
        "updated_by",
        "created_at",
        "updated_at",
    )
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        if bare:
            table = "copy_bare"
            await connection.execute(f"CREATE TABLE {table} (LIKE measurements)")
        else:
            table = "measurements"
            await connection.execute("TRUNCATE measurements")
            await connection.execute("CHECKPOINT")  # as fresh as the import's table was
        started = time.perf_counter()
        await connection.copy_records_to_table(table, records=tuples, columns=columns)
        return time.perf_counter() - started
    finally:
        await connection.close()


async def run(args: argparse.Namespace) -> bool:
    departments_needed = -(-args.rows // (INDICATORS * 12))
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(httpx.AsyncClient(trust_env=False, timeout=60))
        url_db = await stack.enter_async_context(postgres_database())
        processes: list[asyncio.subprocess.Process] = []
        url = await stack.enter_async_context(
            service(
                "indicator",
                {"GOVPERF_LOG_LEVEL": "WARNING", "GOVPERF_INDICATOR_DATABASE_URL": url_db},
                client,
                on_start=processes,
            )
        )
        pid = processes[0].pid
        print(
            f"\n== indicator at {url} ({url_db.rsplit('/', 1)[1]}), {args.rows} rows, {args.format}"
        )
        departments = await seed(client, url, departments_needed)
        rows = records(args.rows, departments)
        content = body(rows, args.format)
        print(
            f"  body                  {len(content) / 2**20:.1f} MiB, "
            f"{departments_needed} departments"
        )

        idle = rss_mib(pid)
        peak = [idle]
        stop = asyncio.Event()
        sampler = asyncio.create_task(sample_rss(pid, stop, peak))
        dry_s, dry = await run_import(client, url, content, args.format, dryRun="true")
        stop.set()
        await sampler
        print(
            f"  dry run               {dry_s:.2f} s, would import {dry['imported']}; "
            f"server RSS {idle:.0f} MiB idle, peak {peak[0]:.0f} MiB "
            f"(+{peak[0] - idle:.0f} MiB for a {len(content) / 2**20:.0f} MiB body)"
        )

        import_s, summary = await run_import(client, url, content, args.format)
        rate = args.rows / import_s
        print(
            f"  import                {import_s:.2f} s, {rate:,.0f} rows/s "
            f"(imported {summary['imported']}, conflicts {summary['conflicts_total']})"
        )
        again_s, again = await run_import(client, url, content, args.format)
        print(
            f"  sent again            {again_s:.2f} s, {args.rows / again_s:,.0f} rows/s "
            f"(imported {again['imported']}, updated {again['updated']}, "
            f"ignored {again['ignored']})"
        )
        copy_s = await copy_baseline(url_db, rows, departments, bare=False)
        copy_rate = args.rows / copy_s
        share = rate / copy_rate
        bare_s = await copy_baseline(url_db, rows, departments, bare=True)
        print(
            f"  raw COPY baseline     {copy_s:.2f} s, {copy_rate:,.0f} rows/s "
            "(into measurements: its keys, indexes and foreign key)"
        )
        print(
            f"  COPY, bare table      {bare_s:.2f} s, {args.rows / bare_s:,.0f} rows/s "
            f"(no keys or indexes; the import is {rate / (args.rows / bare_s):.1%} of it)"
        )
        verdict = (
            "met (stretch too)"
            if share >= STRETCH_SHARE
            else "met"
            if share >= TARGET_SHARE
            else "NOT MET"
        )
        print(
            f"  target >= {TARGET_SHARE:.0%} of COPY   {verdict}: {share:.1%} "
            f"({rate:,.0f} of {copy_rate:,.0f} rows/s; stretch {STRETCH_SHARE:.0%})"
        )
        print()
        print(
            json.dumps(
                {
                    "rows": args.rows,
                    "format": args.format,
                    "body_mib": round(len(content) / 2**20, 2),
                    "dry_run_s": round(dry_s, 3),
                    "dry_run_rss_growth_mib": round(peak[0] - idle, 1),
                    "import_s": round(import_s, 3),
                    "import_rows_per_s": round(rate),
                    "resend_s": round(again_s, 3),
                    "copy_s": round(copy_s, 3),
                    "copy_rows_per_s": round(copy_rate),
                    "copy_bare_rows_per_s": round(args.rows / bare_s),
                    "share_of_copy": round(share, 4),
                    "target_met": share >= TARGET_SHARE,
                }
            )
        )
        return summary["imported"] == args.rows and again["ignored"] == args.rows


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--format", choices=("json", "csv", "dhis2"), default="json")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    cancel_on_sigterm()
    print("\n".join(machine(await postgres_version())))
    try:
        ok = await run(args)
    except Exception as exc:
        print(f"!! failed: {type(exc).__name__}: {exc}")
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("!! interrupted; server stopped, database removed")
        sys.exit(130)
