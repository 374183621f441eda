"""The formula language: what it computes, how it renders, and what it refuses, with where."""

from __future__ import annotations

import dataclasses

import pytest

from services.common.errors import AppError
from services.scoring.formula import (
    MAX_CODE_LENGTH,
    MAX_DEPTH,
    MAX_LENGTH,
    MAX_TOKENS,
    Binary,
    InvalidFormula,
    Negate,
    Number,
    Reference,
    parse,
)


def _error(source: str) -> InvalidFormula:
    with pytest.raises(InvalidFormula) as info:
        parse(source)
    return info.value


class TestEvaluation:
    @pytest.mark.parametrize(
        ("source", "expected"),
        [
            ("1+2*3", 7),
            ("(1+2)*3", 9),
            ("-2*-3", 6),
            ("10/4", 2.5),
            ("1-2-3", -4),
            ("8/4/2", 1),
            ("2*3+4*5", 26),
            ("-(1+2)", -3),
            ("--2", 2),
            ("-2*3", -6),
            ("1 - -2", 3),
            ("12", 12),
            ("3.5", 3.5),
            ("1e3", 1000),
            ("2E+2", 200),
            ("25e-1", 2.5),
            (" 1 +\t2\n* 3\r", 7),
            ("((((4))))", 4),
        ],
    )
    def test_arithmetic_and_precedence(self, source: str, expected: float) -> None:
        assert parse(source).evaluate({}) == pytest.approx(expected)

    def test_structure_follows_precedence_and_left_association(self) -> None:
        assert parse("1+2*3") == Binary("+", Number(1), Binary("*", Number(2), Number(3)))
        assert parse("1-2-3") == Binary("-", Binary("-", Number(1), Number(2)), Number(3))
        assert parse("-#{A}*2") == Binary("*", Negate(Reference("A")), Number(2))

    def test_references_are_collected_once_each(self) -> None:
        expression = parse("(#{E1.2} + #{a_b-c}) / #{E1.2} * 100")
        assert expression.references() == frozenset({"E1.2", "a_b-c"})
        assert parse("1 + 2").references() == frozenset()

    def test_references_take_their_values(self) -> None:
        expression = parse("#{A} / #{B} * 100")
        assert expression.evaluate({"A": 45, "B": 50}) == pytest.approx(90)
        assert parse("#{E1.2} - #{x}").evaluate({"E1.2": 5.5, "x": 2, "unused": 9}) == 3.5

    @pytest.mark.parametrize(
        "values",
        [{}, {"A": 1}, {"B": 2}, {"A": 1, "B": None}],
        ids=["none", "no-B", "no-A", "B-is-None"],
    )
    def test_a_missing_reference_gives_no_value(self, values: dict[str, float]) -> None:
        assert parse("#{A} + #{B}").evaluate(values) is None

    @pytest.mark.parametrize(
        "source", ["1/0", "#{A}/#{Z}", "1/(#{A}-#{A})", "1 + 2/0 * 3", "0/0", "-(5/0)"]
    )
    def test_division_by_zero_gives_no_value(self, source: str) -> None:
        assert parse(source).evaluate({"A": 3, "Z": 0}) is None

    def test_a_result_that_is_not_finite_gives_no_value(self) -> None:
        assert parse("1e308 * 10").evaluate({}) is None
        assert parse("#{A} - #{A}").evaluate({"A": float("inf")}) is None

    def test_nodes_are_immutable_and_hashable(self) -> None:
        expression = parse("#{A} + 1")
        with pytest.raises(dataclasses.FrozenInstanceError):
            expression.left = Number(2)  # type: ignore[attr-defined,misc]
        assert len({expression, parse("#{A}+1"), parse("#{A}+2")}) == 2

    @pytest.mark.parametrize("value", [-1.0, float("inf"), float("nan")])
    def test_number_literals_are_finite_and_not_negative(self, value: float) -> None:
        with pytest.raises(ValueError, match="finite and ≥ 0"):
            Number(value)

    @pytest.mark.parametrize("code", ["", "A B", "A" * (MAX_CODE_LENGTH + 1), "x}"])
    def test_references_hold_valid_codes_only(self, code: str) -> None:
        with pytest.raises(ValueError, match="not an indicator code"):
            Reference(code)


class TestRendering:
    @pytest.mark.parametrize(
        ("source", "canonical"),
        [
            ("1+2*3", "1 + 2 * 3"),
            ("(1+2)*3", "(1 + 2) * 3"),
            ("1-(2-3)", "1 - (2 - 3)"),
            ("(1-2)-3", "1 - 2 - 3"),
            ("1/(2*3)", "1 / (2 * 3)"),
            ("1/2*3", "1 / 2 * 3"),
            ("1+(2+3)", "1 + (2 + 3)"),
            ("-(#{A}+1)", "-(#{A} + 1)"),
            ("-(2*3)", "-(2 * 3)"),
            ("(-2)*3", "-2 * 3"),
            ("--2", "--2"),
            ("1 - -2", "1 - -2"),
            ("#{E1.2}/#{A}*100", "#{E1.2} / #{A} * 100"),
            ("2.50", "2.5"),
            ("0.1", "0.1"),
            ("1e3", "1000"),
            ("1e20", "1e+20"),
            ("1.5e-7", "1.5e-07"),
        ],
    )
    def test_canonical_form(self, source: str, canonical: str) -> None:
        assert str(parse(source)) == canonical

    @pytest.mark.parametrize(
        "source",
        [
            "1+2*3-4/5",
            "((1+2)*(3-4))/-(5+#{A})",
            "-(-(#{x.y}))*--3",
            "#{A}-(#{B}-(#{C}-#{D}))",
            "#{A}/(#{B}/(#{C}*#{D}))",
            "0.000123*123456789012345678",
            "1e-300/7",
        ],
    )
    def test_rendering_parses_back_to_an_equal_expression(self, source: str) -> None:
        expression = parse(source)
        assert parse(str(expression)) == expression
        assert str(parse(str(expression))) == str(expression)


