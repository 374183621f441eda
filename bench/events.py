"""Event backbone, end to end: disclosure's dispatcher delivering to feedback's inbox.

    .venv/bin/python bench/events.py [--events N] [--batch B] [--rate R] [--writers W]
                                     [--env GOVPERF_X=VALUE ...]

Each phase: two fresh PostgreSQL databases, `python -m govperf serve disclosure` and
`... feedback` as separate processes, disclosure's sibling subscription pointed at the real
feedback inbox. This process then writes N `publication.published` events into
disclosure's outbox the way the service does (`outbox.emit` in the caller's transaction,
B events per transaction, W concurrent transactions, paced at R events/s; R = 0 writes as
fast as it can). The dispatcher in the disclosure process hears the commits by
LISTEN/NOTIFY and delivers (a backlog to the sibling travels in `events.batch` messages);
the feedback process verifies each signature and writes its inbox rows and effects in one
transaction.

By default two phases run: `steady` (1,000 events/s offered, 10 per transaction, 4
writers), against which the latency target is judged, and `backlog` (all N committed in one
transaction, then drained), against which the throughput target is judged. Giving --rate,
--batch or --writers runs one custom phase instead.

Latencies come from the databases, not from this process: sender side is
`webhook_deliveries.completed_at - event_outbox.created_at` (the 2xx recorded), receiver
side is feedback's `event_inbox.received_at - event_outbox.created_at` (joined by webhook
id). `emit` stamps created_at when the event is written, before its transaction commits; the
same latencies measured from just before the commit are shown too, and the latency target
is judged on those (commit to the receiver's 2xx, as recorded by the sender). CPU seconds are per
process; "other" is the rest of the machine's busy time (other processes, interrupts).
A measurement, not a test: it exits 1 only if the receiver's rows do not match N, on a
timeout, or on a failed run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from _common import (
    asyncpg_dsn,
    cancel_on_sigterm,
    free_port,
    machine,
    postgres_database,
    postgres_version,
    service,
)

from services.common.db import Database, new_id, utcnow
from services.common.events.outbox import COMPONENT, TABLES, emit
from services.disclosure.models import COMMON

EVENT_TYPE = "publication.published"
JURISDICTION = "231100"
PROGRESS_SECONDS = 2.0
POLL_SECONDS = 0.25
SIBLING_TIMEOUT = 30.0
TARGET_P50_MS = 50.0
TARGET_RATE = 1000.0
CLOCK_TICK = os.sysconf("SC_CLK_TCK")


# --- writing the outbox ---------------------------------------------------------------------


def publication_data(publication_id: uuid.UUID, n: int, now: datetime) -> dict[str, Any]:
    """The fields services/disclosure/events.py sends for a publication just published."""
    return {
        "publication_id": str(publication_id),
        "jurisdiction_code": JURISDICTION,
        "kind": "results",
        "title": f"基准公开事项 {n}",
        "publication_version": 1,
        "status": "published",
        "published_at": now,
        "retracted_at": None,
        "retraction_reason": None,
    }


async def write_events(
    db: Database, args: argparse.Namespace, committed: dict[uuid.UUID, datetime]
) -> None:
    """N events in transactions of `batch`, batch k due at k·batch/rate s after the start.

    `committed` gets each event id with the time just before its transaction's commit.
    A fresh session per transaction, as the service has one per request.
    """
    starts = iter(range(0, args.events, args.batch))
    t0 = time.perf_counter()

    async def writer() -> None:
        for start in starts:  # shared by the writers: each takes the next due batch
            if args.rate:
                delay = t0 + start / args.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
            async with db.session() as session:
                ids = []
                for n in range(start, min(start + args.batch, args.events)):
                    publication_id = new_id()
                    ids.append(
                        await emit(
                            session,
                            EVENT_TYPE,
                            aggregate=f"publication:{publication_id}",
                            jurisdiction_code=JURISDICTION,
                            data=publication_data(publication_id, n, utcnow()),
                        )
                    )
                before_commit = utcnow()
                await session.commit()
            committed.update(dict.fromkeys(ids, before_commit))

    await asyncio.gather(*(writer() for _ in range(args.writers)))


async def delivery_counts(sender: asyncpg.Connection) -> Counter[str]:
    rows = await sender.fetch("SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY 1")
    return Counter({r["status"]: r["n"] for r in rows})


async def watch(
    sender: asyncpg.Connection,
    committed: dict[uuid.UUID, datetime],
    writing: asyncio.Task[None],
    args: argparse.Namespace,
) -> bool:
    """Until every delivery is finished (succeeded or dead); progress every 2 s.
    False on a timeout."""
    timeout = 60.0 + args.events * 0.05  # at least 20 deliveries/s
    start = time.monotonic()
    shown = start
    while True:
        if writing.done() and writing.exception() is not None:
            raise writing.exception()
        counts = await delivery_counts(sender)
        finished = counts["succeeded"] + counts["dead"]
        now = time.monotonic()
        done = writing.done() and finished >= args.events
        if now - shown >= PROGRESS_SECONDS or done:
            shown = now
            print(
                f"  {now - start:6.1f} s  written {len(committed):>7}"
                f"  delivered {counts['succeeded']:>7}"
                f"  pending {counts['pending'] + counts['delivering']:>7}"
                f"  dead {counts['dead']:>5}"
            )
        if done:
            return True
        if now - start > timeout:
            print(f"!! not all delivered after {timeout:.0f} s")
            return False
        await asyncio.sleep(POLL_SECONDS)


# --- CPU accounting -------------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def postgres_cpu() -> float:
    """CPU seconds of the PostgreSQL processes alive now (backends that exited are lost)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    total += process_cpu(int(entry.name))
            except OSError:
                continue
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / CLOCK_TICK, sum(values) / CLOCK_TICK


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    snap = {name: process_cpu(pid) for name, pid in pids.items()}
    snap["postgresql"] = postgres_cpu()
    snap["machine_busy"], snap["machine_total"] = machine_busy()
    return snap


