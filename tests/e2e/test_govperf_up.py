"""`govperf up` for real: five processes on loopback, queried, then stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from services.common.settings import COMPONENTS
from tests.harness import auth

pytestmark = pytest.mark.slow
START_TIMEOUT = 120


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class Up:
    def __init__(self, tmp_path: Path, ports: dict[str, int], *args: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPERF_")}
        env["GOVPERF_DATA_DIR"] = str(tmp_path / "var")
        for component, port in ports.items():
            env[f"GOVPERF_{component.upper()}_PORT"] = str(port)
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "govperf", "up", *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())

    def wait_for(self, text: str, timeout: float = START_TIMEOUT) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return True
            if self.process.poll() is not None:
                time.sleep(0.2)  # let the reader drain
                return any(text in line for line in self.lines)
            time.sleep(0.1)
        return False

    def output(self) -> str:
        return "\n".join(self.lines[-60:])

    def children(self) -> list[int]:
        result = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True
        )
        return [int(p) for p in result.stdout.split()]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not reaped it yet.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def test_up_serves_the_whole_platform_and_stops_cleanly(tmp_path: Path) -> None:
    ports = dict(zip(COMPONENTS, free_ports(len(COMPONENTS)), strict=True))
    up = Up(tmp_path, ports, "--demo")
    try:
        assert up.wait_for("govperf is up"), up.output()
        gateway = f"http://127.0.0.1:{ports['gateway']}"
        health = httpx.post(
            f"{gateway}/graphql", json={"query": "{ health { service status } }"}, timeout=10
        )
        assert health.json()["data"]["health"] == [
            {"service": c, "status": "ok"}
            for c in ("gateway", "indicator", "evaluation", "disclosure", "feedback")
        ]

        departments = httpx.get(
            f"{gateway}/api/indicator/v1/departments",
            params={"limit": 200},
            headers={**auth(), "x-request-id": "e2e-trace-1"},
            timeout=10,
        )
        assert len(departments.json()["items"]) == 40
        systems = httpx.get(
            f"{gateway}/api/indicator/v1/indicator-systems",
            params={"status": "published"},
            headers=auth(),
            timeout=10,
        )
        assert sorted(s["category"] for s in systems.json()["items"]) == [
            "districts",
            "economic",
            "law_enforcement",
            "social_services",
        ]
        measurements = httpx.get(
            f"{gateway}/api/indicator/v1/measurements",
            params={"limit": 1},
            headers=auth(),
            timeout=10,
        )
        assert len(measurements.json()["items"]) == 1
        assert up.wait_for("== demo city seeded: 40 departments"), up.output()
        assert (tmp_path / "var" / "indicator.db").exists()
        children = up.children()
        assert len(children) == len(COMPONENTS)

        up.process.send_signal(signal.SIGINT)
        assert up.process.wait(timeout=30) == 0, up.output()
    finally:
        up.kill()
    up.wait_for("== stopped", timeout=5)
    traced = [line for line in up.lines if "e2e-trace-1" in line]
    assert {line.split("|")[0].strip() for line in traced} == {"gateway", "indicator"}
    assert [pid for pid in children if alive(pid)] == []
    for port in ports.values():
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_a_component_that_dies_stops_everything_and_fails(tmp_path: Path) -> None:
    ports = dict(zip(COMPONENTS, free_ports(len(COMPONENTS)), strict=True))
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", ports["evaluation"]))
    blocker.listen()
    up = Up(tmp_path, ports)
    try:
        code = up.process.wait(timeout=START_TIMEOUT)
    finally:
        up.kill()
        blocker.close()
    up.wait_for("== stopped", timeout=5)
    assert code == 1, up.output()
    assert "!! evaluation exited" in up.output()
