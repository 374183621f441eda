"""Periodic jobs in a service's lifespan: scheduled publications, overdue tasks, reminders.

A job is a coroutine `run(session, now) -> count` that does one round of work in one write
transaction and says how many things it changed. Every replica runs every job; a job stays
safe with several replicas by changing each row with a conditional statement (`UPDATE …
WHERE status = 'scheduled' AND publish_at <= :now`, or an insert guarded by a unique key):
whichever replica gets there first changes it, the others find nothing left to do, and any
event it emits is written in the same transaction (the outbox), so it goes out once.

Tests and operators call `app.state.scheduler.run_once(name, now=…)` with the time injected
instead of sleeping; the loop itself passes the wall clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import Database, utcnow

log = structlog.get_logger("govperf.scheduler")

JobFunction = Callable[[AsyncSession, datetime], Awaitable[int]]


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    run: JobFunction
    # None: the component's `scheduler_interval_seconds`.
    interval_seconds: float | None = None


class Scheduler:
    """Runs each job every interval (the first round right after start), one task per job."""

    def __init__(self, component: str, db: Database, jobs: Sequence[PeriodicJob], interval: float):
        self.component = component
        self.db = db
        self.jobs = {job.name: job for job in jobs}
        self.interval = interval
        self._tasks: list[asyncio.Task[None]] = []

    async def run_once(self, name: str, *, now: datetime | None = None) -> int:
        """One round of one job in its own transaction; the number of things it changed."""
        job = self.jobs[name]
        async with self.db.session() as session:
            changed = await job.run(session, now or utcnow())
            await session.commit()
        if changed:
            log.info("job_ran", service=self.component, job=name, changed=changed)
        return changed

    async def _loop(self, job: PeriodicJob) -> None:
        while True:
            try:
                await self.run_once(job.name)
            except Exception as exc:  # the next round tries again
                log.warning(
                    "job_failed",
                    service=self.component,
                    job=job.name,
                    error=f"{type(exc).__name__}: {exc}",
                )
            await asyncio.sleep(job.interval_seconds or self.interval)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._loop(job), name=f"{self.component}-{job.name}")
            for job in self.jobs.values()
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