# --- statistics -----------------------------------------------------------------------------


def ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": float("nan"), "p90": float("nan"), "p99": float("nan"), "max": float("nan")}
    cuts = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values
    pick = (lambda q: cuts[q - 1]) if len(values) > 1 else (lambda q: values[0])
    return {"p50": pick(50), "p90": pick(90), "p99": pick(99), "max": max(values)}


def latency_row(name: str, values: list[float]) -> str:
    p = percentiles(values)
    return (
        f"  {name:<44}{len(values):>7}{p['p50']:>10.1f}{p['p90']:>10.1f}"
        f"{p['p99']:>10.1f}{p['max']:>10.1f}"
    )


def latency_header() -> str:
    return f"  {'latency (ms)':<44}{'n':>7}{'p50':>10}{'p90':>10}{'p99':>10}{'max':>10}"


def finite(value: float, digits: int) -> float | None:
    """Rounded, or None (JSON null) for NaN."""
    return None if math.isnan(value) else round(value, digits)


def shown_settings(env: list[tuple[str, str]]) -> dict[str, str]:
    return {k: "***" if "SECRET" in k else v for k, v in env}


def met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


async def collect(
    sender: asyncpg.Connection,
    receiver: asyncpg.Connection,
    committed: dict[uuid.UUID, datetime],
) -> dict[str, Any]:
    deliveries = await sender.fetch(
        """
        SELECT o.id, o.created_at, d.seq, d.status, d.attempts, d.completed_at
        FROM event_outbox o JOIN webhook_deliveries d ON d.event_seq = o.seq
        WHERE o.type = $1
        """,
        EVENT_TYPE,
    )
    attempts = await sender.fetch(
        "SELECT delivery_seq, attempt, outcome, started_at, duration_ms FROM webhook_attempts"
    )
    inbox = await receiver.fetch("SELECT webhook_id, received_at FROM event_inbox")
    published = await receiver.fetchval("SELECT count(*) FROM published_items")
    return {
        "deliveries": deliveries,
        "attempts": attempts,
        "inbox": inbox,
        "published": published,
        "committed": committed,
    }


