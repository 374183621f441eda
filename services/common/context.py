"""Per-request context that travels with the task: the request id, and the component
answering it (several apps share a process in the test harness)."""

from __future__ import annotations

from contextvars import ContextVar, Token

_request: ContextVar[tuple[str | None, str | None]] = ContextVar(
    "govperf_request", default=(None, None)
)


def current_request_id() -> str | None:
    return _request.get()[0]


def current_component() -> str | None:
    return _request.get()[1]


def enter_request(
    request_id: str | None, component: str | None
) -> Token[tuple[str | None, str | None]]:
    """Set both for the request; `leave_request(token)` restores what was before."""
    return _request.set((request_id, component))


def leave_request(token: Token[tuple[str | None, str | None]]) -> None:
    _request.reset(token)
