"""`govperf import FILE`: send a measurements file to the indicator service and show how it
goes: a progress bar while uploading and, for a large file running as a job, while it is
imported; then the summary."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx

POLL_SECONDS = 0.5
EXTENSIONS = {".csv": "csv", ".json": "json"}
BAR_WIDTH = 30


class Progress:
    """A bar on a terminal; on anything else, a line at every tenth of the way."""

    def __init__(self, stream: IO[str], label: str) -> None:
        self.stream = stream
        self.label = label
        self.tty = stream.isatty()
        self.shown = -1

    def update(self, done: int, total: int | None, unit: str) -> None:
        if not total:
            return
        share = min(1.0, done / total)
        if self.tty:
            filled = round(share * BAR_WIDTH)
            bar = "█" * filled + "·" * (BAR_WIDTH - filled)
            self.stream.write(f"\r{self.label} [{bar}] {share:4.0%} {_amount(done, total, unit)}")
            self.stream.flush()
        elif int(share * 10) > self.shown:
            self.shown = int(share * 10)
            self.stream.write(f"{self.label} {share:4.0%} {_amount(done, total, unit)}\n")
            self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def _amount(done: int, total: int, unit: str) -> str:
    if unit == "bytes":
        scale, name = (2**20, "MiB") if total >= 2**20 else (2**10, "KiB")
        return f"{done / scale:.1f}/{total / scale:.1f} {name}"
    return f"{done:,}/{total:,} {unit}"


def _chunks(path: Path, progress: Progress) -> Iterator[bytes]:
    total = path.stat().st_size
    sent = 0
    with path.open("rb") as source:
        while chunk := source.read(256 * 1024):
            sent += len(chunk)
            progress.update(sent, total, "bytes")
            yield chunk
    progress.finish()


def file_format(path: Path, given: str | None) -> str:
    if given:
        return given
    fmt = EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"cannot tell the format of {path.name}; pass --format")
    return fmt


def print_summary(summary: dict[str, Any], out: IO[str]) -> None:
    verb = "would be" if summary["dry_run"] else "were" if summary["written"] else "would have been"
    out.write(
        f"{summary['status']}: {summary['rows']:,} rows — imported {summary['imported']:,}, "
        f"updated {summary['updated']:,}, deleted {summary['deleted']:,}, ignored "
        f"{summary['ignored']:,} ({verb} written)\n"
    )
    if summary["conflicts_total"]:
        out.write(f"{summary['conflicts_total']:,} conflict(s):\n")
        for conflict in summary["conflicts"][:20]:
            value = f" '{conflict['value']}'" if conflict["value"] is not None else ""
            out.write(
                f"  row {conflict['row']}: {conflict['field']}{value}: {conflict['reason']}\n"
            )
        if summary["conflicts_total"] > 20:
            out.write(f"  … and {summary['conflicts_total'] - 20:,} more\n")
    if not summary["written"] and not summary["dry_run"]:
        out.write("Nothing was written.\n")


def run(
    path: Path,
    *,
    url: str,
    token: str,
    jurisdiction: str,
    fmt: str,
    strategy: str,
    dry_run: bool,
    atomic: bool,
    run_async: bool,
    out: IO[str] = sys.stdout,
    err: IO[str] = sys.stderr,
    client: httpx.Client | None = None,
) -> int:
    """0 when the import went through (or the dry run found no conflict), 1 otherwise."""
    headers = {
        "authorization": f"Bearer {token}",
        "content-type": "text/csv" if fmt == "csv" else "application/json",
    }
    params = {
        "jurisdiction": jurisdiction,
        "format": fmt,
        "importStrategy": strategy,
        "dryRun": str(dry_run).lower(),
        "atomic": str(atomic).lower(),
        "async": str(run_async).lower(),
    }
    http = client or httpx.Client(base_url=url, timeout=httpx.Timeout(30, read=600))
    try:
        response = http.post(
            "/v1/measurements/import",
            params=params,
            content=_chunks(path, Progress(err, "upload")),
            headers=headers,
        )
        if response.status_code == 202:
            summary = _follow(http, response.headers["location"], headers, err)
            if summary is None:
                return 1
        elif response.status_code in (200, 409):
            body = response.json()
            summary = body["summary"] if response.status_code == 409 else body
        else:
            problem = response.json() if response.content else {}
            err.write(
                f"govperf import: {response.status_code} "
                f"{problem.get('title', response.reason_phrase)}: {problem.get('detail', '')}\n"
            )
            return 1
    except httpx.HTTPError as exc:
        err.write(f"govperf import: cannot reach {url}: {exc}\n")
        return 1
    finally:
        if client is None:
            http.close()
    print_summary(summary, out)
    return 0 if summary["status"] != "ERROR" and (summary["written"] or dry_run) else 1


def _follow(
    http: httpx.Client, location: str, headers: dict[str, str], err: IO[str]
) -> dict[str, Any] | None:
    progress = Progress(err, "import")
    while True:
        job = http.get(location, headers=headers).json()
        progress.update(job["rows_done"], job["rows_total"], "rows")
        if job["status"] in ("succeeded", "failed"):
            progress.finish()
            if job["summary"] is None:
                err.write(f"govperf import: the job failed: {job['error']}\n")
                return None
            return job["summary"]
        time.sleep(POLL_SECONDS)
