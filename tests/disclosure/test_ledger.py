"""The ledger: every published or retracted version in one hash chain, verified online and
offline, failing at the entry whose stored row was altered."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from govperf.cli import main as govperf
from services.common.db import Database
from services.common.migrate import upgrade
from services.disclosure import ledger
from tests import factories
from tests.harness import Stack, auth

EDITOR = auth(subject="editor-a")


async def three_entries(stack: Stack) -> list[dict[str, Any]]:
    """Two publications: entry 1 publishes A, 2 publishes B, 3 retracts A."""
    client = stack.client("disclosure")
    a = await factories.approved_publication(client, title="甲", publish=True)
    b = await factories.approved_publication(client, title="乙", publish=True)
    retracted = await client.post(
        f"/v1/publications/{a['id']}/retract", json={"reason": "有误"}, headers=EDITOR
    )
    assert retracted.status_code == 200
    return [a, b]


async def tamper(stack: Stack, statement: str, **params: Any) -> None:
    async with stack.apps["disclosure"].state.db.session() as session:
        await session.execute(text(statement), params)
        await session.commit()


async def verify(stack: Stack) -> dict[str, Any]:
    response = await stack.client("disclosure").get("/v1/ledger/verify")
    assert response.status_code == 200, response.text
    return response.json()


class TestChain:
    async def test_entries_link_each_to_the_one_before(self, stack: Stack) -> None:
        a, b = await three_entries(stack)
        entries = (await stack.client("disclosure").get("/v1/ledger")).json()["items"]
        assert [(e["seq"], e["publication_id"], e["action"]) for e in entries] == [
            (1, a["id"], "published"),
            (2, b["id"], "published"),
            (3, a["id"], "retracted"),
        ]
        assert entries[0]["previous_hash"] == "0" * 64
        for before, entry in itertools.pairwise(entries):
            assert entry["previous_hash"] == before["hash"]
            assert entry["hash"] == ledger.entry_hash(before["hash"], entry["content"])
        content = json.loads(entries[2]["content"])
        assert content["retraction_reason"] == "有误" and len(content["version_hash"]) == 64

    async def test_the_list_pages_in_order(self, stack: Stack) -> None:
        await three_entries(stack)
        client = stack.client("disclosure")
        first = (await client.get("/v1/ledger", params={"limit": 2})).json()
        rest = (await client.get("/v1/ledger", params={"cursor": first["next_cursor"]})).json()
        assert [e["seq"] for e in first["items"] + rest["items"]] == [1, 2, 3]
        assert rest["next_cursor"] is None
        etag = (await client.get("/v1/ledger")).headers["etag"]
        cached = await client.get("/v1/ledger", headers={"if-none-match": etag})
        assert cached.status_code == 304

    async def test_an_empty_ledger_is_valid(self, stack: Stack) -> None:
        assert await verify(stack) == {
            "valid": True,
            "entries": 0,
            "first_invalid_seq": None,
            "reason": None,
        }


class TestVerification:
    async def test_an_untouched_chain_is_valid(self, stack: Stack) -> None:
        await three_entries(stack)
        assert await verify(stack) == {
            "valid": True,
            "entries": 3,
            "first_invalid_seq": None,
            "reason": None,
        }

    async def test_a_version_changed_in_the_database_fails_at_its_entry(self, stack: Stack) -> None:
        _, b = await three_entries(stack)
        await tamper(
            stack,
            "UPDATE publication_versions SET title = '被改过' WHERE publication_id = :id",
            id=uuid.UUID(b["id"]).hex if "sqlite" in stack.backend else b["id"],
        )
        result = await verify(stack)
        assert (result["valid"], result["first_invalid_seq"]) == (False, 2)
        assert "content differs" in result["reason"]

    async def test_a_retraction_reason_changed_fails_at_the_retraction(self, stack: Stack) -> None:
        await three_entries(stack)
        await tamper(stack, "UPDATE publication_versions SET retraction_reason = '别的理由'")
        result = await verify(stack)
        assert (result["valid"], result["first_invalid_seq"]) == (False, 3)

    async def test_an_entry_changed_fails_at_that_entry(self, stack: Stack) -> None:
        await three_entries(stack)
        await tamper(
            stack,
            "UPDATE ledger_entries SET content = replace(content, :a, :b) WHERE seq = 2",
            a='"version":1',
            b='"version":2',
        )
        result = await verify(stack)
        assert (result["valid"], result["first_invalid_seq"]) == (False, 2)

    async def test_a_rewritten_hash_breaks_the_next_link(self, stack: Stack) -> None:
        await three_entries(stack)
        await tamper(stack, "UPDATE ledger_entries SET hash = :h WHERE seq = 1", h="f" * 64)
        result = await verify(stack)
        assert (result["valid"], result["first_invalid_seq"]) == (False, 1)

    async def test_a_removed_entry_is_a_gap(self, stack: Stack) -> None:
        await three_entries(stack)
        await tamper(stack, "DELETE FROM ledger_entries WHERE seq = 2")
        result = await verify(stack)
        assert (result["valid"], result["first_invalid_seq"]) == (False, 3)


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    """`govperf verify-ledger …`: its exit code and the lines it printed."""
    capsys.readouterr()  # what the apps logged before
    code = govperf(["verify-ledger", *args])
    return code, capsys.readouterr().out.splitlines()


async def export(stack: Stack, tmp_path: Path, fmt: str = "jsonl") -> Path:
    response = await stack.client("disclosure").get("/v1/ledger/export", params={"format": fmt})
    assert response.status_code == 200, response.text
    path = tmp_path / f"ledger.{fmt}"
    path.write_text(response.text, encoding="utf-8")
    return path


class TestOffline:
    async def test_an_export_verifies_offline(
        self, stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        await three_entries(stack)
        lines = await export(stack, tmp_path)
        assert len(lines.read_text().splitlines()) == 3
        code, out = cli(capsys, str(lines))
        assert code == 0 and out[0].startswith("valid: 3 entries")
        document = await export(stack, tmp_path, "json")
        assert len(json.loads(document.read_text())["entries"]) == 3
        assert cli(capsys, str(document))[0] == 0

    async def test_an_export_of_a_tampered_database_fails_at_the_entry(
        self, stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        await three_entries(stack)
        await tamper(stack, "UPDATE publication_versions SET body = '改过的正文'")
        lines = await export(stack, tmp_path)
        code, out = cli(capsys, str(lines))
        assert code == 1 and out[0].startswith("invalid at entry 1:")
        assert json.loads(out[1])["seq"] == 1

    async def test_an_export_edited_after_the_fact_fails(
        self, stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        await three_entries(stack)
        lines = await export(stack, tmp_path)
        records = [json.loads(line) for line in lines.read_text().splitlines()]
        records[1]["version_content"]["title"] = "编辑过"
        lines.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records))
        code, out = cli(capsys, str(lines))
        assert code == 1 and out[0].startswith("invalid at entry 2:")

    def test_a_file_that_is_not_an_export_is_invalid(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        junk = tmp_path / "junk.jsonl"
        junk.write_text("not json\n")
        for path in (junk, tmp_path / "missing.jsonl"):
            code, out = cli(capsys, str(path))
            assert code == 1 and out[0].startswith("invalid: cannot read")


class TestConcurrentAppends:
    async def test_publications_at_once_make_one_unbroken_chain(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        drafts = [
            await factories.draft_publication(client, kind="plan", title=f"方案{n}")
            for n in range(6)
        ]
        answers = await asyncio.gather(
            *(client.post(f"/v1/publications/{d['id']}/publish", headers=EDITOR) for d in drafts)
        )
        assert [a.status_code for a in answers] == [200] * 6
        result = await verify(stack)
        assert (result["valid"], result["entries"]) == (True, 6)


class TestMigration:
    def test_rows_published_before_the_ledger_become_version_one_in_it(
        self, tmp_path: Path
    ) -> None:
        url = f"sqlite+aiosqlite:///{tmp_path / 'disclosure.db'}"
        upgrade("disclosure", url, "0004")
        ids = [uuid.uuid4().hex for _ in range(3)]

        async def seed_and_check() -> tuple[list[tuple[Any, ...]], ledger.Verification]:
            db = Database(url)
            try:
                async with db.session() as session:
                    for pid, status in zip(ids, ("published", "retracted", "draft"), strict=True):
                        await session.execute(
                            text(
                                "INSERT INTO publications (id, jurisdiction_code, kind, title, "
                                "body, status, version, published_at, retracted_at, "
                                "retraction_reason, created_at, updated_at) VALUES (:id, "
                                "'231100', 'plan', :title, '正文', :status, 1, "
                                "'2026-01-01 00:00:00', :retracted_at, :reason, "
                                "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"
                            ),
                            {
                                "id": pid,
                                "title": f"旧{status}",
                                "status": status,
                                "retracted_at": "2026-02-01 00:00:00"
                                if status == "retracted"
                                else None,
                                "reason": "撤回" if status == "retracted" else None,
                            },
                        )
                    await session.commit()
                await asyncio.to_thread(upgrade, "disclosure", url)
                async with db.session(read_only=True) as session:
                    rows = (
                        await session.execute(
                            text("SELECT status, version FROM publications ORDER BY title")
                        )
                    ).all()
                    result = await ledger.verify_stored(session)
                return [tuple(r) for r in rows], result
            finally:
                await db.dispose()

        rows, result = asyncio.run(seed_and_check())
        assert sorted(rows) == [("draft", 0), ("published", 1), ("retracted", 1)]
        assert (result.valid, result.entries) == (True, 3)
