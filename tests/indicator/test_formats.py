"""The file formats' own checks: what a row may hold, and what a CSV may look like."""

from __future__ import annotations

import io

import pytest

from services.indicator.measurements import formats


def read(content: bytes, fmt: formats.Format = "csv") -> tuple[list[formats.Row], list[dict]]:
    rows: list[formats.Row] = []
    conflicts: list[dict] = []
    for chunk_rows, chunk_conflicts in formats.read_chunks(
        io.BytesIO(content), fmt, value_required=True, chunk_size=100
    ):
        rows += chunk_rows
        conflicts += [c.as_dict() for c in chunk_conflicts]
    return rows, conflicts


class TestRows:
    @pytest.mark.parametrize(
        ("line", "field", "reason"),
        [
            ('A,D,"2026Q1\n",1', "period", "not a period"),
            ("A,D,2026,1,a\x00b", "comment", "NUL"),
            ("A,D,2026,1,note,extra,https://x.test,surplus", "row", "8 cells but 7 columns"),
            ("A,D,2026,1e999", "value", "not a number"),
        ],
    )
    def test_a_bad_row_is_a_conflict_not_an_error(self, line: str, field: str, reason: str) -> None:
        header = "indicator,department,period,value,comment,source_system,evidence_url\n"
        rows, conflicts = read((header + line + "\n").encode())
        assert rows == []
        [conflict] = conflicts
        assert conflict["field"] == field and reason in conflict["reason"]

    def test_a_trailing_newline_is_not_part_of_a_period(self) -> None:
        body = (
            b'{"measurements":[{"indicator":"A","department":"D","period":"2026Q1\\n","value":1}]}'
        )
        rows, conflicts = read(body, "json")
        assert rows == [] and conflicts[0]["field"] == "period"

    def test_dhis2_null_org_unit_takes_the_sets(self) -> None:
        body = (
            b'{"orgUnit":"D","period":"2026","dataValues":'
            b'[{"dataElement":"A","orgUnit":null,"value":"5"}]}'
        )
        rows, conflicts = read(body, "dhis2")
        assert conflicts == [] and (rows[0].department, rows[0].period) == ("D", "2026")


class TestHeader:
    @pytest.mark.parametrize(
        ("header", "message"),
        [
            ("indicator,department,period,value,", "empty column name"),
            ("indicator,department,period,value,value", "value appear more than once"),
        ],
    )
    def test_a_bad_header_refuses_the_file(self, header: str, message: str) -> None:
        with pytest.raises(formats.InvalidImportFile, match=message):
            read((header + "\nA,D,2026,1\n").encode())


class TestExport:
    async def test_a_carriage_return_in_a_comment_reads_back_as_written(self) -> None:
        async def records():  # type: ignore[no-untyped-def]
            yield {
                "indicator": "A",
                "department": "D",
                "period": "2026",
                "value": 1.5,
                "comment": "第一行\r第二行\n第三行, 含逗号",
                "source_system": None,
                "evidence_url": None,
            }

        text = "".join([piece async for piece in formats.write(records(), "csv")])
        rows, conflicts = read(text.encode())
        assert conflicts == []
        assert rows[0].comment == "第一行\r第二行\n第三行, 含逗号" and rows[0].value == 1.5
