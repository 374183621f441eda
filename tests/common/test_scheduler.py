"""Periodic jobs: the time a round sees, a failing round, and two replicas at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import Database
from services.common.scheduler import PeriodicJob, Scheduler
from services.disclosure.models import Publication
from tests.harness import HEIHE, Stack, auth


async def _draft(stack: Stack) -> str:
    response = await stack.client("disclosure").post(
        "/v1/publications",
        json={"jurisdiction_code": HEIHE, "kind": "notice", "title": "t"},
        headers=auth(),
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _publish_drafts(session: AsyncSession, now: datetime) -> int:
    """A conditional change: only a row still a draft changes, whoever gets there first."""
    result = await session.execute(
        update(Publication)
        .where(Publication.status == "draft")
        .values(status="published", published_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


class TestScheduler:
    async def test_a_round_sees_the_injected_time_and_commits(self, stack: Stack) -> None:
        publication_id = await _draft(stack)
        db = Database(stack.urls["disclosure"])
        scheduler = Scheduler("disclosure", db, [PeriodicJob("publish", _publish_drafts)], 30.0)
        when = datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
        try:
            assert await scheduler.run_once("publish", now=when) == 1
            assert await scheduler.run_once("publish", now=when) == 0
        finally:
            await db.dispose()
        # As the office: a row changed by a bare UPDATE has no published version the public
        # could read; the office reads the working copy the job changed.
        reply = await stack.client("disclosure").get(
            f"/v1/publications/{publication_id}", headers=auth()
        )
        body = reply.json()
        assert body["status"] == "published"
        assert datetime.fromisoformat(body["published_at"]) == when

    async def test_two_replicas_change_a_row_once(self, stack: Stack) -> None:
        await _draft(stack)
        dbs = [Database(stack.urls["disclosure"]) for _ in range(2)]
        replicas = [
            Scheduler("disclosure", db, [PeriodicJob("p", _publish_drafts)], 30.0) for db in dbs
        ]
        try:
            changed = await asyncio.gather(*(r.run_once("p") for r in replicas))
        finally:
            for db in dbs:
                await db.dispose()
        assert sorted(changed) == [0, 1]

    async def test_a_failing_round_does_not_stop_the_job(self, stack: Stack) -> None:
        calls: list[int] = []

        async def flaky(session: AsyncSession, now: datetime) -> int:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("database hiccup")
            return 0

        db = Database(stack.urls["disclosure"])
        scheduler = Scheduler("disclosure", db, [PeriodicJob("flaky", flaky, 0.01)], 30.0)
        scheduler.start()
        try:
            for _ in range(200):
                if len(calls) >= 3:
                    break
                await asyncio.sleep(0.01)
        finally:
            await scheduler.stop()
            await db.dispose()
        assert len(calls) >= 3
