"""Per-request context that travels with the task: the request id, and the component
answering it (several apps share a process in the test harness)."""

from __future__ import annotations

from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("govperf_request_id", default=None)
_component: ContextVar[str | None] = ContextVar("govperf_component", default=None)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> object:
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]


def current_component() -> str | None:
    return _component.get()


def set_component(value: str | None) -> object:
    return _component.set(value)


def reset_component(token: object) -> None:
    _component.reset(token)  # type: ignore[arg-type]
