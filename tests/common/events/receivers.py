"""Stand-ins for the far end of a webhook: a portal that records, a proxy that misbehaves."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send


async def eventually(
    check: Callable[[], Awaitable[Any]], *, within: float = 10.0, interval: float = 0.05
) -> Any:
    """Poll `check` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result or time.monotonic() > deadline:
            assert result, f"condition not met within {within}s (last: {result!r})"
            return result
        await asyncio.sleep(interval)


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


async def _respond(
    send: Send, status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> None:
    raw = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Portal:
    """Records every webhook it receives and answers with the next planned status."""

    statuses: list[int] = field(default_factory=list)  # planned answers, then 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # Or decide per event: a function of the parsed event returning the status to answer.
    decide: Callable[[dict[str, Any]], int] | None = None
    received: list[dict[str, Any]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        request_headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        if self.delay:
            await asyncio.sleep(self.delay)
        event = json.loads(body)
        if self.decide is not None:
            status = self.decide(event)
        else:
            status = self.statuses.pop(0) if self.statuses else 200
        self.received.append(
            {"headers": request_headers, "body": body, "event": event, "status": status}
        )
        await _respond(
            send,
            status,
            b"ok" if status < 300 else b"nope",
            self.headers if status >= 300 else None,
        )

    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.received if 200 <= r["status"] < 300]


@dataclass
class FlakyProxy:
    """Sits in front of a real service: fails the first `failures` inbox calls, or passes
    them through and then loses the answer (`lose_answers`); with `hold`, each inbox call
    waits on the wire until it is set."""

    app: ASGIApp
    failures: int = 0
    lose_answers: int = 0
    calls: int = 0
    hold: asyncio.Event | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        inbox = scope["type"] == "http" and scope["path"] == "/v1/webhooks/inbox"
        if not inbox:
            await self.app(scope, receive, send)
            return
        self.calls += 1
        if self.hold is not None:
            await self.hold.wait()
        if self.failures > 0:
            self.failures -= 1
            await _read_body(receive)
            await _respond(send, 500, b"temporarily broken")
            return
        if self.lose_answers > 0:
            self.lose_answers -= 1

            async def swallow(_message: Any) -> None:
                pass

            await self.app(scope, receive, swallow)  # the effect happens ...
            await _respond(send, 502, b"")  # ... but the sender never hears of it
            return
        await self.app(scope, receive, send)
