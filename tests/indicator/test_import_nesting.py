"""Import files nested too deep are refused before the parser builds anything (a few KB of `[`
used to cost gigabytes), while real files, brackets and escapes in their texts included,
import as before."""

from __future__ import annotations

import io
import json
import random
import tracemalloc
from typing import Any

import httpx
import pytest

from services.indicator.measurements import formats
from tests.common.events.receivers import eventually
from tests.harness import HEIHE, Stack, auth
from tests.indicator.builders import city

IMPORT = "/v1/measurements/import"
DHIS2 = "/v1/dataValueSets"
ROW = {"indicator": "ECO.2", "department": "FGW", "period": "2026", "value": 1}
DEEP = b"[" * 30_000
# A good row first, then a value nested past any import's need.
DEEP_AFTER_A_ROW = (
    b'{"measurements":[' + json.dumps(ROW).encode() + b"," + b"[" * 30_000 + b"]" * 30_000 + b"]}"
)
DEEP_DHIS2 = (
    b'{"dataValues":[{"dataElement":"ECO.2","orgUnit":"FGW","period":"2026","value":"1"},'
    + b'{"a":' * 20_000
    + b"1"
    + b"}" * 20_000
    + b"]}"
)
# Every character that matters to the nesting check, in a text: its brackets do not nest.
TRICKY = '[{"\\ ]}\\"[ \\\\[{ 内容 \\u005b'


class Trickle(io.BytesIO):
    """A file that hands out a few bytes at a time, so every boundary falls somewhere."""

    def __init__(self, content: bytes, seed: int) -> None:
        super().__init__(content)
        self._random = random.Random(seed)

    def read(self, size: int | None = -1) -> bytes:
        return super().read(self._random.randint(1, 9) if size else 0)


def nested(levels: int) -> Any:
    """`levels` arrays and objects one inside the other, texts with brackets in each."""
    value: Any = TRICKY
    for level in range(levels):
        value = [TRICKY, value] if level % 2 else {TRICKY: TRICKY, "next": value}
    return value


def depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    return 0


def read(content: bytes | io.BytesIO, fmt: formats.Format) -> list[formats.Row | formats.Conflict]:
    source = content if isinstance(content, io.BytesIO) else io.BytesIO(content)
    found: list[formats.Row | formats.Conflict] = []
    for rows, conflicts in formats.read_chunks(source, fmt, value_required=True, chunk_size=100):
        found += rows + conflicts
    return found


class TestTheFormats:
    @pytest.mark.parametrize("content", [DEEP, DEEP_AFTER_A_ROW, DEEP_DHIS2])
    @pytest.mark.parametrize("fmt", ["json", "dhis2"])
    def test_a_deep_file_is_refused_naming_the_limit(self, content: bytes, fmt: str) -> None:
        with pytest.raises(formats.InvalidImportFile, match=f"more than {formats.MAX_NESTING}"):
            read(content, fmt)  # type: ignore[arg-type]
        with pytest.raises(formats.InvalidImportFile, match=f"more than {formats.MAX_NESTING}"):
            formats.count_rows(io.BytesIO(content), fmt)  # type: ignore[arg-type]

    def test_the_refusal_comes_before_the_parser_holds_the_depth(self) -> None:
        # The parser names each event by its whole path: 4,000 levels held 40 MB of names.
        tracemalloc.start()
        try:
            with pytest.raises(formats.InvalidImportFile):
                read(b"[" * 4_000, "json")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 2**20

    def test_the_limit_itself_reads_and_one_more_is_refused(self) -> None:
        # The document, its list, the row: 3 levels; the row's value holds the others.
        def file(levels: int) -> bytes:
            row = {**ROW, "value": nested(levels - 3)}
            return json.dumps({"measurements": [row]}).encode()

        [conflict] = read(file(formats.MAX_NESTING), "json")
        assert isinstance(conflict, formats.Conflict) and conflict.field == "value"
        with pytest.raises(
            formats.InvalidImportFile, match=f"more than {formats.MAX_NESTING} deep"
        ):
            read(file(formats.MAX_NESTING + 1), "json")

    def test_brackets_quotes_and_escapes_in_texts_do_not_nest(self) -> None:
        # Rows in pieces of a few bytes: a piece ends inside a text, between a backslash and
        # what it escapes, between a text's quotes.
        comments = [TRICKY * (n % 5 + 1) + "\\" * (n % 4) + "[" * 40 for n in range(200)]
        measurements = [{**ROW, "period": "2026", "comment": c} for c in comments]
        content = json.dumps({"measurements": measurements}, ensure_ascii=False).encode()
        for seed in range(3):
            found = read(Trickle(content, seed), "json")
            assert [r.comment for r in found if isinstance(r, formats.Row)] == comments

    def test_the_depth_counted_is_the_depth_of_the_document(self) -> None:
        chance = random.Random(20260)
        for n in range(300):
            levels = chance.randint(formats.MAX_NESTING - 3, formats.MAX_NESTING + 2)
            document = {"measurements": [ROW], "extra": nested(levels)}
            content = json.dumps(document, ensure_ascii=n % 2 == 0).encode()
            deep = depth(document) > formats.MAX_NESTING
            try:
                formats.count_rows(Trickle(content, n), "json")
            except formats.InvalidImportFile:
                assert deep, content
            else:
                assert not deep, content


