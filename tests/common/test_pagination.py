from __future__ import annotations

import collections
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace

from fastapi import Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select, true

from services.common.db import Database
from services.common.pagination import Page, PageParams, _flat, kept, page_of, paginate
from services.indicator.departments import schemas
from services.indicator.models import Department
from tests import factories
from tests.harness import Stack, auth


class TestCursorPagination:
    async def test_pages_cover_everything_once_in_creation_order(self, stack: Stack) -> None:
        client = stack.client("indicator")
        created = [
            (await factories.create_department(client, code=f"D{i}"))["id"] for i in range(5)
        ]
        seen, cursor, pages = [], None, 0
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/departments", params=params, headers=auth())).json()
            seen += [d["id"] for d in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == created
        assert pages == 3

    async def test_a_cursor_not_issued_by_the_api_is_422(self, stack: Stack) -> None:
        response = await stack.client("indicator").get(
            "/v1/departments", params={"cursor": "not-a-cursor"}, headers=auth()
        )
        assert response.status_code == 422
        assert response.json()["code"] == "invalid-cursor"

    async def test_limit_is_bounded(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        for limit in (0, 201):
            response = await client.get("/v1/cycles", params={"limit": limit}, headers=auth())
            assert response.status_code == 422
            assert response.json()["errors"][0]["location"] == ["query", "limit"]


class TestPlainPages:
    """A page of plain rows of a column-mirroring model is written as JSON directly: the
    same bytes as validating the rows and serializing the models."""

    async def test_the_direct_page_is_the_validated_page(self, stack: Stack) -> None:
        client = stack.client("indicator")
        parent = await factories.create_department(client, code="P", name_en="Parent")
        await factories.create_department(client, code="C1", parent_id=parent["id"])
        await factories.create_department(client, code="C2", active=False)
        db = Database(stack.urls["indicator"])
        try:
            async with db.session(read_only=True, autocommit=True) as session:
                page = PageParams(limit=2)
                rows, cursor = await paginate(
                    session, select(Department), Department.id, page, plain=True
                )
        finally:
            await db.dispose()
        direct = page_of(schemas.Department, rows, cursor)
        assert isinstance(direct, Response)
        validated = Page[schemas.Department].model_validate(
            {"items": rows, "next_cursor": cursor}, from_attributes=True
        )
        assert direct.body == validated.model_dump_json().encode()
        assert [d["code"] for d in json.loads(direct.body)["items"]] == ["P", "C1"]

    async def test_a_kept_statement_pages_alike_on_the_driver(self, stack: Stack) -> None:
        """A statement kept across requests is read on the driver (PostgreSQL): its pages,
        filters, cursor and IN list are the engine's pages."""
        client = stack.client("indicator")
        for code in ("A", "B", "C", "D", "E"):
            await factories.create_department(client, code=code, category="economic")
        await factories.create_department(client, code="X", category="social")
        query = select(Department).where(
            Department.jurisdiction_code.in_(["231100", "230100"]),
            Department.category == "economic",
        )
        pages: dict[str, list[bytes]] = {}
        db = Database(stack.urls["indicator"])
        try:
            for name, stmt in (("engine", query), ("driver", kept(query.where(true())))):
                cursor, pages[name] = None, []
                while True:
                    async with db.session(read_only=True, autocommit=True) as session:
                        page = PageParams(limit=2, cursor=cursor)
                        rows, cursor = await paginate(
                            session, stmt, Department.id, page, plain=True
                        )
                    pages[name].append(page_of(schemas.Department, rows, cursor).body)
                    if cursor is None:
                        break
        finally:
            await db.dispose()
        assert pages["driver"] == pages["engine"] and len(pages["engine"]) == 3
        codes = [d["code"] for body in pages["engine"] for d in json.loads(body)["items"]]
        assert codes == ["A", "B", "C", "D", "E"]

    def test_the_direct_page_writes_awkward_values_as_validation_would(self) -> None:
        """Quotes, control characters, line separators, emoji, UUIDs of a subclass (the
        driver's), UTC and offset and naive datetimes with and without microseconds, and an
        integer beyond 64 bits: the direct page's bytes are the validated page's."""

        class DriverUUID(uuid.UUID):
            pass

        class Counted(BaseModel):
            id: uuid.UUID
            total: int
            at: datetime

        fields = list(schemas.Department.model_fields)
        Row = collections.namedtuple("Row", fields)  # type: ignore[misc]
        texts = ['a"b\\c\n\t\x00\x1f\x7f', "黑河 \u2028 \u2029 😀 </script>", ""]
        moments = [
            datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
            datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),
            datetime(2026, 1, 2, 3, 4, 5, 1, tzinfo=timezone(timedelta(hours=8))),
            datetime(2026, 1, 2, 3, 4, 5),
        ]
        rows = [
            Row(
                id=DriverUUID(int=n + 1),
                jurisdiction_code="231100",
                code=text or "X",
                name_zh=text,
                name_en=None if n % 2 else text,
                category="economic",
                parent_id=None if n % 2 else uuid.UUID(int=n),
                active=bool(n % 2),
                created_at=moment,
                updated_at=moment,
            )
            for n, (text, moment) in enumerate((t, m) for t in texts for m in moments)
        ]
        counted = collections.namedtuple("Counted", ["id", "total", "at"])
        cases = [
            (schemas.Department, rows),
            (Counted, [counted(uuid.UUID(int=1), 2**70, moments[0])]),
        ]
        for model, page_rows in cases:
            direct = page_of(model, page_rows, "next")
            assert isinstance(direct, Response)
            validated = Page[model].model_validate(  # type: ignore[valid-type]
                {"items": page_rows, "next_cursor": "next"}, from_attributes=True
            )
            assert direct.body == validated.model_dump_json().encode()

    def test_models_that_reshape_their_values_are_validated(self) -> None:
        class Scored(BaseModel):
            score: float

        class Renamed(BaseModel):
            code: str = Field(serialization_alias="key")

        class Checked(BaseModel):
            code: str

            @field_validator("code")
            @classmethod
            def upper(cls, value: str) -> str:
                return value.upper()

        class Nested(BaseModel):
            department: schemas.Department

        assert _flat(schemas.Department) is not None
        assert [_flat(m) for m in (Scored, Renamed, Checked, Nested)] == [None] * 4
        # Such a model's page is the validated one, whatever rows it is given.
        page = page_of(Checked, [SimpleNamespace(code="edu")], None)
        assert page.model_dump() == {"items": [{"code": "EDU"}], "next_cursor": None}
