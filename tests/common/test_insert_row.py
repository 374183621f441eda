"""`insert_row`, the kit's one-statement create (on PostgreSQL run on the driver under the
session), and the audit rows written by the commit: one transaction either way."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from services.common.audit import insert_audited, record_change
from services.common.auth import Principal
from services.common.constraints import violates_unique
from services.common.db import insert_row
from services.indicator.models import AuditLog, Department
from tests.harness import Stack

ROW = {"jurisdiction_code": "231100", "code": "EDU", "name_zh": "教育局", "category": "social"}
ADMIN = Principal(subject="office", role="admin", jurisdictions=("231100",))


async def counts(stack: Stack) -> tuple[int, int]:
    async with stack.apps["indicator"].state.db.session(read_only=True) as session:
        departments = (await session.execute(select(func.count()).select_from(Department))).scalar()
        audits = (await session.execute(select(func.count()).select_from(AuditLog))).scalar()
    return departments, audits


class TestInsertRow:
    @pytest.mark.parametrize("commit", [True, False], ids=["committed", "rolled-back"])
    async def test_the_row_and_its_audit_are_one_transaction(
        self, stack: Stack, commit: bool
    ) -> None:
        db = stack.apps["indicator"].state.db
        async with db.session() as session:
            row = await insert_row(session, Department, **ROW)
            record_change(session, ADMIN, "department.created", row)
            await (session.commit() if commit else session.rollback())
        assert row.id is not None and row.created_at.tzinfo is not None
        assert await counts(stack) == ((1, 1) if commit else (0, 0))

    async def test_a_taken_code_is_the_engine_s_integrity_error(self, stack: Stack) -> None:
        db = stack.apps["indicator"].state.db
        async with db.session() as session:
            await insert_row(session, Department, **ROW)
            await session.commit()
        async with db.session() as session:
            with pytest.raises(IntegrityError) as refused:
                await insert_row(session, Department, **ROW)
            await session.rollback()
        assert violates_unique(refused.value, Department.__table__, ("jurisdiction_code", "code"))
        assert await counts(stack) == (1, 0)


class TestInsertAudited:
    """The row and its audit row written together (on SQLite in one trip to the driver's
    thread), in the session's transaction."""

    @pytest.mark.parametrize("commit", [True, False], ids=["committed", "rolled-back"])
    async def test_both_or_neither(self, stack: Stack, commit: bool) -> None:
        db = stack.apps["indicator"].state.db
        async with db.session() as session:
            row = await insert_audited(session, ADMIN, "department.created", Department, **ROW)
            await (session.commit() if commit else session.rollback())
        assert await counts(stack) == ((1, 1) if commit else (0, 0))
        if commit:
            async with db.session(read_only=True) as session:
                audit = (await session.execute(select(AuditLog))).scalar_one()
            assert (audit.action, audit.resource_id) == ("department.created", str(row.id))
            assert audit.after["code"] == "EDU" and audit.before is None

    async def test_a_refused_row_writes_no_audit(self, stack: Stack) -> None:
        db = stack.apps["indicator"].state.db
        async with db.session() as session:
            await insert_audited(session, ADMIN, "department.created", Department, **ROW)
            await session.commit()
        async with db.session() as session:
            with pytest.raises(IntegrityError) as refused:
                await insert_audited(session, ADMIN, "department.created", Department, **ROW)
            await session.rollback()
        assert violates_unique(refused.value, Department.__table__, ("jurisdiction_code", "code"))
        assert await counts(stack) == (1, 1)
