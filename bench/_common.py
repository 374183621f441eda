"""What the benchmarks share: the machine, fresh PostgreSQL databases, service processes."""

from __future__ import annotations

import asyncio
import ctypes
import os
import platform
import secrets
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


def machine(pg_version: str | None) -> list[str]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "?")
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kb = int(next(ln.split()[1] for ln in meminfo if ln.startswith("MemTotal:")))
    lines = [
        f"cpu        {cpu}",
        f"cores      {os.cpu_count()}",
        f"memory     {mem_kb / 1024 / 1024:.1f} GiB",
        f"python     {platform.python_implementation()} {platform.python_version()}",
    ]
    if pg_version:
        lines.append(f"postgresql {pg_version}")
    return [*lines, f"date       {datetime.now(UTC).isoformat(timespec='seconds')}"]


async def postgres_version() -> str:
    conn = await asyncpg.connect(ADMIN_DSN)
    try:
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


def asyncpg_dsn(url: str) -> str:
    """The plain libpq DSN of a `postgresql+asyncpg://` SQLAlchemy URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A new, empty `govperf_bench_*` database (its SQLAlchemy URL); dropped afterwards."""
    name = f"govperf_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent() -> None:
    """In the child: SIGTERM if this benchmark dies without cleaning up (PR_SET_PDEATHSIG)."""
    ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)


def clean_env(settings: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without any GOVPERF_* variable, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPERF_")}
    return env | dict(settings)


@asynccontextmanager
async def server(
    name: str,
    argv: list[str],
    env: Mapping[str, str],
    url: str,
    client: httpx.AsyncClient,
    *,
    ready_path: str = "/readyz",
    stdout: int | None = None,
    on_start: list[asyncio.subprocess.Process] | None = None,
) -> AsyncIterator[str]:
    """Start `argv` in the repo with `env`, wait until `url + ready_path` answers 200, yield
    `url`; SIGTERM the process at the end (SIGKILL on error).

    `stdout` is passed to the process (`asyncio.subprocess.DEVNULL` to drop its logs; inherited
    by default). `on_start`, if given, gets the process appended (for its pid) once it is running.
    """
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=ROOT,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=stdout,
        preexec_fn=die_with_parent,
    )
    clean = False
    try:
        if on_start is not None:
            on_start.append(process)
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"{name} exited with {process.returncode} during start-up")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} not ready after {READY_TIMEOUT:.0f}s")
            try:
                if (await client.get(f"{url}{ready_path}", timeout=2.0)).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
        yield url
        clean = True
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM if clean else signal.SIGKILL)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()
        # uvicorn re-raises the SIGTERM it caught once shut down, so -SIGTERM is a clean exit.
        if clean and process.returncode not in (0, -signal.SIGTERM):
            print(f"!! {name} exited with {process.returncode} after SIGTERM")


def service(
    component: str,
    settings: Mapping[str, str],
    client: httpx.AsyncClient,
    *,
    port: int | None = None,
    stdout: int | None = None,
    on_start: list[asyncio.subprocess.Process] | None = None,
) -> AbstractAsyncContextManager[str]:
    """Start `govperf serve <component>` with a clean GOVPERF_* environment plus `settings`,
    wait for /readyz, yield its URL; SIGTERM it at the end (SIGKILL on error).

    `stdout` and `on_start` as for `server`.
    """
    port = port or free_port()
    return server(
        component,
        [sys.executable, "-m", "govperf", "serve", component, "--port", str(port)],
        clean_env(settings),
        f"http://127.0.0.1:{port}",
        client,
        stdout=stdout,
        on_start=on_start,
    )


def cancel_on_sigterm() -> None:
    """SIGTERM cancels the run like Ctrl-C does, so servers and databases are still removed."""
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