def report(data: dict[str, Any], args: argparse.Namespace, cpu: dict[str, float]) -> dict[str, Any]:
    deliveries, attempts, inbox = data["deliveries"], data["attempts"], data["inbox"]
    committed: dict[uuid.UUID, datetime] = data["committed"]
    by_event = {r["id"]: r for r in deliveries}
    succeeded = [r for r in deliveries if r["status"] == "succeeded"]
    dead = sum(r["status"] == "dead" for r in deliveries)
    last_attempt = {}
    for a in sorted(attempts, key=lambda a: a["attempt"]):
        last_attempt[a["delivery_seq"]] = a
    failed_attempts = sum(a["outcome"] != "succeeded" for a in attempts)

    if not committed:
        raise RuntimeError("no event was written")
    first_commit = min(committed.values())
    last_commit = max(committed.values())
    last_2xx = max((r["completed_at"] for r in succeeded), default=first_commit)
    wall = (last_2xx - first_commit).total_seconds()
    write_s = (last_commit - first_commit).total_seconds()
    rate = len(succeeded) / wall if wall > 0 else float("nan")

    sender_created = [ms(r["completed_at"] - r["created_at"]) for r in succeeded]
    sender_commit = [ms(r["completed_at"] - committed[r["id"]]) for r in succeeded]
    received = {}
    for row in inbox:
        event = by_event.get(uuid.UUID(hex=row["webhook_id"].removeprefix("msg_")))
        if event is not None:
            received[event["id"]] = row["received_at"]
    receiver_created = [ms(t - by_event[e]["created_at"]) for e, t in received.items()]
    receiver_commit = [ms(t - committed[e]) for e, t in received.items()]
    emit_to_commit = [ms(committed[r["id"]] - r["created_at"]) for r in deliveries]

    # Phases of each successful delivery, from its last attempt (all on one host: one clock).
    to_send, http, to_record = [], [], []
    for r in succeeded:
        a = last_attempt.get(r["seq"])
        if a is None:
            continue
        to_send.append(ms(a["started_at"] - committed[r["id"]]))
        http.append(a["duration_ms"])
        to_record.append(
            ms(r["completed_at"] - a["started_at"] - timedelta(milliseconds=a["duration_ms"]))
        )

    p_sender = percentiles(sender_created)
    p_receiver = percentiles(receiver_created)
    p_commit = percentiles(sender_commit)
    published_ok = data["published"] == args.events
    inbox_ok = len(inbox) == args.events
    offered = "as fast as possible" if args.rate == 0 else f"{args.rate:g} events/s"

    print(
        f"\n== {args.phase} results: {args.events} events, batch {args.batch}, "
        f"writers {args.writers}"
    )
    if args.env:
        shown = shown_settings(args.env)
        print(f"  settings              {' '.join(f'{k}={v}' for k, v in shown.items())}")
    print(f"  offered rate          {offered}")
    print(
        f"  written               {len(committed)} in {write_s:.2f} s "
        f"(first to last commit, {len(committed) / write_s if write_s else 0:.0f} events/s)"
    )
    print(f"  wall time             {wall:.2f} s (first commit to last 2xx recorded)")
    print(f"  deliveries/s          {rate:.0f}")
    print(
        f"  attempts/delivery     {len(attempts) / max(1, len(deliveries)):.3f} "
        f"({len(attempts)} attempts, {failed_attempts} failed)"
    )
    print(f"  dead                  {dead}")
    print(latency_header())
    print(latency_row("sender:   completed_at - created_at", sender_created))
    print(latency_row("receiver: received_at - created_at", receiver_created))
    print(latency_row("sender:   completed_at - commit", sender_commit))
    print(latency_row("receiver: received_at - commit", receiver_commit))
    print(latency_row("  emit (created_at) to commit", emit_to_commit))
    print(latency_row("  commit to HTTP request started", to_send))
    print(latency_row("  HTTP round trip (attempt duration_ms)", http))
    print(latency_row("  2xx to completed_at (clock check, ~0)", to_record))
    busy = cpu["machine_busy"] / cpu["machine_total"] if cpu["machine_total"] else 0
    ours = ("disclosure", "feedback", "bench", "postgresql")
    cpu["other"] = max(0.0, cpu["machine_busy"] - sum(cpu[k] for k in ours))
    print(
        "  CPU seconds           "
        + ", ".join(f"{k} {cpu[k]:.1f}" for k in (*ours, "other"))
        + f"; machine {100 * busy:.0f}% busy of {os.cpu_count()} cores"
    )
    print(
        f"  receiver effect       published_items {data['published']} "
        f"{'OK' if published_ok else 'MISMATCH'}, "
        f"inbox {len(inbox)} {'OK' if inbox_ok else 'MISMATCH'} (expected {args.events})"
    )

    def rounded(p: dict[str, float]) -> dict[str, float | None]:
        return {k: finite(v, 1) for k, v in p.items()}

    return {
        "phase": args.phase,
        "events": args.events,
        "batch": args.batch,
        "rate": args.rate,
        "writers": args.writers,
        "env": shown_settings(args.env),
        "write_s": round(write_s, 3),
        "wall_s": round(wall, 3),
        "deliveries_per_s": finite(rate, 1),
        "sender_ms": rounded(p_sender),
        "receiver_ms": rounded(p_receiver),
        "sender_from_commit_ms": rounded(p_commit),
        "http_ms": rounded(percentiles(http)),
        "attempts_per_delivery": round(len(attempts) / max(1, len(deliveries)), 3),
        "dead": dead,
        "published_items": data["published"],
        "inbox": len(inbox),
        "receiver_ok": published_ok and inbox_ok,
        "cpu_s": {k: round(v, 1) for k, v in cpu.items() if not k.startswith("machine")},
        "machine_busy_pct": round(100 * busy, 1),
    }


