"""`POST /v1/dataValueSets` answers DHIS2 clients as DHIS2 2.38+ does: a web message around an
ImportSummary (keys and types as in DHIS2's docs), 200 for SUCCESS, 409 for WARNING and ERROR."""

from __future__ import annotations

from typing import Any

import httpx

from tests.harness import HEIHE, Stack, auth
from tests.indicator.builders import city

URL = "/v1/dataValueSets"
ENVELOPE = {"httpStatus", "httpStatusCode", "status", "message", "response"}
SUMMARY = {
    "responseType",
    "status",
    "importOptions",
    "description",
    "importCount",
    "conflicts",
    "rejectedIndexes",
    "dataSetComplete",
}


def data_value_set(*values: tuple[str, str, str, Any]) -> dict[str, Any]:
    return {
        "dataValues": [
            {"dataElement": e, "orgUnit": o, "period": p, "value": v} for e, o, p, v in values
        ]
    }


async def post(
    client: httpx.AsyncClient,
    body: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    **params: str,
) -> httpx.Response:
    return await client.post(
        URL, params={"jurisdiction": HEIHE, **params}, json=body, headers=headers or auth()
    )


def web_message(response: httpx.Response) -> dict[str, Any]:
    """The body, checked key by key and type by type against DHIS2's ImportSummary."""
    assert response.headers["content-type"].startswith("application/json")
    message = response.json()
    assert set(message) == ENVELOPE
    assert message["httpStatusCode"] == response.status_code
    assert isinstance(message["httpStatus"], str) and isinstance(message["message"], str)
    summary = message["response"]
    assert set(summary) == SUMMARY
    assert summary["responseType"] == "ImportSummary"
    assert summary["status"] in ("SUCCESS", "WARNING", "ERROR")
    assert isinstance(summary["description"], str) and summary["description"]
    assert summary["dataSetComplete"] == "false"
    counts = summary["importCount"]
    assert set(counts) == {"imported", "updated", "ignored", "deleted"}
    assert all(type(n) is int for n in counts.values())
    options = summary["importOptions"]
    assert type(options["dryRun"]) is bool and type(options["async"]) is bool
    assert options["importStrategy"] in ("CREATE", "UPDATE", "CREATE_AND_UPDATE", "DELETE")
    assert isinstance(options["idSchemes"], dict)
    for conflict in summary["conflicts"]:
        assert (
            {"object", "value", "indexes"}
            <= set(conflict)
            <= {
                "object",
                "value",
                "property",
                "indexes",
            }
        )
        assert isinstance(conflict["object"], str) and isinstance(conflict["value"], str)
        assert all(type(i) is int for i in conflict["indexes"])
    assert all(type(i) is int for i in summary["rejectedIndexes"])
    return message


