"""Scheduled publications go out at their time, with nobody present, once across replicas."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from services.common.db import Database
from services.common.scheduler import Scheduler
from services.disclosure.app import DEFINITION
from tests import factories
from tests.harness import Stack, auth

APPROVER = auth(subject="approver-b")
JOB = "publish-scheduled"


def _future(days: int = 7) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


async def _scheduled(stack: Stack, at: datetime) -> dict:
    client = stack.client("disclosure")
    item = await factories.approved_publication(client, title="年度报告", kind="annual_report")
    response = await client.post(
        f"/v1/publications/{item['id']}/schedule",
        json={"publish_at": at.isoformat()},
        headers=APPROVER,
    )
    assert response.status_code == 200, response.text
    return response.json()


class TestScheduling:
    async def test_a_scheduled_publication_waits_then_goes_out_at_its_time(
        self, stack: Stack
    ) -> None:
        client = stack.client("disclosure")
        at = _future()
        item = await _scheduled(stack, at)
        assert item["status"] == "scheduled"
        assert datetime.fromisoformat(item["scheduled_at"]) == at
        scheduler = stack.apps["disclosure"].state.scheduler
        assert await scheduler.run_once(JOB, now=at - timedelta(seconds=1)) == 0
        assert (await client.get(f"/v1/publications/{item['id']}")).status_code == 404
        assert await scheduler.run_once(JOB, now=at + timedelta(seconds=5)) == 1
        public = (await client.get(f"/v1/publications/{item['id']}")).json()
        assert (public["status"], public["version"]) == ("published", 1)
        assert datetime.fromisoformat(public["published_at"]) == at + timedelta(seconds=5)
        assert await scheduler.run_once(JOB, now=at + timedelta(minutes=1)) == 0
        ledger = (await client.get("/v1/ledger")).json()["items"]
        assert [(e["publication_id"], e["action"]) for e in ledger] == [(item["id"], "published")]

    async def test_two_replicas_publish_it_once(self, stack: Stack) -> None:
        at = _future()
        item = await _scheduled(stack, at)
        dbs = [Database(stack.urls["disclosure"]) for _ in range(2)]
        # Each replica's sessions know the service's tables, as its lifespan sets them up.
        info = stack.apps["disclosure"].state.db.write_sessions.kw["info"]
        for db in dbs:
            for factory in db.session_factories:
                factory.configure(info=info)
        replicas = [Scheduler("disclosure", db, DEFINITION.periodic_jobs, 30.0) for db in dbs]
        try:
            changed = await asyncio.gather(
                *(r.run_once(JOB, now=at + timedelta(seconds=1)) for r in replicas)
            )
        finally:
            for db in dbs:
                await db.dispose()
        assert sorted(changed) == [0, 1]
        versions = (
            await stack.client("disclosure").get(f"/v1/publications/{item['id']}/versions")
        ).json()["items"]
        assert [v["version"] for v in versions] == [1]
        assert (await stack.client("disclosure").get("/v1/ledger/verify")).json()["valid"]

    async def test_a_time_gone_by_is_refused(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        item = await factories.approved_publication(client)
        response = await client.post(
            f"/v1/publications/{item['id']}/schedule",
            json={"publish_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat()},
            headers=APPROVER,
        )
        assert response.status_code == 422 and response.json()["code"] == "schedule-in-past"

    async def test_an_unapproved_draft_of_an_approval_kind_cannot_be_scheduled(
        self, stack: Stack
    ) -> None:
        client = stack.client("disclosure")
        draft = await factories.draft_publication(client, kind="notice")
        response = await client.post(
            f"/v1/publications/{draft['id']}/schedule",
            json={"publish_at": _future().isoformat()},
            headers=APPROVER,
        )
        assert response.status_code == 409 and response.json()["code"] == "approval-required"

    async def test_editing_a_scheduled_publication_unschedules_it(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        at = _future()
        item = await _scheduled(stack, at)
        edit = await client.patch(
            f"/v1/publications/{item['id']}", json={"title": "改"}, headers=auth(subject="c")
        )
        assert (edit.json()["status"], edit.json()["scheduled_at"]) == ("draft", None)
        scheduler = stack.apps["disclosure"].state.scheduler
        assert await scheduler.run_once(JOB, now=at + timedelta(days=1)) == 0