# --- the run --------------------------------------------------------------------------------


async def wait_for_sibling(sender: asyncpg.Connection, url: str) -> None:
    deadline = time.monotonic() + SIBLING_TIMEOUT
    while True:
        target = await sender.fetchval(
            "SELECT url FROM webhook_subscriptions "
            "WHERE kind = 'sibling' AND name = 'feedback' AND status = 'active'"
        )
        if target is not None:
            if target != url:
                raise RuntimeError(f"the sibling subscription targets {target}, not {url}")
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"no sibling subscription after {SIBLING_TIMEOUT:.0f}s")
        await asyncio.sleep(0.2)


async def connect(url: str, stack: AsyncExitStack) -> asyncpg.Connection:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    stack.push_async_callback(connection.close)
    return connection


async def run(args: argparse.Namespace) -> dict[str, Any] | None:
    settings = {"GOVPERF_LOG_LEVEL": "WARNING", **dict(args.env)}
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(httpx.AsyncClient(trust_env=False))
        sender_url = await stack.enter_async_context(postgres_database())
        receiver_url = await stack.enter_async_context(postgres_database())
        processes: list[asyncio.subprocess.Process] = []
        feedback_url = await stack.enter_async_context(
            service(
                "feedback",
                settings | {"GOVPERF_FEEDBACK_DATABASE_URL": receiver_url},
                client,
                port=free_port(),
                on_start=processes,
            )
        )
        await stack.enter_async_context(
            service(
                "disclosure",
                settings
                | {
                    "GOVPERF_DISCLOSURE_DATABASE_URL": sender_url,
                    "GOVPERF_FEEDBACK_URL": feedback_url,
                },
                client,
                on_start=processes,
            )
        )
        sender = await connect(sender_url, stack)
        receiver = await connect(receiver_url, stack)
        await wait_for_sibling(sender, f"{feedback_url}/v1/webhooks/inbox")
        db = Database(sender_url)
        stack.push_async_callback(db.dispose)
        # What the disclosure app puts in session.info, less the in-process wake-up: the
        # dispatcher is in another process and hears the commit by NOTIFY only.
        db.write_sessions.configure(info={TABLES: COMMON, COMPONENT: "disclosure"})

        print(
            f"\n== disclosure ({sender_url.rsplit('/', 1)[1]}) -> feedback "
            f"({receiver_url.rsplit('/', 1)[1]}) at {feedback_url}"
        )
        pids = {"feedback": processes[0].pid, "disclosure": processes[1].pid, "bench": os.getpid()}
        committed: dict[uuid.UUID, datetime] = {}
        before = cpu_snapshot(pids)
        writing = asyncio.create_task(write_events(db, args, committed))
        try:
            finished = await watch(sender, committed, writing, args)
        finally:
            if not writing.done():
                writing.cancel()
            await asyncio.gather(writing, return_exceptions=True)
        after = cpu_snapshot(pids)
        cpu = {k: after[k] - before[k] for k in after}
        summary = report(await collect(sender, receiver, committed), args, cpu)
        summary["finished"] = finished
        return summary


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def setting(value: str) -> tuple[str, str]:
    name, sep, setting_value = value.partition("=")
    if not sep or not name.startswith("GOVPERF_"):
        raise argparse.ArgumentTypeError("expected GOVPERF_NAME=VALUE")
    return name, setting_value


