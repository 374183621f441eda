"""Indicator formulas: a small, safe arithmetic language over other indicators' values.

DHIS2-style indicators are computed from other indicators' measured values, which formulas
refer to by indicator code, e.g. ``(#{E1.2} + #{E1.3}) / 2``. Formulas are written by users,
so they are read by a hand-written tokenizer and recursive-descent parser into a tiny AST of
frozen dataclasses and evaluated by walking that tree: nothing here reaches ``eval``,
``compile`` or Python's ``ast``, and nothing but numbers, references, ``+ - * /``, unary
minus and parentheses is accepted.

Grammar (whitespace between tokens is ignored)::

    expression := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := NUMBER | REFERENCE | "(" expression ")"
    NUMBER     := DIGITS ("." DIGITS)? (("e" | "E") ("+" | "-")? DIGITS)?
    REFERENCE  := "#{" CODE "}"        CODE := [A-Za-z0-9_.-]{1,64}

Limits keep the work per formula small and bounded: at most ``MAX_LENGTH`` characters,
``MAX_TOKENS`` tokens and ``MAX_DEPTH`` levels of parentheses and unary minus.

Evaluation gives ``None`` ("no value") rather than a number when the data to compute one is
not there: a referenced code missing from the values, a division by zero (DHIS2 likewise
skips such values rather than failing), or a result that is not finite.
"""

from __future__ import annotations

import math
import string
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, cast

MAX_LENGTH = 2000
MAX_TOKENS = 200
MAX_DEPTH = 50
MAX_CODE_LENGTH = 64

_DIGITS = frozenset(string.digits)
_CODE_CHARS = frozenset(string.ascii_letters + string.digits + "_.-")
_WHITESPACE = frozenset(" \t\r\n")
_OPERATORS = frozenset("+-*/")

_ADDITIVE = 1
_MULTIPLICATIVE = 2
_UNARY = 3
_ATOM = 4

Operator = Literal["+", "-", "*", "/"]


