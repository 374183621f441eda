"""The public pages in a real browser: headless Chromium loads the home, cycle and department
pages from the disclosure service running in its own uvicorn process, the charts are in the
rendered DOM with the published numbers, and each page is saved as a screenshot.

Screenshots go to `var/test-artifacts/browser/` of the working directory (or
`$GOVPERF_TEST_ARTIFACTS/browser/`); the test prints where. Without Debian's `chromium` the
test is skipped, except in CI (`CI=true`), where it fails: `.ci/run` installs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from govperf.demo_data import CYCLE_NAMES, DEPARTMENTS, JURISDICTION
from tests.harness import auth

pytestmark = pytest.mark.slow

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)
CATEGORY = "economic"
# The demo city's economic departments, with the totals their published results carry.
ECONOMIC = [d for d in DEPARTMENTS if d[3] == CATEGORY][:5]
TOTALS = [93.2, 89.75, 86.5, 80.0, 72.4]
HISTORY = {"2024": 84.5, "2025": 88.0}  # the first department's earlier totals


def chromium() -> str:
    found = shutil.which("chromium")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("chromium is missing in CI: .ci/run installs Debian's `chromium` package")
    pytest.skip("Debian's `chromium` is not installed (apt-get install chromium)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def artifacts_dir() -> Path:
    root = Path(os.environ.get("GOVPERF_TEST_ARTIFACTS") or Path.cwd() / "var" / "test-artifacts")
    path = root / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`govperf serve disclosure` on a fresh SQLite file and a free port."""
    data = tmp_path_factory.mktemp("disclosure-browser")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPERF_")}
    env.update(GOVPERF_DATA_DIR=str(data), GOVPERF_LOG_LEVEL="WARNING")
    log = (data / "service.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "govperf", "serve", "disclosure", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"the service did not start:\n{(data / 'service.log').read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def publish(client: httpx.Client, **body: Any) -> dict[str, Any]:
    created = client.post(
        "/v1/publications", json={"jurisdiction_code": JURISDICTION, **body}, headers=auth()
    )
    assert created.status_code == 201, created.text
    done = client.post(f"/v1/publications/{created.json()['id']}/publish", headers=auth())
    assert done.status_code == 200, done.text
    return done.json()


@pytest.fixture(scope="module")
def demo(service: str) -> dict[str, Any]:
    """The demo city's economic cycle published through the API: its results, each
    department's result of this and two earlier years, and one rectification report."""
    cycle = uuid.uuid4()
    ids = {code: uuid.uuid5(uuid.NAMESPACE_URL, f"govperf-demo:{code}") for code, *_ in ECONOMIC}
    results = []
    for rank, ((code, name_zh, _en, _category, _parent), total) in enumerate(
        zip(ECONOMIC, TOTALS, strict=True), start=1
    ):
        results.append(
            {
                "department_id": str(ids[code]),
                "department": code,
                "name_zh": name_zh,
                "total": total,
                "rank": rank,
                "tied": False,
                "grade": "优秀" if rank == 1 else "良好",
                "vetoed": False,
                "group_scores": [
                    {
                        "code": "superior",
                        "kind": "superior",
                        "name": "上级评价",
                        "weight": 40,
                        "score": total,
                        "points": round(total * 0.4, 2),
                    },
                ],
                "indicators": [
                    {
                        "code": "E.1",
                        "name": "地区生产总值增速",
                        "weight": 10,
                        "value": 6.1,
                        "achievement": 1.02,
                        "points": 9.8,
                    },
                ],
                "weakest_indicators": [],
                "weakest_dimensions": [],
            }
        )
    head = {
        "cycle_id": str(cycle),
        "cycle": "2026-ECO",
        "name": CYCLE_NAMES[CATEGORY],
        "period": "2026",
        "category": CATEGORY,
        "result_version": 1,
        "status": "finalized",
    }
    with httpx.Client(base_url=service, timeout=30) as client:
        publish(
            client,
            kind="results",
            title=CYCLE_NAMES[CATEGORY] + "结果",
            data={**head, "results": results},
            cycle_id=str(cycle),
            period="2026",
            category=CATEGORY,
        )
        first = results[0]
        for period, total in [*HISTORY.items(), ("2026", first["total"])]:
            publish(
                client,
                kind="department_result",
                title=f"{first['name_zh']}{period}年度考评结果",
                data={
                    **head,
                    **first,
                    "period": period,
                    "total": total,
                    "cycle_id": str(cycle if period == "2026" else uuid.uuid4()),
                },
                department_id=first["department_id"],
                department_code=first["department"],
                period=period,
                category=CATEGORY,
            )
        publish(
            client,
            kind="rectification",
            title=f"{first['name_zh']}整改进展",
            data={
                "cycle_id": str(cycle),
                "department_id": first["department_id"],
                "department": first["department"],
                "report": None,
                "closure_rate": 0.5,
                "tasks": [
                    {
                        "task_id": "t1",
                        "title": "优化营商环境投诉办理",
                        "origin": "weakest",
                        "status": "closed",
                        "progress": 100,
                        "deadline": "2026-06-30",
                        "escalation_level": 0,
                    },
                    {
                        "task_id": "t2",
                        "title": "提高项目审批时效",
                        "origin": "weakest",
                        "status": "in_progress",
                        "progress": 40,
                        "deadline": "2026-09-30",
                        "escalation_level": 1,
                    },
                ],
            },
            cycle_id=str(cycle),
            department_id=first["department_id"],
            department_code=first["department"],
        )
    return {"cycle": cycle, "department": ids[ECONOMIC[0][0]], "results": results}


class Charts(HTMLParser):
    """Bars and points of the charts in a dumped DOM, with the chart each belongs to."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: list[dict[str, Any]] = []
        self.html_lang: str | None = None
        self._title: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a.get("lang")
        elif tag == "svg" and "chart" in (a.get("class") or ""):
            self.charts.append({"role": a.get("role"), "title": "", "bars": [], "points": []})
        elif tag == "title" and self.charts and not self.charts[-1]["title"]:
            self._title = []
        elif tag == "g" and self.charts and a.get("class") in ("bar", "point"):
            key = "bars" if a["class"] == "bar" else "points"
            self.charts[-1][key].append((a.get("data-label"), a.get("data-value")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._title is not None:
            self.charts[-1]["title"] = "".join(self._title)
            self._title = None

    def handle_data(self, data: str) -> None:
        if self._title is not None:
            self._title.append(data)


def browse(url: str, name: str) -> tuple[Charts, Path]:
    """The page's DOM as Chromium rendered it, and a screenshot of it."""
    binary = chromium()
    dumped = subprocess.run(
        [binary, *CHROMIUM_FLAGS, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    screenshot = artifacts_dir() / f"{name}.png"
    screenshot.unlink(missing_ok=True)
    shot = subprocess.run(
        [binary, *CHROMIUM_FLAGS, f"--screenshot={screenshot}", "--window-size=1280,2000", url],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=artifacts_dir(),
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {screenshot}")
    parsed = Charts()
    parsed.feed(dumped.stdout)
    return parsed, screenshot


def expected_bars(results: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["name_zh"], f"{r['total']:g}") for r in results]


class TestInChromium:
    def test_home_shows_the_latest_ranking(self, service: str, demo: dict[str, Any]) -> None:
        page, _ = browse(f"{service}/pages", "home")
        assert page.html_lang == "zh-CN"
        (chart,) = page.charts
        assert chart["role"] == "img" and CYCLE_NAMES[CATEGORY] in chart["title"]
        assert chart["bars"] == expected_bars(demo["results"])

    def test_cycle_page_ranks_the_category(self, service: str, demo: dict[str, Any]) -> None:
        page, _ = browse(f"{service}/pages/cycles/{demo['cycle']}?lang=en", "cycle")
        assert page.html_lang == "en"
        (chart,) = page.charts
        assert chart["bars"] == expected_bars(demo["results"])
        assert "ranking" in chart["title"] and CATEGORY in chart["title"]

    def test_department_page_draws_its_history(self, service: str, demo: dict[str, Any]) -> None:
        page, _ = browse(f"{service}/pages/departments/{demo['department']}", "department")
        (chart,) = page.charts
        assert chart["points"] == [
            ("2024", "84.5"),
            ("2025", "88"),
            ("2026", f"{demo['results'][0]['total']:g}"),
        ]
        assert demo["results"][0]["name_zh"] in chart["title"]
