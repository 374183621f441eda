"""`read_row`, the kit's one-statement read by id, on rows of every column type."""

from __future__ import annotations

import uuid

from services.common.db import Database, read_row
from services.evaluation.models import EvaluatorGroup
from tests import factories
from tests.harness import Stack


class TestReadRow:
    async def test_a_row_with_numbers_json_and_uuids_reads_back_as_written(
        self, stack: Stack
    ) -> None:
        evaluation = stack.client("evaluation")
        cycle = await factories.create_cycle(evaluation)
        group = await factories.create_group(
            evaluation, cycle["id"], kind="expert", code="experts", weight=12.5
        )
        db = Database(stack.urls["evaluation"])
        try:
            async with db.session(read_only=True, autocommit=True) as session:
                row = await read_row(session, EvaluatorGroup, uuid.UUID(group["id"]))
                missing = await read_row(session, EvaluatorGroup, uuid.uuid4())
        finally:
            await db.dispose()
        assert row is not None and missing is None
        assert row.weight == 12.5 and isinstance(row.weight, float)
        assert row.cycle_id == uuid.UUID(cycle["id"])
        assert [d["code"] for d in row.dimensions] == [d["code"] for d in group["dimensions"]]
        assert row.created_at.tzinfo is not None