class InvalidFormula(ValueError):
    """A formula that does not parse; ``position`` is the 0-based offset of the problem.

    A plain ``ValueError``, as this package knows nothing of HTTP: a service that lets one
    reach a client renders it as its own 422 problem, with the position as an extra field so
    a client can point at the offending character (the indicator service does).
    """

    def __init__(self, detail: str, *, position: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.position = position


# --- syntax tree ------------------------------------------------------------------------


class Expression(ABC):
    """A parsed formula. Nodes are immutable, compare by structure and are hashable.

    ``str()`` renders the canonical form: single spaces around binary operators and only the
    parentheses the precedence needs, so ``parse(str(e)) == e`` for every parsed ``e``.
    """

    __slots__ = ()

    @abstractmethod
    def references(self) -> frozenset[str]:
        """The indicator codes this expression refers to."""

    def evaluate(self, values: Mapping[str, float]) -> float | None:
        """The value for ``values`` (code → measured value), or None when it has none.

        None means: a referenced code is missing from ``values`` (or maps to None), a
        division by zero happened, or the result is not a finite number.
        """
        result = self._evaluate(values)
        if result is None or not math.isfinite(result):
            return None
        return result

    @abstractmethod
    def _evaluate(self, values: Mapping[str, float]) -> float | None: ...


@dataclass(frozen=True, slots=True)
class Number(Expression):
    """A literal; always finite and non-negative (a minus sign parses as ``Negate``)."""

    value: float

    def __post_init__(self) -> None:
        if not math.isfinite(self.value) or self.value < 0:
            raise ValueError(f"a Number literal must be finite and ≥ 0, got {self.value!r}")

    def references(self) -> frozenset[str]:
        return frozenset()

    def _evaluate(self, values: Mapping[str, float]) -> float | None:
        return float(self.value)

    def __str__(self) -> str:
        value = float(self.value)
        if value.is_integer() and value < 1e16:
            return str(int(value))
        return repr(value)


@dataclass(frozen=True, slots=True)
class Reference(Expression):
    """The measured value of the indicator with this code."""

    code: str

    def __post_init__(self) -> None:
        if not 0 < len(self.code) <= MAX_CODE_LENGTH or not set(self.code) <= _CODE_CHARS:
            raise ValueError(f"not an indicator code: {self.code!r}")

    def references(self) -> frozenset[str]:
        return frozenset((self.code,))

    def _evaluate(self, values: Mapping[str, float]) -> float | None:
        value = values.get(self.code)
        return None if value is None else float(value)

    def __str__(self) -> str:
        return f"#{{{self.code}}}"


@dataclass(frozen=True, slots=True)
class Negate(Expression):
    """Unary minus."""

    operand: Expression

    def references(self) -> frozenset[str]:
        return self.operand.references()

    def _evaluate(self, values: Mapping[str, float]) -> float | None:
        operand = self.operand._evaluate(values)
        return None if operand is None else -operand

    def __str__(self) -> str:
        return f"-{_wrap(self.operand, _precedence(self.operand) < _UNARY)}"


@dataclass(frozen=True, slots=True)
class Binary(Expression):
    """``left operator right`` for one of ``+ - * /``; chains associate to the left."""

    operator: Operator
    left: Expression
    right: Expression

    def references(self) -> frozenset[str]:
        return self.left.references() | self.right.references()

    def _evaluate(self, values: Mapping[str, float]) -> float | None:
        left = self.left._evaluate(values)
        if left is None:
            return None
        right = self.right._evaluate(values)
        if right is None:
            return None
        match self.operator:
            case "+":
                return left + right
            case "-":
                return left - right
            case "*":
                return left * right
            case _:
                return None if right == 0 else left / right

    def __str__(self) -> str:
        precedence = _precedence(self)
        left = _wrap(self.left, _precedence(self.left) < precedence)
        right = _wrap(self.right, _precedence(self.right) <= precedence)
        return f"{left} {self.operator} {right}"


def _precedence(node: Expression) -> int:
    if isinstance(node, Binary):
        return _ADDITIVE if node.operator in ("+", "-") else _MULTIPLICATIVE
    return _UNARY if isinstance(node, Negate) else _ATOM


def _wrap(node: Expression, parenthesize: bool) -> str:
    return f"({node})" if parenthesize else str(node)


# --- tokenizer --------------------------------------------------------------------------

_TokenKind = Literal["number", "reference", "operator", "(", ")", "end"]


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _TokenKind
    text: str
    position: int
    number: float = 0.0


def _skip_digits(source: str, index: int) -> int:
    while index < len(source) and source[index] in _DIGITS:
        index += 1
    return index


def _read_number(source: str, start: int) -> _Token:
    end = _skip_digits(source, start)
    if end < len(source) and source[end] == ".":
        after = _skip_digits(source, end + 1)
        if after == end + 1:
            raise InvalidFormula(f"expected a digit after '.' at position {after}", position=after)
        end = after
    if end < len(source) and source[end] in "eE":
        digits = end + 1
        if digits < len(source) and source[digits] in "+-":
            digits += 1
        after = _skip_digits(source, digits)
        if after == digits:
            raise InvalidFormula(f"expected exponent digits at position {digits}", position=digits)
        end = after
    text = source[start:end]
    value = float(text)
    if not math.isfinite(value):
        raise InvalidFormula(f"number {text} is too large at position {start}", position=start)
    return _Token("number", text, start, value)


def _read_reference(source: str, start: int) -> _Token:
    if start + 1 >= len(source):
        raise InvalidFormula(f"unterminated reference at position {start}", position=start)
    if source[start + 1] != "{":
        position = start + 1
        raise InvalidFormula(f"expected '{{' after '#' at position {position}", position=position)
    end = start + 2
    while end < len(source) and source[end] in _CODE_CHARS:
        end += 1
    if end >= len(source) or (source[end] != "}" and "}" not in source[end:]):
        raise InvalidFormula(f"unterminated reference at position {start}", position=start)
    if source[end] != "}":
        raise InvalidFormula(
            f"invalid character {source[end]!r} in reference at position {end}", position=end
        )
    code = source[start + 2 : end]
    if not code:
        raise InvalidFormula(f"empty reference at position {start}", position=start)
    if len(code) > MAX_CODE_LENGTH:
        raise InvalidFormula(
            f"reference code longer than {MAX_CODE_LENGTH} characters at position {start}",
            position=start,
        )
    return _Token("reference", source[start : end + 1], start)


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char in _WHITESPACE:
            index += 1
            continue
        if len(tokens) == MAX_TOKENS:
            raise InvalidFormula(
                f"formula has more than {MAX_TOKENS} tokens at position {index}", position=index
            )
        if char in _DIGITS:
            token = _read_number(source, index)
        elif char == "#":
            token = _read_reference(source, index)
        elif char in _OPERATORS:
            token = _Token("operator", char, index)
        elif char == "(":
            token = _Token("(", char, index)
        elif char == ")":
            token = _Token(")", char, index)
        else:
            hint = "; refer to an indicator as #{CODE}" if char.isalpha() or char == "_" else ""
            raise InvalidFormula(
                f"unknown character {char!r} at position {index}{hint}", position=index
            )
        tokens.append(token)
        index = token.position + len(token.text)
    tokens.append(_Token("end", "", len(source)))
    return tokens


# --- parser -----------------------------------------------------------------------------


class _Parser:
    """Recursive descent over the token list, one method per grammar rule."""

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise InvalidFormula(
                f"formula nested deeper than {MAX_DEPTH} levels at position {token.position}",
                position=token.position,
            )

    @staticmethod
    def unexpected(token: _Token) -> InvalidFormula:
        if token.kind == "end":
            return InvalidFormula(
                f"unexpected end of formula at position {token.position}", position=token.position
            )
        return InvalidFormula(
            f"unexpected {token.text!r} at position {token.position}", position=token.position
        )

    def expression(self) -> Expression:
        node = self.term()
        while (token := self.peek()).kind == "operator" and token.text in "+-":
            self.advance()
            node = Binary(cast(Operator, token.text), node, self.term())
        return node

    def term(self) -> Expression:
        node = self.unary()
        while (token := self.peek()).kind == "operator" and token.text in "*/":
            self.advance()
            node = Binary(cast(Operator, token.text), node, self.unary())
        return node

    def unary(self) -> Expression:
        token = self.peek()
        if token.kind == "operator" and token.text == "-":
            self.advance()
            self.enter(token)
            node = Negate(self.unary())
            self.depth -= 1
            return node
        return self.primary()

    def primary(self) -> Expression:
        token = self.advance()
        if token.kind == "number":
            return Number(token.number)
        if token.kind == "reference":
            return Reference(token.text[2:-1])
        if token.kind == "(":
            self.enter(token)
            node = self.expression()
            closing = self.peek()
            if closing.kind == "end":
                raise InvalidFormula(
                    f"unclosed '(' at position {token.position}", position=token.position
                )
            if closing.kind != ")":
                raise self.unexpected(closing)
            self.advance()
            self.depth -= 1
            return node
        raise self.unexpected(token)


def parse(source: str) -> Expression:
    """Parse a formula, raising ``InvalidFormula`` that names what is wrong and where."""
    if len(source) > MAX_LENGTH:
        raise InvalidFormula(
            f"formula longer than {MAX_LENGTH} characters (it has {len(source)})",
            position=MAX_LENGTH,
        )
    tokens = _tokenize(source)
    if len(tokens) == 1:
        raise InvalidFormula("empty formula", position=0)
    parser = _Parser(tokens)
    expression = parser.expression()
    if parser.peek().kind != "end":
        raise parser.unexpected(parser.peek())
    return expression
