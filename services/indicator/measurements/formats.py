"""The three formats measurements travel in, both ways: our JSON, CSV, DHIS2 `dataValueSets`.

Reading streams from a (spooled) file in chunks, so an import of any size holds one chunk in
memory. Each row is checked on its own here (fields, period, number); what needs the
database (codes, frequencies, locks) is checked set-based by the importer. Writing produces
exactly what reading accepts, so an export re-imports with no change.

Row numbers in conflicts: the 1-based position in `measurements` / `dataValues` for JSON,
the line number for CSV (the header is line 1).

JSON is read through a nesting check (`_Nesting`): the parser names every event by its path
from the top, so a body of nothing but `[` would cost memory in the square of its length.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import IO, Any, Literal, NamedTuple

import ijson

from services.common.errors import Unprocessable

Format = Literal["json", "csv", "dhis2"]
FORMATS: tuple[Format, ...] = ("json", "csv", "dhis2")
CSV_COLUMNS = (
    "indicator",
    "department",
    "period",
    "value",
    "comment",
    "source_system",
    "evidence_url",
)
REQUIRED_COLUMNS = ("indicator", "department", "period")
PERIOD = re.compile(r"^\d{4}(Q[1-4]|0[1-9]|1[0-2])?$")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
MAX_KNOWN = 10_000
EXTRA_CELLS = "\x00extra"  # a CSV row with more cells than the header has columns
LIMITS = {"comment": 4000, "source_system": 100, "evidence_url": 2000}
# Arrays and objects one inside another: our JSON and a dataValueSet need 3 (the document,
# its list, a value), 4 with an object in a value. Deeper is refused before it is parsed.
MAX_NESTING = 16


class InvalidImportFile(Unprocessable):
    code = "invalid-import-file"
    title = "The import file cannot be read"


class Row(NamedTuple):
    """A row that passed its own checks, in the staging table's column order."""

    row: int
    indicator: str
    department: str
    period: str
    value: float | None
    comment: str | None
    source_system: str | None
    evidence_url: str | None


@dataclass(frozen=True, slots=True)
class Conflict:
    row: int
    field: str
    value: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "value": self.value, "reason": self.reason}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("not a number")
    number = float(value)  # ints, floats, and the strings DHIS2 sends
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _field(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    if value is None or value.__class__ is not str:
        return _text(value)
    return value if value and not value.isspace() else None


def check_row(
    row_no: int,
    fields: dict[str, Any],
    *,
    value_required: bool,
    known: set[str] | None = None,
) -> Row | Conflict:
    """One row's own checks; the first problem found is its conflict. (Called for every
    row of every import: written for speed.)"""
    if EXTRA_CELLS in fields:
        return Conflict(row_no, "row", None, fields[EXTRA_CELLS])
    indicator = _field(fields, "indicator")
    department = _field(fields, "department")
    period = _field(fields, "period")
    if indicator is None:
        return Conflict(row_no, "indicator", None, "indicator is required")
    if department is None:
        return Conflict(row_no, "department", None, "department is required")
    if period is None:
        return Conflict(row_no, "period", None, "period is required")
    # Codes and periods repeat across a file: `known` remembers those already checked.
    if known is None or indicator not in known:
        if not CODE.fullmatch(indicator):
            return Conflict(row_no, "indicator", indicator, "not a valid indicator code")
        if known is not None and len(known) < MAX_KNOWN:
            known.add(indicator)
    if known is None or department not in known:
        if not CODE.fullmatch(department):
            return Conflict(row_no, "department", department, "not a valid department code")
        if known is not None and len(known) < MAX_KNOWN:
            known.add(department)
    if known is None or ("#" + period) not in known:
        if not PERIOD.fullmatch(period):
            return Conflict(row_no, "period", period, "not a period (2026, 2026Q1 or 202603)")
        if known is not None and len(known) < MAX_KNOWN:
            known.add("#" + period)
    comment = _field(fields, "comment")
    source_system = _field(fields, "source_system")
    evidence_url = _field(fields, "evidence_url")
    if comment is not None or source_system is not None or evidence_url is not None:
        for name, text in (
            ("comment", comment),
            ("source_system", source_system),
            ("evidence_url", evidence_url),
        ):
            if text is not None and len(text) > LIMITS[name]:
                return Conflict(row_no, name, None, f"longer than {LIMITS[name]} characters")
            if text is not None and "\x00" in text:
                return Conflict(row_no, name, None, "contains a NUL character")
        if evidence_url is not None and not evidence_url.startswith(("https://", "http://")):
            return Conflict(row_no, "evidence_url", evidence_url, "not an http(s) link")
    raw = fields.get("value")
    value: float | None = None
    if raw.__class__ is float:
        value = raw
        if not math.isfinite(value):
            return Conflict(row_no, "value", str(raw), "not a number")
    elif _text(raw) is not None:
        try:
            value = _number(raw)
        except (TypeError, ValueError, OverflowError):
            return Conflict(row_no, "value", str(raw)[:100], "not a number")
    elif value_required:
        return Conflict(row_no, "value", None, "value is required")
    return Row(row_no, indicator, department, period, value, comment, source_system, evidence_url)


def _json_error(exc: Exception) -> InvalidImportFile:
    return InvalidImportFile(f"Not valid JSON: {exc}")


_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'"[]{}')
_DEPTH_STEP = [1 if c in b"[{" else -1 if c in b"]}" else 0 for c in range(256)]


