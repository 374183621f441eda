"""Bulk progress updates: export tasks, edit the file, import it back (CSV and XLSX)."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx
import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from services.feedback.models import AuditLog, RectificationTask
from tests.harness import HARBIN, HEIHE, Stack, auth

DEPARTMENT = str(uuid.uuid4())
OTHER = str(uuid.uuid4())
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def officer(department: str = DEPARTMENT) -> dict[str, str]:
    return auth("department", department_id=department)


async def new_task(client: httpx.AsyncClient, department: str = DEPARTMENT, **fields: Any) -> Any:
    response = await client.post(
        "/v1/rectification-tasks",
        json={
            "jurisdiction_code": HEIHE,
            "department_id": department,
            "department_code": "HH-SOC" if department == DEPARTMENT else "HH-EDU",
            "title": "缩短办事窗口排队时间",
            "deadline": "2027-03-31",
            **fields,
        },
        headers=auth(),
    )
    assert response.status_code == 201, response.text
    return response.json()


def rows_of_csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def csv_of(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


async def send(
    client: httpx.AsyncClient,
    content: bytes,
    headers: dict[str, str],
    *,
    name: str = "tasks.csv",
    kind: str = "text/csv",
    dry_run: bool = False,
) -> httpx.Response:
    return await client.post(
        "/v1/rectification-tasks/import",
        params={"dry_run": str(dry_run).lower()},
        files={"file": (name, content, kind)},
        headers=headers,
    )


async def task_of(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/rectification-tasks/{task_id}", headers=auth())
    assert response.status_code == 200, response.text
    return response.json()


class TestCsvRoundTrip:
    async def test_export_edit_dry_run_then_import(self, stack: Stack) -> None:
        client = stack.client("feedback")
        first = await new_task(client)
        second = await new_task(client, title="规范执法程序")
        await new_task(client, OTHER)
        exported = await client.get("/v1/rectification-tasks/export.csv", headers=officer())
        assert exported.status_code == 200
        assert exported.headers["content-type"].startswith("text/csv")
        rows = rows_of_csv(exported.content)
        assert [r["id"] for r in rows] == sorted([first["id"], second["id"]])
        assert list(rows[0]) == [
            "id", "department", "cycle_id", "origin", "origin_ref", "title",
            "deadline", "status", "progress", "plan", "note",
        ]  # fmt: skip
        edited = {r["id"]: r for r in rows}
        edited[first["id"]].update(plan="增设两个窗口", status="in_progress", progress="40")
        dry = await send(client, csv_of(rows), officer(), dry_run=True)
        assert dry.status_code == 200, dry.text
        assert dry.json() == {
            "rows": 2,
            "updated": 1,
            "unchanged": 1,
            "errors": [],
            "dry_run": True,
        }
        untouched = await task_of(client, first["id"])
        assert (untouched["status"], untouched["progress"], untouched["plan"]) == ("open", 0, None)
        applied = await send(client, csv_of(rows), officer())
        assert applied.json()["updated"] == 1
        task = await task_of(client, first["id"])
        assert (task["status"], task["progress"], task["plan"]) == (
            "in_progress",
            40,
            "增设两个窗口",
        )
        assert [h["to_status"] for h in task["history"]] == ["open", "planned", "in_progress"]
        again = await send(client, csv_of(rows), officer())
        assert (again.json()["updated"], again.json()["unchanged"]) == (0, 2)

    async def test_the_dry_run_leaves_no_audit_and_no_event(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        rows = rows_of_csv(
            (await client.get("/v1/rectification-tasks/export.csv", headers=officer())).content
        )
        rows[0].update(plan="增设两个窗口")

        async def counts() -> tuple[int, int]:
            async with stack.apps["feedback"].state.db.session(read_only=True) as session:
                audits = await session.scalar(
                    select(func.count()).where(AuditLog.resource_id == task["id"])
                )
                from services.feedback.models import COMMON

                events = await session.scalar(select(func.count()).select_from(COMMON.outbox))
            return int(audits or 0), int(events or 0)

        before = await counts()
        dry = await send(client, csv_of(rows), officer(), dry_run=True)
        assert dry.status_code == 200, dry.text
        assert await counts() == before


class TestRulesHoldRowByRow:
    async def test_any_error_writes_nothing_and_says_where(self, stack: Stack) -> None:
        client = stack.client("feedback")
        first = await new_task(client)
        second = await new_task(client)
        third = await new_task(client)
        rows = rows_of_csv(
            (await client.get("/v1/rectification-tasks/export.csv", headers=officer())).content
        )
        by_id = {r["id"]: r for r in rows}
        by_id[first["id"]].update(plan="增设两个窗口")
        # A department verifying its own task: the office's step, not its.
        by_id[second["id"]].update(status="verified")
        by_id[third["id"]].update(progress="150")
        rows.append({**rows[0], "id": "not-an-id"})
        response = await send(client, csv_of(rows), officer())
        assert response.status_code == 422
        body = response.json()
        assert body["code"] == "import-rejected"
        assert (body["rows"], body["updated"]) == (4, 1)
        line_of = {r["id"]: i for i, r in enumerate(rows, start=2)}
        errors = {(e["row"], e["column"]) for e in body["errors"]}
        assert errors == {
            (line_of[second["id"]], "status"),
            (line_of[third["id"]], "progress"),
            (line_of["not-an-id"], "id"),
        }
        assert (await task_of(client, first["id"]))["plan"] is None

    async def test_a_department_imports_only_its_own_tasks(self, stack: Stack) -> None:
        client = stack.client("feedback")
        theirs = await new_task(client, OTHER)
        rows = rows_of_csv(
            (await client.get("/v1/rectification-tasks/export.csv", headers=auth())).content
        )
        rows[0].update(plan="替别人写的计划")
        response = await send(client, csv_of(rows), officer())
        assert response.status_code == 422
        [error] = response.json()["errors"]
        assert (error["row"], error["column"]) == (2, "id")
        assert (await task_of(client, theirs["id"]))["plan"] is None

    async def test_the_office_verifies_in_bulk_but_cannot_plan(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        for path, body in (
            ("plan", {"plan": "增设两个窗口"}),
            ("status", {"to_status": "in_progress"}),
            ("status", {"to_status": "submitted"}),
        ):
            method = client.put if path == "plan" else client.post
            moved = await method(
                f"/v1/rectification-tasks/{task['id']}/{path}", json=body, headers=officer()
            )
            assert moved.status_code == 200, moved.text
        rows = rows_of_csv(
            (await client.get("/v1/rectification-tasks/export.csv", headers=auth())).content
        )
        rows[0].update(plan="办公室改写的计划")
        refused = await send(client, csv_of(rows), auth())
        assert [e["column"] for e in refused.json()["errors"]] == ["plan"]
        rows[0].update(plan="增设两个窗口", status="verified", note="已现场核查")
        verified = await send(client, csv_of(rows), auth())
        assert verified.status_code == 200, verified.text
        assert (await task_of(client, task["id"]))["status"] == "verified"

    async def test_another_city_finds_no_task(self, stack: Stack) -> None:
        client = stack.client("feedback")
        await new_task(client)
        rows = rows_of_csv(
            (await client.get("/v1/rectification-tasks/export.csv", headers=auth())).content
        )
        rows[0].update(status="verified")
        response = await send(client, csv_of(rows), auth(jurisdictions=(HARBIN,)))
        assert [e["column"] for e in response.json()["errors"]] == ["id"]

    @pytest.mark.parametrize(
        ("content", "column"),
        [
            (b"", "id"),
            (b"title,status\r\nx,open\r\n", "id"),
            (b"id,colour\r\nx,red\r\n", "colour"),
        ],
    )
    async def test_a_file_without_the_columns_is_refused(
        self, stack: Stack, content: bytes, column: str
    ) -> None:
        response = await send(stack.client("feedback"), content, auth())
        assert response.status_code == 422
        assert column in [e["column"] for e in response.json()["errors"]]

    async def test_an_unreadable_file_is_a_problem_not_a_crash(self, stack: Stack) -> None:
        client = stack.client("feedback")
        broken = await send(client, b"PK\x03\x04garbage", auth(), name="tasks.xlsx", kind=XLSX)
        assert (broken.status_code, broken.json()["code"]) == (422, "unreadable-file")
        latin = await send(client, "id,status\r\né,open".encode("latin-1"), auth())
        assert (latin.status_code, latin.json()["code"]) == (422, "unreadable-file")


class TestXlsxRoundTrip:
    async def test_export_edit_and_import_a_workbook(self, stack: Stack) -> None:
        client = stack.client("feedback")
        task = await new_task(client)
        exported = await client.get("/v1/rectification-tasks/export.xlsx", headers=officer())
        assert exported.status_code == 200
        assert exported.headers["content-type"] == XLSX
        sheet = load_workbook(io.BytesIO(exported.content)).worksheets[0]
        header = [c.value for c in sheet[1]]
        values = [c.value for c in sheet[2]]
        assert values[header.index("id")] == task["id"]
        assert values[header.index("title")] == "缩短办事窗口排队时间"
        workbook = Workbook()
        edited = workbook.active
        edited.append(header)
        values[header.index("plan")] = "增设两个窗口"
        values[header.index("progress")] = 25.5
        edited.append(values)
        out = io.BytesIO()
        workbook.save(out)
        dry = await send(
            client, out.getvalue(), officer(), name="edited.xlsx", kind=XLSX, dry_run=True
        )
        assert (dry.status_code, dry.json()["updated"]) == (200, 1)
        # Told apart by content too: no extension, no spreadsheet content type.
        applied = await send(
            client, out.getvalue(), officer(), name="upload", kind="application/octet-stream"
        )
        assert applied.status_code == 200, applied.text
        stored = await task_of(client, task["id"])
        assert (stored["plan"], stored["progress"], stored["status"]) == (
            "增设两个窗口",
            25.5,
            "planned",
        )
        async with stack.apps["feedback"].state.db.session(read_only=True) as session:
            row = await session.get(RectificationTask, uuid.UUID(task["id"]))
        assert row is not None and row.progress == 25.5


class TestScope:
    async def test_naming_another_city_or_department_is_refused(self, stack: Stack) -> None:
        client = stack.client("feedback")
        await new_task(client)
        elsewhere = await client.get(
            "/v1/rectification-tasks/export.csv",
            params={"jurisdiction": HEIHE},
            headers=auth(jurisdictions=(HARBIN,)),
        )
        assert elsewhere.status_code == 403
        other = await client.get(
            "/v1/rectification-tasks/export.xlsx",
            params={"department_id": OTHER},
            headers=officer(),
        )
        assert other.status_code == 403
        rows = rows_of_csv(
            (await client.get("/v1/rectification-tasks/export.csv", headers=auth())).content
        )
        rows[0].update(status="verified")
        narrowed = await client.post(
            "/v1/rectification-tasks/import",
            params={"department_id": OTHER},
            files={"file": ("tasks.csv", csv_of(rows), "text/csv")},
            headers=auth(),
        )
        assert [e["column"] for e in narrowed.json()["errors"]] == ["id"]

    async def test_an_import_without_a_file_is_a_problem(self, stack: Stack) -> None:
        response = await stack.client("feedback").post(
            "/v1/rectification-tasks/import", headers=auth()
        )
        assert (response.status_code, response.json()["code"]) == (422, "file-required")
