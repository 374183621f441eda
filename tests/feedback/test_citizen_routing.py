"""Citizen feedback on a published item goes to the department (and cycle) the publication
is about, as disclosure's `publication.*` events describe it; a late or repeated event of an
older version changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from services.feedback.models import PublishedItem, RectificationTask
from tests.feedback.results import deliver
from tests.harness import HARBIN, HEIHE, Stack, auth

CYCLE = str(uuid.uuid4())
DEPARTMENT = str(uuid.uuid4())
OTHER_DEPARTMENT = str(uuid.uuid4())


def publication(
    publication_id: str,
    *,
    version: int = 1,
    status: str = "published",
    department_id: str | None = DEPARTMENT,
    department: str | None = "HH-SOC",
    cycle_id: str | None = CYCLE,
    jurisdiction_code: str = HEIHE,
    title: str = "2026 年度社保局绩效结果",
) -> dict[str, Any]:
    """`publication.published` / `.retracted` data, as disclosure sends it."""
    return {
        "publication_id": publication_id,
        "jurisdiction_code": jurisdiction_code,
        "kind": "department_result" if department_id else "results",
        "title": title,
        "title_en": None,
        "publication_version": version,
        "supersedes": version - 1 if version > 1 else None,
        "status": status,
        "cycle_id": cycle_id,
        "department_id": department_id,
        "department": department,
        "period": "2026",
        "category": "economic",
        "subject_key": f"department_result:{cycle_id}:{department_id}",
        "ledger_seq": version,
        "published_at": "2026-12-01T08:00:00Z",
        "retracted_at": "2026-12-02T08:00:00Z" if status == "retracted" else None,
        "retraction_reason": "错误数据" if status == "retracted" else None,
    }


async def published(stack: Stack, **fields: Any) -> str:
    publication_id = str(uuid.uuid4())
    await deliver(stack, "publication.published", publication(publication_id, **fields))
    return publication_id


async def submit(stack: Stack, publication_id: str, **fields: Any) -> Any:
    return await stack.client("feedback").post(
        "/v1/citizen-feedback",
        json={
            "jurisdiction_code": HEIHE,
            "kind": "complaint",
            "text": "结果公布后窗口仍然排长队",
            "publication_id": publication_id,
            **fields,
        },
    )


async def item(stack: Stack, publication_id: str) -> PublishedItem | None:
    async with stack.apps["feedback"].state.db.session(read_only=True) as session:
        return await session.get(PublishedItem, uuid.UUID(publication_id))


class TestRouting:
    async def test_feedback_given_only_a_publication_goes_to_its_department_and_cycle(
        self, stack: Stack
    ) -> None:
        publication_id = await published(stack)
        response = await submit(stack, publication_id)
        assert response.status_code == 201, response.text
        feedback = response.json()
        assert feedback["department_id"] == DEPARTMENT
        assert feedback["department_code"] == "HH-SOC"
        assert feedback["cycle_id"] == CYCLE
        officer = auth("department", department_id=DEPARTMENT)
        listed = await stack.client("feedback").get("/v1/citizen-feedback", headers=officer)
        assert [f["id"] for f in listed.json()["items"]] == [feedback["id"]]

    async def test_the_same_department_named_beside_the_publication_is_accepted(
        self, stack: Stack
    ) -> None:
        publication_id = await published(stack)
        response = await submit(
            stack, publication_id, department_id=DEPARTMENT, department_code="HH-SOC"
        )
        assert response.status_code == 201, response.text
        assert response.json()["department_id"] == DEPARTMENT

    async def test_another_department_named_beside_the_publication_is_422(
        self, stack: Stack
    ) -> None:
        publication_id = await published(stack)
        by_id = await submit(stack, publication_id, department_id=OTHER_DEPARTMENT)
        assert (by_id.status_code, by_id.json()["code"]) == (422, "department-mismatch")
        by_code = await submit(stack, publication_id, department_code="HH-EDU")
        assert (by_code.status_code, by_code.json()["code"]) == (422, "department-mismatch")
        office = await stack.client("feedback").get("/v1/citizen-feedback", headers=auth())
        assert office.json()["items"] == []

    async def test_a_cycle_wide_publication_routes_to_the_cycle_and_the_department_named(
        self, stack: Stack
    ) -> None:
        publication_id = await published(stack, department_id=None, department=None)
        unrouted = await submit(stack, publication_id)
        assert unrouted.status_code == 201
        assert (unrouted.json()["department_id"], unrouted.json()["cycle_id"]) == (None, CYCLE)
        named = await submit(
            stack, publication_id, department_id=OTHER_DEPARTMENT, department_code="HH-EDU"
        )
        assert (named.json()["department_id"], named.json()["cycle_id"]) == (
            OTHER_DEPARTMENT,
            CYCLE,
        )

    async def test_a_task_spawned_from_it_belongs_to_the_publications_cycle(
        self, stack: Stack
    ) -> None:
        publication_id = await published(stack)
        feedback = (await submit(stack, publication_id)).json()
        client = stack.client("feedback")
        spawned = await client.post(
            f"/v1/citizen-feedback/{feedback['id']}/task", json={}, headers=auth()
        )
        assert spawned.status_code == 200, spawned.text
        async with stack.apps["feedback"].state.db.session(read_only=True) as session:
            task = (
                await session.scalars(
                    select(RectificationTask).where(RectificationTask.origin_ref == feedback["id"])
                )
            ).one()
        assert (str(task.cycle_id), str(task.department_id)) == (CYCLE, DEPARTMENT)


class TestPublicationEvents:
    async def test_a_retracted_publication_takes_no_more_feedback(self, stack: Stack) -> None:
        publication_id = await published(stack)
        await deliver(
            stack, "publication.retracted", publication(publication_id, status="retracted")
        )
        response = await submit(stack, publication_id)
        assert (response.status_code, response.json()["code"]) == (422, "unknown-publication")

    async def test_a_publication_of_another_city_is_unknown_here(self, stack: Stack) -> None:
        publication_id = await published(stack, jurisdiction_code=HARBIN)
        response = await submit(stack, publication_id)
        assert (response.status_code, response.json()["code"]) == (422, "unknown-publication")

    async def test_a_later_version_moves_the_subjects_and_a_late_older_one_changes_nothing(
        self, stack: Stack
    ) -> None:
        publication_id = str(uuid.uuid4())
        await deliver(
            stack,
            "publication.published",
            publication(publication_id, version=2, department_id=OTHER_DEPARTMENT),
        )
        # Version 1 arrives late, and version 2 again under a new webhook id.
        await deliver(stack, "publication.published", publication(publication_id, version=1))
        await deliver(
            stack,
            "publication.published",
            publication(publication_id, version=2, department_id=OTHER_DEPARTMENT, title="改"),
        )
        known = await item(stack, publication_id)
        assert known is not None
        assert (known.publication_version, known.supersedes) == (2, 1)
        assert (str(known.department_id), known.title) == (
            OTHER_DEPARTMENT,
            "2026 年度社保局绩效结果",
        )
        feedback = (await submit(stack, publication_id)).json()
        assert feedback["department_id"] == OTHER_DEPARTMENT

    async def test_a_retraction_is_not_undone_by_its_version_arriving_again(
        self, stack: Stack
    ) -> None:
        publication_id = await published(stack)
        await deliver(
            stack, "publication.retracted", publication(publication_id, status="retracted")
        )
        await deliver(stack, "publication.published", publication(publication_id))
        known = await item(stack, publication_id)
        assert known is not None and known.status == "retracted"
        # A new version published after the retraction takes feedback again.
        await deliver(stack, "publication.published", publication(publication_id, version=2))
        assert (await submit(stack, publication_id)).status_code == 201