async def stored(client: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    listed = await client.get("/v1/measurements", headers=auth())
    return {(m["indicator_code"], m["period"]): m["value"] for m in listed.json()["items"]}


class TestImportSummary:
    async def test_a_clean_import_is_200_ok_with_its_counts(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        body = data_value_set(("ECO.2", "FGW", "2026", "91.5"), ("ECO.1.1", "FGW", "2026Q1", 80))
        response = await post(client, body)
        assert response.status_code == 200, response.text
        message = web_message(response)
        assert {k: message[k] for k in ("httpStatus", "status", "message")} == {
            "httpStatus": "OK",
            "status": "OK",
            "message": "Import was successful.",
        }
        summary = message["response"]
        assert summary["status"] == "SUCCESS"
        assert summary["importCount"] == {"imported": 2, "updated": 0, "ignored": 0, "deleted": 0}
        assert (summary["conflicts"], summary["rejectedIndexes"]) == ([], [])
        assert summary["importOptions"]["importStrategy"] == "CREATE_AND_UPDATE"
        assert summary["importOptions"]["idSchemes"] == {"idScheme": "CODE"}

        body["dataValues"][0]["value"] = "92"
        again = web_message(await post(client, body))["response"]["importCount"]
        assert again == {"imported": 0, "updated": 1, "ignored": 1, "deleted": 0}
        assert await stored(client) == {("ECO.2", "2026"): 92, ("ECO.1.1", "2026Q1"): 80}

    async def test_a_rejected_import_is_409_error_and_writes_nothing(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        response = await post(
            client, data_value_set(("ECO.2", "FGW", "2026", "90"), ("NOPE", "FGW", "2026", "1"))
        )
        assert response.status_code == 409, response.text
        message = web_message(response)
        assert (message["httpStatus"], message["status"]) == ("Conflict", "ERROR")
        assert message["message"] == "An error occurred, please check import summary."
        summary = message["response"]
        assert summary["status"] == "ERROR"
        assert summary["conflicts"] == [
            {
                "object": "NOPE",
                "value": "unknown indicator code in that year's system",
                "property": "dataElement",
                "indexes": [1],
            }
        ]
        assert summary["rejectedIndexes"] == [1]
        assert summary["importCount"] == {"imported": 0, "updated": 0, "ignored": 2, "deleted": 0}
        assert "nothing was written" in summary["description"]
        assert await stored(client) == {}

    async def test_a_non_atomic_import_writes_the_good_values_and_is_409_warning(
        self, stack: Stack
    ) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        body = data_value_set(("ECO.2", "FGW", "2026", "90"), ("ECO.2", "FGW", "2026Q7", "1"))
        headers = {**auth(), "Idempotency-Key": "dhis2-sync-1"}
        response = await post(client, body, headers=headers, atomic="false")
        assert response.status_code == 409, response.text
        message = web_message(response)
        assert (message["httpStatus"], message["status"]) == ("Conflict", "WARNING")
        summary = message["response"]
        assert summary["importCount"] == {"imported": 1, "updated": 0, "ignored": 1, "deleted": 0}
        assert summary["importOptions"]["atomicMode"] == "NONE"
        [conflict] = summary["conflicts"]
        assert (conflict["object"], conflict["property"], conflict["indexes"]) == (
            "2026Q7",
            "period",
            [1],
        )
        assert await stored(client) == {("ECO.2", "2026"): 90}
        audit = await client.get(
            "/v1/audit", params={"action": "measurements.imported"}, headers=auth()
        )
        assert len(audit.json()["items"]) == 1

        replay = await post(client, body, headers=headers, atomic="false")
        assert replay.status_code == 409
        assert replay.headers["idempotent-replayed"] == "true"
        assert replay.json() == message

    async def test_a_dry_run_reports_and_writes_nothing(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        response = await post(client, data_value_set(("ECO.2", "FGW", "2026", "90")), dryRun="true")
        assert response.status_code == 200
        summary = web_message(response)["response"]
        assert summary["importOptions"]["dryRun"] is True
        assert summary["importCount"]["imported"] == 1
        assert await stored(client) == {}

    async def test_our_own_route_keeps_our_summary(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        response = await client.post(
            "/v1/measurements/import",
            params={"jurisdiction": HEIHE, "format": "dhis2"},
            json=data_value_set(("ECO.2", "FGW", "2026", "90")),
            headers=auth(),
        )
        assert response.status_code == 200
        assert (response.json()["status"], response.json()["imported"]) == ("SUCCESS", 1)


class TestOpenApi:
    async def test_the_routes_declare_what_they_answer(self, stack: Stack) -> None:
        client = stack.client("indicator")
        document = (await client.get("/openapi.json")).json()
        schemas = document["components"]["schemas"]
        dhis2 = document["paths"]["/v1/dataValueSets"]["post"]
        for status in ("200", "409"):
            content = dhis2["responses"][status]["content"]["application/json"]
            assert content["schema"] == {"$ref": "#/components/schemas/Dhis2WebMessage"}
        summary = schemas["Dhis2ImportSummary"]
        assert {"importCount", "conflicts", "status", "importOptions"} <= set(summary["required"])
        assert set(schemas["Dhis2ImportCount"]["required"]) == {
            "imported",
            "updated",
            "ignored",
            "deleted",
        }

        export = document["paths"]["/v1/measurements/export"]["get"]["responses"]["200"]
        assert set(export["content"]) == {"application/json", "text/csv"}
        imports = document["paths"]["/v1/measurements/import"]["post"]["requestBody"]
        assert set(imports["content"]) == {"application/json", "text/csv"}
        refs = [
            dhis2["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            imports["content"]["application/json"]["schema"]["$ref"],
        ]
        assert all(ref.rsplit("/", 1)[1] in schemas for ref in refs)

    async def test_the_csv_export_is_text_csv(self, stack: Stack) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        await post(client, data_value_set(("ECO.2", "FGW", "2026", "90")))
        exported = await client.get(
            "/v1/measurements/export",
            params={"jurisdiction": HEIHE, "format": "csv"},
            headers=auth(),
        )
        assert exported.headers["content-type"] == "text/csv; charset=utf-8"
        assert exported.text.splitlines()[1] == "ECO.2,FGW,2026,90,,,"
