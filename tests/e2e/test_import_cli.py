"""`govperf import FILE` against a real indicator service: upload, job progress, summary."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_govperf_up import free_ports
from tests.harness import auth
from tests.indicator.builders import system_body

pytestmark = pytest.mark.slow


@pytest.fixture
def indicator(tmp_path: Path) -> Iterator[str]:
    [port] = free_ports(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPERF_")}
    env["GOVPERF_DATA_DIR"] = str(tmp_path / "var")
    process = subprocess.Popen(
        [sys.executable, "-m", "govperf", "serve", "indicator", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "indicator did not start"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPERF_")}
    return subprocess.run(
        [sys.executable, "-m", "govperf", "import", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_file_imports_with_progress_and_a_summary(indicator: str, tmp_path: Path) -> None:
    created = httpx.post(f"{indicator}/v1/indicator-systems", json=system_body(), headers=auth())
    assert created.status_code == 201, created.text
    httpx.post(
        f"{indicator}/v1/indicator-systems/{created.json()['id']}/publish", headers=auth()
    ).raise_for_status()
    httpx.post(
        f"{indicator}/v1/departments",
        headers=auth(),
        json={
            "jurisdiction_code": "231100",
            "code": "FGW",
            "name_zh": "发改委",
            "category": "economic",
        },
    ).raise_for_status()
    data = tmp_path / "values.csv"
    data.write_text(
        "\ufeffindicator,department,period,value,comment\n"
        + "".join(f"ECO.1.2,FGW,2026{m:02d},{m},第{m}月\n" for m in range(1, 13)),
        encoding="utf-8",
    )

    job = cli(tmp_path, str(data), "--url", indicator, "--async")
    assert job.returncode == 0, job.stderr
    assert "upload 100%" in job.stderr and "import 100% 12/12 rows" in job.stderr
    assert "SUCCESS: 12 rows — imported 12" in job.stdout

    again = cli(tmp_path, str(data), "--url", indicator)
    assert again.returncode == 0 and "ignored 12" in again.stdout

    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "measurements": [
                    {"indicator": "ECO.1.2", "department": "NOPE", "period": "202601", "value": 1}
                ]
            }
        )
    )
    rejected = cli(tmp_path, str(bad), "--url", indicator)
    assert rejected.returncode == 1
    assert "row 1: department 'NOPE': unknown department code" in rejected.stdout
    assert "Nothing was written." in rejected.stdout
