"""Measurements: bulk import in three formats, export round trips, the change feed,
one value at a time, verification, and who may touch whose data."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests import factories
from tests.harness import HEIHE, Stack, auth
from tests.indicator.builders import city, published_system

IMPORT = "/v1/measurements/import"


def rows(*items: tuple[str, str, str, float | None]) -> dict[str, Any]:
    return {
        "measurements": [
            {"indicator": i, "department": d, "period": p, "value": v} for i, d, p, v in items
        ]
    }


async def post_import(
    client: httpx.AsyncClient, body: Any, *, headers: dict[str, str] | None = None, **params: Any
) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post(
        IMPORT,
        params={"jurisdiction": HEIHE, **params},
        content=content,
        headers={"content-type": "application/json", **(headers or auth())},
    )


async def values(client: httpx.AsyncClient) -> dict[tuple[str, str], float | None]:
    listed = await client.get("/v1/measurements", params={"limit": 200}, headers=auth())
    assert listed.status_code == 200, listed.text
    return {(m["indicator_code"], m["period"]): m["value"] for m in listed.json()["items"]}


class TestImportStrategies:
    async def test_create_and_update_then_each_strategy(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        first = await post_import(
            client, rows(("ECO.1.1", "FGW", "2026Q1", 80), ("ECO.1.2", "FGW", "202603", 5))
        )
        assert first.status_code == 200, first.text
        assert first.json()["imported"] == 2 and first.json()["status"] == "SUCCESS"

        create = await post_import(
            client,
            rows(("ECO.1.1", "FGW", "2026Q1", 99), ("ECO.1.1", "FGW", "2026Q2", 70)),
            importStrategy="CREATE",
        )
        assert (create.json()["imported"], create.json()["ignored"]) == (1, 1)
        update = await post_import(
            client,
            rows(("ECO.1.1", "FGW", "2026Q1", 85), ("ECO.1.1", "FGW", "2026Q3", 60)),
            importStrategy="UPDATE",
        )
        assert (update.json()["updated"], update.json()["ignored"]) == (1, 1)
        delete = await post_import(
            client,
            rows(("ECO.1.2", "FGW", "202603", None), ("ECO.1.2", "FGW", "202604", None)),
            importStrategy="DELETE",
        )
        assert (delete.json()["deleted"], delete.json()["ignored"]) == (1, 1)
        assert await values(client) == {("ECO.1.1", "2026Q1"): 85, ("ECO.1.1", "2026Q2"): 70}

    async def test_sending_the_same_import_again_changes_nothing(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        body = rows(("ECO.1.1", "FGW", "2026Q1", 80), ("ECO.2", "FGW", "2026", 91.5))
        await post_import(client, body)
        again = await post_import(client, body)
        assert (again.json()["imported"], again.json()["updated"], again.json()["ignored"]) == (
            0,
            0,
            2,
        )
        assert len(await values(client)) == 2

    async def test_a_dry_run_reports_and_writes_nothing(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        dry = await post_import(client, rows(("ECO.1.1", "FGW", "2026Q1", 80)), dryRun="true")
        assert dry.status_code == 200
        assert dry.json()["imported"] == 1 and dry.json()["written"] is False
        assert await values(client) == {}

    @pytest.mark.parametrize(
        ("row", "field", "reason"),
        [
            (("NOPE", "FGW", "2026Q1", 1), "indicator", "unknown indicator"),
            (("ECO.1.1", "NOPE", "2026Q1", 1), "department", "unknown department"),
            (("ECO.1.1", "FGW", "202603", 1), "period", "reported quarterly"),
            (("ECO.1.1", "FGW", "2025Q1", 1), "period", "no published indicator system"),
            (("SOC.2", "FGW", "2026Q1", 1), "indicator", "computed by a formula"),
            (("ECO", "FGW", "2026", 1), "indicator", "a dimension"),
            (("ECO.1.1", "FGW", "2026Q5", 1), "period", "not a period"),
            (("ECO.1.1", "FGW", "2026Q1", None), "value", "value is required"),
            (("ECO.2", "FGW", "2026", 91), "row", "repeats row 1"),
        ],
    )
    async def test_one_bad_row_rejects_an_atomic_import(
        self, stack: Stack, row: tuple[Any, ...], field: str, reason: str
    ) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        response = await post_import(client, rows(("ECO.2", "FGW", "2026", 90), row))
        assert response.status_code == 409, response.text
        summary = response.json()["summary"]
        [conflict] = summary["conflicts"]
        assert (conflict["row"], conflict["field"]) == (2, field)
        assert reason in conflict["reason"]
        assert summary["written"] is False
        assert await values(client) == {}

    async def test_a_non_atomic_import_keeps_the_good_rows(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        response = await post_import(
            client,
            rows(("ECO.2", "FGW", "2026", 90), ("NOPE", "FGW", "2026", 1)),
            atomic="false",
        )
        assert response.status_code == 200
        assert response.json()["status"] == "WARNING"
        assert (response.json()["imported"], response.json()["ignored"]) == (1, 1)
        assert await values(client) == {("ECO.2", "2026"): 90}

    async def test_one_bad_row_among_ten_thousand_writes_nothing(self, stack: Stack) -> None:
        client = stack.client("indicator")
        years = range(2026, 2031)
        for year in years:
            await published_system(client, year=year)
        departments = [f"D{n:03d}" for n in range(100)]
        for code in departments:
            await factories.create_department(client, code=code, category="economic")
        pairs = [pair for year in years for pair in _pairs(year)]
        measurements = [
            {"indicator": indicator, "department": dept, "period": period, "value": n}
            for n, (dept, (indicator, period)) in enumerate(
                (d, p) for d in departments for p in pairs
            )
        ][:10_000]
        assert len(measurements) == 10_000
        measurements[5000]["value"] = "五"
        response = await post_import(client, {"measurements": measurements})
        assert response.status_code == 409
        assert response.json()["summary"]["conflicts_total"] == 1
        assert response.json()["summary"]["conflicts"][0]["row"] == 5001
        assert await values(client) == {}

        del measurements[5000]
        accepted = await post_import(client, {"measurements": measurements})
        assert accepted.json()["imported"] == 9_999


def _pairs(year: int) -> list[tuple[str, str]]:
    """The (indicator, period) pairs one year of the economic system takes values for."""
    months = [("ECO.1.2", f"{year}{m:02d}") for m in range(1, 13)]
    quarters = [("ECO.1.1", f"{year}Q{q}") for q in range(1, 5)]
    annual = [(code, str(year)) for code in ("ECO.2", "SOC.1", "SOC.B", "SOC.V")]
    return months + quarters + annual


class TestFormats:
    async def test_dhis2_data_value_sets_with_set_level_period_and_org_unit(
        self, stack: Stack
    ) -> None:
        client = stack.client("indicator")
        await city(client, "FGW", "SWJ")
        body = {
            "dataValues": [
                {"dataElement": "ECO.2", "value": "91.5", "comment": "年报"},
                {"dataElement": "ECO.2", "orgUnit": "SWJ", "value": "77"},
            ],
            "period": "2026",
            "orgUnit": "FGW",
        }
        response = await client.post(
            "/v1/dataValueSets",
            params={"jurisdiction": HEIHE},
            json=body,
            headers=auth(),
        )
        assert response.status_code == 200, response.text
        assert response.json()["response"]["importCount"]["imported"] == 2
        exported = await client.get(
            "/v1/measurements/export",
            params={"jurisdiction": HEIHE, "format": "dhis2"},
            headers=auth(),
        )
        assert exported.json() == {
            "dataValues": [
                {
                    "dataElement": "ECO.2",
                    "period": "2026",
                    "orgUnit": "FGW",
                    "value": "91.5",
                    "comment": "年报",
                },
                {"dataElement": "ECO.2", "period": "2026", "orgUnit": "SWJ", "value": "77"},
            ]
        }

    async def test_csv_with_a_bom_and_chinese_text(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        csv_text = (
            "indicator,department,period,value,comment\n"
            "ECO.2,FGW,2026,91.5,全年完成目标\n"
            'ECO.1.1,FGW,2026Q1,80,"含逗号, 和引号"""\n'
        )
        response = await client.post(
            IMPORT,
            params={"jurisdiction": HEIHE},
            content=b"\xef\xbb\xbf" + csv_text.encode(),
            headers={**auth(), "content-type": "text/csv"},
        )
        assert response.status_code == 200, response.text
        assert response.json()["imported"] == 2
        listed = await client.get("/v1/measurements", headers=auth())
        comments = {m["comment"] for m in listed.json()["items"]}
        assert comments == {"全年完成目标", '含逗号, 和引号"'}

    async def test_a_csv_row_number_is_its_line(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        response = await client.post(
            IMPORT,
            params={"jurisdiction": HEIHE, "format": "csv"},
            content=b"indicator,department,period,value\nECO.2,FGW,2026,1\nECO.2,FGW,2026,x\n",
            headers=auth(),
        )
        assert response.json()["summary"]["conflicts"] == [
            {"row": 3, "field": "value", "value": "x", "reason": "not a number"}
        ]

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            (b"indicator,dept,period\n", "Unknown column(s) dept"),
            (b'{"measurements": [', "Not valid JSON"),
            (b'{"measurements": []}', "holds no measurements"),
        ],
    )
    async def test_an_unreadable_file_is_422(
        self, stack: Stack, content: bytes, message: str
    ) -> None:
        client = stack.client("indicator")
        fmt = "csv" if content.startswith(b"indicator") else "json"
        response = await client.post(
            IMPORT, params={"jurisdiction": HEIHE, "format": fmt}, content=content, headers=auth()
        )
        assert response.status_code == 422
        assert response.json()["code"] == "invalid-import-file"
        assert message in response.json()["detail"]

    @pytest.mark.parametrize("fmt", ["json", "csv", "dhis2"])
    async def test_an_export_re_imports_with_zero_changes(self, stack: Stack, fmt: str) -> None:
        client = stack.client("indicator")
        await city(client, "FGW", "SWJ")
        await post_import(
            client,
            {
                "measurements": [
                    {
                        "indicator": "ECO.2",
                        "department": "FGW",
                        "period": "2026",
                        "value": 91.25,
                        "comment": "说明",
                        "source_system": "统计直报",
                        "evidence_url": "https://stats.example/2026",
                    },
                    {
                        "indicator": "ECO.1.1",
                        "department": "SWJ",
                        "period": "2026Q1",
                        "value": 0.1 + 0.2,
                    },
                    {"indicator": "ECO.1.2", "department": "FGW", "period": "202603", "value": -3},
                ]
            },
        )
        exported = await client.get(
            "/v1/measurements/export",
            params={"jurisdiction": HEIHE, "format": fmt},
            headers=auth(),
        )
        assert exported.status_code == 200
        again = await client.post(
            IMPORT,
            params={"jurisdiction": HEIHE, "format": fmt},
            content=exported.content,
            headers=auth(),
        )
        summary = again.json()
        assert (summary["imported"], summary["updated"], summary["ignored"]) == (0, 0, 3)

    async def test_an_export_keeps_one_year_and_one_review_status(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        await post_import(
            client,
            rows(("ECO.2", "FGW", "2026", 90), ("ECO.1.1", "FGW", "2026Q2", 5)),
        )
        listed = await client.get("/v1/measurements", params={"period": "2026Q2"}, headers=auth())
        [quarterly] = listed.json()["items"]
        verified = await client.post(f"/v1/measurements/{quarterly['id']}/verify", headers=auth())
        assert verified.status_code == 200, verified.text

        def exported(response: httpx.Response) -> list[tuple[str, str]]:
            return [(m["indicator"], m["period"]) for m in response.json()["measurements"]]

        this_year = await client.get(
            "/v1/measurements/export", params={"jurisdiction": HEIHE, "year": 2026}, headers=auth()
        )
        assert exported(this_year) == [("ECO.1.1", "2026Q2"), ("ECO.2", "2026")]
        last_year = await client.get(
            "/v1/measurements/export", params={"jurisdiction": HEIHE, "year": 2025}, headers=auth()
        )
        assert exported(last_year) == []
        verified_only = await client.get(
            "/v1/measurements/export",
            params={"jurisdiction": HEIHE, "year": 2026, "status": "verified"},
            headers=auth(),
        )
        assert exported(verified_only) == [("ECO.1.1", "2026Q2")]


class TestAccess:
    async def test_an_officer_reaches_only_its_own_department(self, stack: Stack) -> None:
        client = stack.client("indicator")
        departments = await city(client, "FGW", "SWJ")
        own = departments["FGW"]["id"]
        officer = auth("department", department_id=own)
        mine = await post_import(client, rows(("ECO.2", "FGW", "2026", 90)), headers=officer)
        assert mine.status_code == 200
        theirs = await post_import(client, rows(("ECO.2", "SWJ", "2026", 90)), headers=officer)
        assert theirs.status_code == 403 and theirs.json()["code"] == "other-department"
        await post_import(client, rows(("ECO.2", "SWJ", "2026", 50)))
        listed = await client.get("/v1/measurements", headers=officer)
        assert {m["department_id"] for m in listed.json()["items"]} == {own}
        other = next(
            m
            for m in (await client.get("/v1/measurements", headers=auth())).json()["items"]
            if m["department_id"] != own
        )
        for method in ("GET", "PATCH"):
            response = await client.request(
                method,
                f"/v1/measurements/{other['id']}",
                headers=officer,
                json={"value": 1} if method == "PATCH" else None,
            )
            assert response.status_code == 403, method
        export = await client.get(
            "/v1/measurements/export",
            params={"jurisdiction": HEIHE, "department_id": departments["SWJ"]["id"]},
            headers=officer,
        )
        assert export.status_code == 403

    async def test_an_internal_system_key_is_bound_to_its_department(self, stack: Stack) -> None:
        client = stack.client("indicator")
        departments = await city(client, "FGW", "SWJ")
        system = auth("integration", department_id=departments["SWJ"]["id"])
        response = await post_import(client, rows(("ECO.2", "FGW", "2026", 1)), headers=system)
        assert response.status_code == 403


class TestOneValue:
    async def test_report_correct_verify_lock_unlock(self, stack: Stack) -> None:
        client = stack.client("indicator")
        departments = await city(client, "FGW")
        officer = auth("department", department_id=departments["FGW"]["id"])
        created = await client.post(
            "/v1/measurements",
            headers=officer,
            json={
                "jurisdiction_code": HEIHE,
                "indicator": "ECO.2",
                "department": "FGW",
                "period": "2026",
                "value": 88,
            },
        )
        assert created.status_code == 201, created.text
        value = created.json()
        again = await client.post(
            "/v1/measurements",
            headers=officer,
            json={
                "jurisdiction_code": HEIHE,
                "indicator": "ECO.2",
                "department": "FGW",
                "period": "2026",
                "value": 89,
            },
        )
        assert again.status_code == 409 and again.json()["code"] == "measurement-exists"
        url = f"/v1/measurements/{value['id']}"
        returned = await client.post(f"{url}/return", headers=auth(), json={"reason": "口径不符"})
        assert returned.json()["status"] == "returned"
        corrected = await client.patch(url, headers=officer, json={"value": 90})
        assert corrected.json()["status"] == "submitted" and corrected.json()["version"] == 3
        verified = await client.post(f"{url}/verify", headers=auth())
        assert verified.json()["status"] == "verified"
        locked = await client.patch(url, headers=officer, json={"value": 91})
        assert locked.status_code == 409 and locked.json()["code"] == "measurement-locked"
        relock = await post_import(client, rows(("ECO.2", "FGW", "2026", 95)))
        assert relock.json()["summary"]["conflicts"][0]["reason"].startswith("the value is")
        unlocked = await client.post(f"{url}/unlock", headers=auth(), json={"reason": "复核"})
        assert unlocked.json()["status"] == "submitted"
        audit = await client.get("/v1/audit", headers=auth())
        actions = [a["action"] for a in audit.json()["items"]]
        assert "measurement.unlocked" in actions
        flagged = await client.post(f"{url}/flag", headers=auth(), json={"reason": "异常波动"})
        assert flagged.json()["flagged"] is True


class TestChangeFeed:
    async def test_a_sync_client_sees_every_change_once_in_order(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        feed = await client.get("/v1/measurements", params={"changed_since": "0"}, headers=auth())
        assert feed.json()["items"] == []
        cursor = feed.json()["next_cursor"]
        await post_import(
            client, rows(("ECO.2", "FGW", "2026", 1), ("ECO.1.1", "FGW", "2026Q1", 2))
        )
        first = await client.get(
            "/v1/measurements", params={"changed_since": cursor}, headers=auth()
        )
        assert [m["value"] for m in first.json()["items"]] == [1, 2]
        cursor = first.json()["next_cursor"]
        await post_import(client, rows(("ECO.2", "FGW", "2026", 3)))
        await post_import(client, rows(("ECO.1.1", "FGW", "2026Q1", None)), importStrategy="DELETE")
        second = await client.get(
            "/v1/measurements", params={"changed_since": cursor}, headers=auth()
        )
        changes = [(m["indicator_code"], m["value"], m["deleted"]) for m in second.json()["items"]]
        assert changes == [("ECO.2", 3, False), ("ECO.1.1", 2, True)]
        idle = await client.get(
            "/v1/measurements",
            params={"changed_since": second.json()["next_cursor"]},
            headers=auth(),
        )
        assert idle.json()["items"] == []


class TestJobs:
    async def test_a_large_import_runs_as_a_job_reporting_progress(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        response = await post_import(client, rows(("ECO.2", "FGW", "2026", 1)), **{"async": "true"})
        assert response.status_code == 202, response.text
        location = response.headers["location"]

        async def finished() -> dict[str, Any] | None:
            job = (await client.get(location, headers=auth())).json()
            return job if job["status"] in ("succeeded", "failed") else None

        from tests.common.events.receivers import eventually

        job = await eventually(finished)
        assert job["status"] == "succeeded"
        assert (job["rows_done"], job["rows_total"]) == (1, 1)
        assert job["summary"]["imported"] == 1


class TestRetriesAndEvents:
    async def test_an_idempotency_key_replays_the_first_answer(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        key = {**auth(), "Idempotency-Key": "sync-2026-03-31"}
        first = await post_import(client, rows(("ECO.2", "FGW", "2026", 1)), headers=key)
        again = await post_import(client, rows(("ECO.2", "FGW", "2026", 1)), headers=key)
        assert again.json() == first.json() and first.json()["imported"] == 1
        other = await post_import(client, rows(("ECO.2", "FGW", "2026", 2)), headers=key)
        assert other.status_code == 422

    async def test_one_event_per_import_not_per_row(self, stack: Stack) -> None:
        from sqlalchemy import select

        from services.indicator.models import COMMON

        client = stack.client("indicator")
        await city(client, "FGW")
        await post_import(
            client, rows(("ECO.2", "FGW", "2026", 1), ("ECO.1.1", "FGW", "2026Q1", 2))
        )
        await post_import(client, rows(("ECO.2", "FGW", "2026", 1)))  # changes nothing
        async with stack.apps["indicator"].state.db.session(read_only=True) as session:
            bodies = (
                await session.scalars(
                    select(COMMON.outbox.body).where(COMMON.outbox.type == "measurements.imported")
                )
            ).all()
        [body] = bodies
        data = json.loads(body)["data"]
        assert (data["imported"], data["departments"], data["periods"]) == (
            2,
            ["FGW"],
            ["2026", "2026Q1"],
        )


class TestBadInputToOneValue:
    async def test_a_too_long_link_or_a_nul_is_422(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        await post_import(client, rows(("ECO.2", "FGW", "2026", 1)))
        [value] = (await client.get("/v1/measurements", headers=auth())).json()["items"]
        url = f"/v1/measurements/{value['id']}"
        long_link = "https://evidence.example/" + "a" * 2000
        for body in ({"evidence_url": long_link}, {"comment": "a\x00b"}):
            response = await client.patch(url, headers=auth(), json=body)
            assert response.status_code == 422, body

    async def test_a_token_whose_department_is_not_an_id_is_403_before_any_export(
        self, stack: Stack
    ) -> None:
        client = stack.client("indicator")
        response = await client.get(
            "/v1/measurements/export",
            params={"jurisdiction": HEIHE},
            headers=auth("department", department_id="not-an-id"),
        )
        assert response.status_code == 403 and response.json()["code"] == "other-department"