class _Nesting:
    """A JSON file as the parser reads it, each piece first checked to nest no deeper than
    MAX_NESTING (brackets in strings do not count). The check works on whole pieces with
    bytes methods: escapes dropped, then all but quotes and brackets, then empty strings;
    what is left of the brackets is counted. Only the parity of quotes and of a trailing
    run of backslashes crosses from one piece to the next."""

    __slots__ = ("_depth", "_escape", "_in_string", "_source")

    def __init__(self, source: IO[bytes]) -> None:
        self._source = source
        self._depth = 0
        self._in_string = False
        self._escape = False  # the piece ended on a backslash that escapes the next byte

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        if data:
            self._check(data)
        return data

    def _check(self, data: bytes) -> None:
        text = b"\\" + data if self._escape else data
        if text[-1] == 0x5C:  # a backslash: its run may escape the next piece's first byte
            kept = text.rstrip(b"\\")
            self._escape = (len(text) - len(kept)) % 2 == 1
            text = kept
        else:
            self._escape = False
        if b'\\"' in text:  # an escaped quote ends no string (escapes are in strings only)
            if b"\\\\" in text:
                text = text.replace(b"\\\\", b"")
            text = text.replace(b'\\"', b"")
        text = text.translate(None, _NOT_STRUCTURE)
        if self._in_string:
            text = b'"' + text
        text = text.replace(b'""', b"")  # the same quote parity for every byte after
        if b'"' in text:
            parts = text.split(b'"')
            self._in_string = len(parts) % 2 == 0
            text = b"".join(parts[::2])
        else:
            self._in_string = False
        if not text:
            return
        # Without its empty objects, then empty arrays, a piece of rows is a few brackets,
        # and at most 2 levels shallower: only a piece that comes close is counted in full.
        short = text.replace(b"{}", b"").replace(b"[]", b"")
        if (
            _deepest(short, self._depth) + 2 > MAX_NESTING
            and _deepest(text, self._depth) > MAX_NESTING
        ):
            raise InvalidImportFile(
                f"The JSON nests arrays and objects more than {MAX_NESTING} deep; an import "
                "needs 3 (the document, its list, a value)"
            )
        self._depth += sum(map(_DEPTH_STEP.__getitem__, short))


def _deepest(brackets: bytes, depth: int) -> int:
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets), initial=depth))


def _items(source: IO[bytes], prefix: str, *, nesting_checked: bool = False) -> Iterator[Any]:
    try:
        yield from ijson.items(
            source if nesting_checked else _Nesting(source), prefix, use_float=True
        )
    except ijson.JSONError as exc:
        raise _json_error(exc) from exc