async def stored(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    listed = await client.get("/v1/measurements", params={"limit": 200}, headers=auth())
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


async def post(
    client: httpx.AsyncClient, url: str, content: bytes, **params: str
) -> httpx.Response:
    return await client.post(
        url,
        params={"jurisdiction": HEIHE, **params},
        content=content,
        headers={**auth(), "content-type": "application/json"},
    )


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "invalid-import-file"
    assert f"more than {formats.MAX_NESTING} deep" in problem["detail"]


class TestTheRoutes:
    @pytest.mark.parametrize(
        ("url", "fmt", "content"),
        [
            (IMPORT, "json", DEEP),
            (IMPORT, "json", DEEP_AFTER_A_ROW),
            (IMPORT, "dhis2", DEEP_DHIS2),
            (DHIS2, None, DEEP),
            (DHIS2, None, DEEP_DHIS2),
        ],
    )
    @pytest.mark.parametrize("dry_run", ["false", "true"])
    async def test_a_deep_body_is_422_and_writes_nothing(
        self, stack: Stack, url: str, fmt: str | None, content: bytes, dry_run: str
    ) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        params = {"dryRun": dry_run, "atomic": "false"} | ({"format": fmt} if fmt else {})
        assert_refused(await post(client, url, content, **params))
        assert await stored(client) == []
        # The service is none the worse: the next import goes through.
        fine = await post(client, IMPORT, json.dumps({"measurements": [ROW]}).encode())
        assert fine.status_code == 200, fine.text
        assert [m["value"] for m in await stored(client)] == [1]

    @pytest.mark.parametrize("url", [IMPORT, DHIS2])
    async def test_a_deep_body_as_a_job_fails_naming_the_limit(
        self, stack: Stack, url: str
    ) -> None:
        client = stack.client("indicator")
        await city(client, "FGW")
        content = DEEP_AFTER_A_ROW if url == IMPORT else DEEP_DHIS2
        accepted = await post(client, url, content, **{"async": "true", "atomic": "false"})
        assert accepted.status_code == 202, accepted.text

        async def finished() -> dict[str, Any] | None:
            job = (await client.get(accepted.headers["location"], headers=auth())).json()
            return job if job["status"] in ("succeeded", "failed") else None

        job = await eventually(finished)
        assert job["status"] == "failed"
        assert f"more than {formats.MAX_NESTING} deep" in job["error"]
        assert await stored(client) == []

    async def test_a_file_with_nested_extras_and_bracketed_texts_imports(
        self, stack: Stack
    ) -> None:
        client = stack.client("indicator")
        await city(client, "FGW", "SWJ")
        comments = {"FGW": TRICKY * 100, "SWJ": "[" * 3000 + "\\"}
        ours = {
            "measurements": [
                {**ROW, "department": d, "comment": c, "meta": nested(8)}
                for d, c in comments.items()
            ],
            "exportedBy": {"system": "统计直报", "tags": [["年报"]]},
        }
        # Past the 64 KiB the parser reads at a time, so texts cross its pieces.
        padded = {**ours, "padding": [TRICKY * 10] * 500}
        response = await post(client, IMPORT, json.dumps(padded).encode())
        assert response.status_code == 200, response.text
        assert response.json()["imported"] == 2
        assert {m["comment"] for m in await stored(client)} == set(comments.values())

        dhis2 = {
            "dataSet": "ECO",
            "period": "2026",
            "attributes": {"nested": [{"deeper": [1, 2]}]},
            "dataValues": [
                {"dataElement": "ECO.2", "orgUnit": d, "value": "7", "comment": c}
                for d, c in comments.items()
            ],
        }
        response = await post(client, DHIS2, json.dumps(dhis2, ensure_ascii=False).encode())
        assert response.status_code == 200, response.text
        assert response.json()["response"]["importCount"]["updated"] == 2
        assert [m["value"] for m in await stored(client)] == [7, 7]
