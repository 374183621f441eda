"""`govperf dispatch`: a process that only delivers webhooks, to a real HTTP endpoint."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from services.common.db import Database
from services.common.events.outbox import COMPONENT, TABLES, emit
from services.common.events.subscriptions import inbox_secret
from services.disclosure.models import COMMON
from services.disclosure.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    received: list[tuple[dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()


async def emit_published(database_url: str) -> None:
    db = Database(database_url)
    db.write_sessions.configure(info={TABLES: COMMON, COMPONENT: "disclosure"})
    async with db.session() as session:
        await emit(
            session,
            "publication.published",
            aggregate="publication:p1",
            jurisdiction_code="231100",
            data={"publication_id": "p1"},
        )
        await session.commit()
    await db.dispose()


def sibling_synced(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        with sqlite3.connect(path) as connection:
            rows = connection.execute(
                "SELECT url FROM webhook_subscriptions WHERE kind = 'sibling'"
            ).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return False
    return bool(rows)


async def wait_for(condition: Callable[[], object], seconds: float) -> bool:
    for _ in range(int(seconds * 20)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


async def test_dispatch_delivers_signed_events_and_stops_on_sigterm(
    tmp_path: Path, receiver: tuple[str, list]
) -> None:
    url, received = receiver
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPERF_")}
    env.update(
        GOVPERF_DATA_DIR=str(tmp_path),
        GOVPERF_FEEDBACK_URL=url,
        GOVPERF_DISCLOSURE_WEBHOOK_POLL_SECONDS="0.1",
        GOVPERF_LOG_LEVEL="WARNING",
    )
    process = subprocess.Popen(  # noqa: ASYNC220 - starting it does not block
        [sys.executable, "-m", "govperf", "dispatch", "disclosure"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # The process migrates its database and syncs the sibling subscription on start.
        assert await wait_for(lambda: sibling_synced(tmp_path / "disclosure.db"), 30)
        await emit_published(f"sqlite+aiosqlite:///{tmp_path / 'disclosure.db'}")
        assert await wait_for(lambda: received, 20), process.stdout
        headers, body = received[0]
        secret = inbox_secret(Settings(), "feedback")
        assert Webhook(secret).verify(body, headers)["type"] == "publication.published"
        assert json.loads(body)["data"]["publication_id"] == "p1"
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