PHASES = {
    # The target load: 1,000 events/s offered in small transactions, as services write them.
    "steady": {"rate": 1000.0, "batch": 10, "writers": 4},
    # Capacity: the whole run committed at once, then drained.
    "backlog": {"rate": 0.0, "batch": None, "writers": 1},
}


def judge(summaries: list[dict[str, Any]]) -> bool:
    """Print the targets against the phase each is about; True if both are met."""
    by_phase = {s["phase"]: s for s in summaries}
    steady = by_phase.get("steady", summaries[0])
    backlog = by_phase.get("backlog", summaries[-1])
    p50 = steady["sender_from_commit_ms"]["p50"]
    p99 = steady["sender_from_commit_ms"]["p99"]
    rate = backlog["deliveries_per_s"] or 0.0
    p50_met = p50 is not None and p50 < TARGET_P50_MS
    rate_met = rate >= TARGET_RATE
    print("\n== targets")
    print(
        f"  p50 commit -> 2xx < {TARGET_P50_MS:.0f} ms   {met(p50_met)}: "
        f"p50 {p50} ms, p99 {p99} ms ({steady['phase']} phase, "
        f"{steady['rate']:g} events/s offered, LISTEN/NOTIFY)"
    )
    print(
        f"  >= {TARGET_RATE:.0f} deliveries/s   {met(rate_met)}: {rate:.0f}/s "
        f"({backlog['phase']} phase; steady phase kept {steady['deliveries_per_s']:.0f}/s)"
    )
    return p50_met and rate_met


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Without --rate/--batch/--writers it runs two phases, each on fresh databases "
        "and processes: steady (1,000 events/s offered, 10 per transaction, 4 writers: the "
        "latency target) and backlog (all events committed at once and drained: the "
        "throughput target). With any of them it runs one custom phase.",
    )
    parser.add_argument("--events", type=positive_int, default=10_000, help="events to emit")
    parser.add_argument("--batch", type=positive_int, help="events per transaction (10)")
    parser.add_argument(
        "--rate", type=float, help="offered events/s; 0: as fast as possible (1000)"
    )
    parser.add_argument("--writers", type=positive_int, help="concurrent writing transactions (4)")
    parser.add_argument(
        "--env",
        type=setting,
        action="append",
        default=[],
        metavar="GOVPERF_X=VALUE",
        help="an extra setting for both services (tuning experiments); repeatable",
    )
    args = parser.parse_args()
    if args.rate is not None and args.rate < 0:
        parser.error("--rate must be 0 or more")
    custom = {k: getattr(args, k) for k in ("rate", "batch", "writers")}
    if any(v is not None for v in custom.values()):
        phases = {
            "custom": {k: v if v is not None else PHASES["steady"][k] for k, v in custom.items()}
        }
    else:
        phases = PHASES
    sys.stdout.reconfigure(line_buffering=True)  # keep our lines in order with the servers'
    cancel_on_sigterm()
    print("\n".join(machine(await postgres_version())))
    summaries = []
    for phase, values in phases.items():
        phase_args = argparse.Namespace(**{**vars(args), **values, "phase": phase})
        phase_args.batch = phase_args.batch or args.events
        print(f"\n== phase {phase}")
        try:
            summary = await run(phase_args)
        except Exception as exc:
            print(f"!! failed: {type(exc).__name__}: {exc}")
            return 1
        summaries.append(summary)
        if not (summary["finished"] and summary["receiver_ok"]):
            return 1
    judge(summaries)
    print()
    for summary in summaries:
        print(json.dumps(summary, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main()))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("!! interrupted; servers stopped, databases removed")
        sys.exit(130)
