"""The inputs as canonical JSON: to store with a result version, to digest, to score again.

``inputs_json`` turns a ``CycleInput`` into plain JSON values (sets, departments, sums and
adjustments sorted, numbers in float fields as floats); ``inputs_from_json`` turns that back
into a ``CycleInput`` that scores the same; ``digest`` is the SHA-256 of the canonical text
(keys sorted, no whitespace, UTF-8), so the same inputs give the same digest whatever order
they were built in.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from services.evaluation.engine.types import (
    AdjustmentInput,
    CycleInput,
    CycleRules,
    DimensionInput,
    GradeBand,
    GroupInput,
    RatingStats,
    ScorecardStats,
)

FORMAT_VERSION = 1


def _plain(value: Any, annotation: str = "") -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            item.name: _plain(getattr(value, item.name), str(item.type))
            for item in dataclasses.fields(value)
        }
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and "float" in annotation and "int" not in annotation:
        return float(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, frozenset | set):
        return sorted(_plain(item) for item in value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    raise TypeError(f"cannot put {type(value).__name__} into the inputs' JSON")


def inputs_json(cycle: CycleInput) -> dict[str, Any]:
    """The inputs as JSON values (``json.dumps`` takes them as they are)."""
    data = _plain(cycle)
    # What the engine reads as sets come out sorted: their order never changes an outcome,
    # so it must not change the digest either. (Groups and the tree keep their order: it is
    # the order of the breakdown.)
    data["departments"] = sorted(data["departments"])
    data["scorecards"].sort(
        key=lambda s: (s["group_code"], s["department_id"], s["dimension_code"])
    )
    data["ratings"].sort(
        key=lambda r: (r["group_code"] or "", r["department_id"], r["dimension_code"])
    )
    data["adjustments"].sort(
        key=lambda a: (
            a["department_id"],
            a["target_kind"],
            a["target_code"],
            a["appeal_id"],
            a["points"],
        )
    )
    # Measured values are floats whatever the loading side read them as.
    data["values"] = {
        department: {code: float(value) for code, value in values.items()}
        for department, values in data["values"].items()
    }
    return {"format": FORMAT_VERSION, **data}


def canonical_text(cycle: CycleInput) -> str:
    return json.dumps(
        inputs_json(cycle),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def digest(cycle: CycleInput) -> str:
    """SHA-256 (hex) of the inputs' canonical JSON; raises ValueError for NaN or infinity."""
    return hashlib.sha256(canonical_text(cycle).encode("utf-8")).hexdigest()


def inputs_from_json(data: Mapping[str, Any]) -> CycleInput:
    """The ``CycleInput`` that ``inputs_json`` gave ``data`` for."""
    if data.get("format") != FORMAT_VERSION:
        raise ValueError(f"unknown inputs format {data.get('format')!r}")
    rules = data["rules"]
    return CycleInput(
        system_nodes=tuple(data["system_nodes"]),
        departments=tuple(data["departments"]),
        groups=tuple(
            GroupInput(
                **{
                    **group,
                    "department_ids": None
                    if group["department_ids"] is None
                    else frozenset(group["department_ids"]),
                    "dimensions": tuple(DimensionInput(**d) for d in group["dimensions"]),
                }
            )
            for group in data["groups"]
        ),
        values={department: dict(values) for department, values in data["values"].items()},
        scorecards=tuple(ScorecardStats(**item) for item in data["scorecards"]),
        ratings=tuple(RatingStats(**item) for item in data["ratings"]),
        rules=CycleRules(
            **{
                **rules,
                "grade_bands": tuple(GradeBand(**band) for band in rules["grade_bands"]),
                "quotas": dict(rules["quotas"]),
            }
        ),
        adjustments=tuple(AdjustmentInput(**item) for item in data["adjustments"]),
    )
