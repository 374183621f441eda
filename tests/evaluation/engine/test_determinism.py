"""Same inputs, same outcome bit for bit; the digest names the inputs, not their order."""

from __future__ import annotations

import dataclasses
import json

import pytest

from services.evaluation.engine import (
    AdjustmentInput,
    digest,
    inputs_from_json,
    inputs_json,
    score_cycle,
)
from tests.evaluation.engine.builders import big_cycle


@pytest.fixture(scope="module")
def inputs():
    cycle = big_cycle(departments=40, indicators=30)
    return dataclasses.replace(
        cycle,
        adjustments=(
            AdjustmentInput("dept-0003", "indicator", "D2.4", 0.25, "AP-1"),
            AdjustmentInput("dept-0003", "group", "experts", -2, "AP-2"),
        ),
    )


def _shuffled(cycle):
    """The same inputs listed in another order."""
    return dataclasses.replace(
        cycle,
        departments=tuple(reversed(cycle.departments)),
        values=dict(reversed(list(cycle.values.items()))),
        ratings=tuple(reversed(cycle.ratings)),
        scorecards=tuple(reversed(cycle.scorecards)),
        adjustments=tuple(reversed(cycle.adjustments)),
    )


def _text(outcome) -> str:
    return json.dumps(dataclasses.asdict(outcome), sort_keys=True, ensure_ascii=False)


class TestDeterminism:
    def test_same_inputs_same_outcome(self, inputs) -> None:
        assert _text(score_cycle(inputs)) == _text(score_cycle(inputs))

    def test_order_of_the_inputs_does_not_matter(self, inputs) -> None:
        assert _text(score_cycle(_shuffled(inputs))) == _text(score_cycle(inputs))

    def test_breakdown_is_json(self, inputs) -> None:
        outcome = score_cycle(inputs)
        for result in outcome.results:
            assert json.loads(json.dumps(result.breakdown, allow_nan=False)) == result.breakdown


class TestDigest:
    def test_is_sha256_hex(self, inputs) -> None:
        value = digest(inputs)
        assert len(value) == 64 and int(value, 16) >= 0

    def test_order_of_the_inputs_does_not_change_it(self, inputs) -> None:
        assert digest(_shuffled(inputs)) == digest(inputs)

    def test_any_change_of_an_input_changes_it(self, inputs) -> None:
        values = {d: dict(v) for d, v in inputs.values.items()}
        values["dept-0001"]["D1.1"] += 0.5
        assert digest(dataclasses.replace(inputs, values=values)) != digest(inputs)

    def test_an_integer_and_its_float_are_the_same_input(self, inputs) -> None:
        values = {d: {c: float(x) for c, x in v.items()} for d, v in inputs.values.items()}
        assert digest(dataclasses.replace(inputs, values=values)) == digest(inputs)

    def test_stored_inputs_score_the_same(self, inputs) -> None:
        stored = json.loads(json.dumps(inputs_json(inputs), allow_nan=False))
        again = inputs_from_json(stored)
        assert digest(again) == digest(inputs)
        assert _text(score_cycle(again)) == _text(score_cycle(inputs))