def _ours(source: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    for n, item in enumerate(_items(source, "measurements.item"), start=1):
        if not isinstance(item, dict):
            raise InvalidImportFile(f"measurements[{n}] is not an object")
        yield n, item


def _dhis2_defaults(source: IO[bytes]) -> dict[str, str]:
    """Set-level `period` and `orgUnit` (they apply to values that carry none), wherever in
    the document they are."""
    defaults: dict[str, str] = {}
    try:
        for prefix, event, value in ijson.parse(_Nesting(source)):
            if prefix in ("period", "orgUnit") and event in ("string", "number"):
                defaults[prefix] = str(value)
    except ijson.JSONError as exc:
        raise _json_error(exc) from exc
    source.seek(0)
    return defaults


def _dhis2(source: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    defaults = _dhis2_defaults(source)  # a whole pass: the nesting is checked
    for n, item in enumerate(_items(source, "dataValues.item", nesting_checked=True), start=1):
        if not isinstance(item, dict):
            raise InvalidImportFile(f"dataValues[{n}] is not an object")
        yield (
            n,
            {
                "indicator": item.get("dataElement"),
                "department": item.get("orgUnit") or defaults.get("orgUnit"),
                "period": item.get("period") or defaults.get("period"),
                "value": item.get("value"),
                "comment": item.get("comment"),
            },
        )


def _csv(source: IO[bytes]) -> Iterator[tuple[int, dict[str, Any]]]:
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
    try:
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            raise InvalidImportFile("The CSV file is empty")
        names = [h.strip() for h in header]
        if "" in names:
            raise InvalidImportFile("The header has an empty column name (a trailing comma?)")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise InvalidImportFile(f"Column(s) {', '.join(repeated)} appear more than once")
        unknown = [n for n in names if n not in CSV_COLUMNS]
        if unknown:
            raise InvalidImportFile(
                f"Unknown column(s) {', '.join(unknown)}; the columns are " + ",".join(CSV_COLUMNS)
            )
        missing = [n for n in REQUIRED_COLUMNS if n not in names]
        if missing:
            raise InvalidImportFile(f"Missing column(s) {', '.join(missing)}")
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(cells) > len(names):
                # An unquoted comma in a text, most likely: refuse rather than shift fields.
                yield (
                    reader.line_num,
                    {
                        EXTRA_CELLS: f"{len(cells)} cells but {len(names)} columns (quote texts "
                        "that contain commas)"
                    },
                )
                continue
            yield reader.line_num, dict(zip(names, cells, strict=False))
    except UnicodeDecodeError as exc:
        raise InvalidImportFile("The CSV file is not UTF-8") from exc
    except csv.Error as exc:
        raise InvalidImportFile(f"CSV line {reader.line_num}: {exc}") from exc
    finally:
        text.detach()


READERS = {"json": _ours, "csv": _csv, "dhis2": _dhis2}


def read_chunks(
    source: IO[bytes], fmt: Format, *, value_required: bool, chunk_size: int
) -> Iterator[tuple[list[Row], list[Conflict]]]:
    """The file's rows in chunks: (rows that passed their own checks, conflicts)."""
    rows: list[Row] = []
    conflicts: list[Conflict] = []
    known: set[str] = set()  # at most MAX_KNOWN entries, whatever the file holds
    for row_no, fields in READERS[fmt](source):
        checked = check_row(row_no, fields, value_required=value_required, known=known)
        (rows if isinstance(checked, Row) else conflicts).append(checked)  # type: ignore[arg-type]
        if len(rows) + len(conflicts) >= chunk_size:
            yield rows, conflicts
            rows, conflicts = [], []
    if rows or conflicts:
        yield rows, conflicts


def count_rows(source: IO[bytes], fmt: Format) -> int:
    """How many rows the file holds: a fast pass (no row is built), for a job's progress."""
    if fmt == "csv":
        total = max(0, sum(1 for _ in _csv(source)))
    else:
        item = "dataValues.item" if fmt == "dhis2" else "measurements.item"
        try:
            total = sum(
                1
                for prefix, event, _ in ijson.parse(_Nesting(source))
                if event == "start_map" and prefix == item
            )
        except ijson.JSONError as exc:
            raise _json_error(exc) from exc
    source.seek(0)
    return total


# --- writing ------------------------------------------------------------------------------


def format_value(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _number_out(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if value.is_integer() and abs(value) < 1e15 else value


def _csv_line(record: dict[str, Any]) -> str:
    buffer = io.StringIO()
    # The default "\r\n" line ends make the writer quote a lone "\r" too, so every text
    # reads back as written.
    csv.writer(buffer).writerow(
        [
            format_value(record["value"]) if name == "value" else (record[name] or "")
            for name in CSV_COLUMNS
        ]
    )
    return buffer.getvalue()


def _json_item(record: dict[str, Any], fmt: Format) -> str:
    if fmt == "dhis2":
        item: dict[str, Any] = {
            "dataElement": record["indicator"],
            "period": record["period"],
            "orgUnit": record["department"],
            "value": format_value(record["value"]),
        }
        if record["comment"]:
            item["comment"] = record["comment"]
    else:
        item = {name: record[name] for name in CSV_COLUMNS if record[name] is not None}
        item["value"] = _number_out(record["value"])
    return json.dumps(item, ensure_ascii=False)


async def write(records: AsyncIterable[dict[str, Any]], fmt: Format) -> AsyncIterator[str]:
    """Export text in `fmt`, streamed in pieces of about 64 KiB; records carry the
    CSV_COLUMNS keys."""
    pieces: list[str] = []
    size = 0
    if fmt == "csv":
        pieces.append(",".join(CSV_COLUMNS) + "\r\n")
    else:
        pieces.append('{"dataValues":[' if fmt == "dhis2" else '{"measurements":[')
    first = True
    async for record in records:
        if fmt == "csv":
            piece = _csv_line(record)
        else:
            piece = ("" if first else ",") + _json_item(record, fmt)
        first = False
        pieces.append(piece)
        size += len(piece)
        if size > 65536:
            yield "".join(pieces)
            pieces, size = [], 0
    if fmt != "csv":
        pieces.append("]}")
    yield "".join(pieces)