class TestErrors:
    @pytest.mark.parametrize(
        ("source", "message", "position"),
        [
            ("", "empty formula", 0),
            ("  \t ", "empty formula", 0),
            ("(1 + 2))", "unexpected ')' at position 7", 7),
            ("12 $", "unknown character '$' at position 3", 3),
            ("#{A", "unterminated reference at position 0", 0),
            ("1 + #{A + 2", "unterminated reference at position 4", 4),
            ("1 + #", "unterminated reference at position 4", 4),
            ("#A", "expected '{' after '#' at position 1", 1),
            ("#{}", "empty reference at position 0", 0),
            ("#{A B}", "invalid character ' ' in reference at position 3", 3),
            (
                "#{" + "A" * (MAX_CODE_LENGTH + 1) + "}",
                f"reference code longer than {MAX_CODE_LENGTH} characters at position 0",
                0,
            ),
            ("1 +", "unexpected end of formula at position 3", 3),
            ("(1 + 2", "unclosed '(' at position 0", 0),
            ("1 2", "unexpected '2' at position 2", 2),
            ("(1 2)", "unexpected '2' at position 3", 3),
            ("#{A}#{B}", "unexpected '#{B}' at position 4", 4),
            ("()", "unexpected ')' at position 1", 1),
            ("+1", "unexpected '+' at position 0", 0),
            ("2 * / 3", "unexpected '/' at position 4", 4),
            ("1.", "expected a digit after '.' at position 2", 2),
            ("1.e3", "expected a digit after '.' at position 2", 2),
            ("1e", "expected exponent digits at position 2", 2),
            ("1e+x", "expected exponent digits at position 3", 3),
            ("1e999", "number 1e999 is too large at position 0", 0),
            (".5", "unknown character '.' at position 0", 0),
            ("E1 + 1", "unknown character 'E' at position 0; refer to an indicator as #{CODE}", 0),
        ],
    )
    def test_message_says_what_and_where(self, source: str, message: str, position: int) -> None:
        error = _error(source)
        assert error.detail == message
        assert str(error) == message
        assert error.position == position

    def test_is_a_value_error_not_an_http_problem(self) -> None:
        # The language is pure: a service renders the error as its own problem.
        error = _error(")")
        assert isinstance(error, ValueError)
        assert not isinstance(error, AppError)

    @pytest.mark.parametrize(
        "source",
        [
            "__import__('os')",
            "__import__('os').system('id')",
            "1**2",
            "2 ** 10",
            "abs(-1)",
            "x",
            "True",
            "None",
            "lambda: 1",
            "1 if 1 else 2",
            "[1, 2]",
            "{1: 2}",
            "'text'",
            "1 % 2",
            "7 // 2",
            "1 < 2",
            "1 == 1",
            "1; 2",
            "1_000",
            "0x10",
            "#{A}.real",
            "#{A}[0]",
            "1 + 2  # comment",
            "()",
            "２",
            "²",
        ],
    )
    def test_python_is_not_accepted(self, source: str) -> None:
        _error(source)


class TestLimits:
    def test_length(self) -> None:
        assert parse("1" + " " * (MAX_LENGTH - 1)).evaluate({}) == 1
        error = _error("1" + " " * MAX_LENGTH)
        assert error.detail == (
            f"formula longer than {MAX_LENGTH} characters (it has {MAX_LENGTH + 1})"
        )
        assert error.position == MAX_LENGTH

    def test_tokens(self) -> None:
        most = "+".join(["1"] * (MAX_TOKENS // 2))
        assert parse(most).evaluate({}) == MAX_TOKENS // 2
        error = _error(most + "+1")
        assert error.detail == f"formula has more than {MAX_TOKENS} tokens at position {MAX_TOKENS}"
        assert error.position == MAX_TOKENS

    def test_parenthesis_depth(self) -> None:
        assert parse("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH).evaluate({}) == 1
        error = _error("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
        assert error.detail == (
            f"formula nested deeper than {MAX_DEPTH} levels at position {MAX_DEPTH}"
        )

    def test_unary_minus_depth(self) -> None:
        assert parse("-" * MAX_DEPTH + "1").evaluate({}) == 1
        error = _error("-" * (MAX_DEPTH + 1) + "1")
        assert error.position == MAX_DEPTH
        assert "nested deeper" in error.detail

    def test_depth_counts_parentheses_and_minus_together(self) -> None:
        half = MAX_DEPTH // 2
        assert parse("(-" * half + "1" + ")" * half).evaluate({}) == (-1) ** half
        _error("(-" * half + "(1)" + ")" * half)

    def test_code_length(self) -> None:
        code = "A" * MAX_CODE_LENGTH
        assert parse(f"#{{{code}}}").references() == frozenset({code})
