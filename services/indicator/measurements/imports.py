"""Bulk imports as the API offers them: the body spooled to a file, imported in the request or
as a job past a size, rejected whole when atomic and anything conflicts, and announced and
audited when they wrote something. The set-based engine is `importer`; jobs are `jobs`."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import Database
from services.common.errors import Conflict
from services.common.jurisdictions import ensure_writable
from services.indicator.measurements import dhis2, formats, importer, jobs
from services.indicator.measurements import service as measurement_service
from services.indicator.models import ImportJob

SPOOL_IN_MEMORY = 1 << 20


class ImportConflicts(Conflict):
    code = "import-conflicts"
    title = "The import was rejected: nothing was written"


@dataclass(frozen=True)
class Runner:
    """Where a job runs: its database, `schedule(fn, *args)` to run it after the answer is
    sent, and the body size past which an import becomes a job."""

    db: Database
    schedule: Callable[..., Any]
    job_threshold_bytes: int


async def _spool(body: AsyncIterable[bytes]) -> tuple[IO[bytes], int]:
    """The body in a temporary file (in memory up to 1 MiB), and its size."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
    size = 0
    try:
        async for chunk in body:
            spool.write(chunk)
            size += len(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, size


async def _run(
    session: AsyncSession,
    principal: Principal,
    jurisdiction_code: str,
    body: AsyncIterable[bytes],
    fmt: formats.Format,
    options: importer.Options,
    *,
    run_async: bool,
    runner: Runner,
) -> importer.Summary | ImportJob:
    ensure_writable(principal, jurisdiction_code)
    spool, size = await _spool(body)
    if run_async or size > runner.job_threshold_bytes:
        try:
            job = await jobs.create_job(session, principal, jurisdiction_code, fmt, options)
        except BaseException:
            spool.close()
            raise
        # The job owns the spool from here (and closes it).
        runner.schedule(jobs.run_job, runner.db, job.id, principal, spool, fmt, options)
        return job
    try:
        summary = await importer.run_import(
            session, principal, jurisdiction_code, spool, fmt, options
        )
    finally:
        spool.close()
    await measurement_service.record_import(
        session,
        principal,
        jurisdiction_code,
        summary,
        resource_type="measurements",
        resource_id=f"import:{summary.cursor}",
    )
    return summary


async def import_measurements(
    session: AsyncSession,
    principal: Principal,
    jurisdiction_code: str,
    body: AsyncIterable[bytes],
    fmt: formats.Format,
    options: importer.Options,
    *,
    run_async: bool,
    runner: Runner,
) -> importer.Summary | ImportJob:
    """Import our JSON, CSV or a DHIS2 body, answering in our summary; an atomic import with
    a conflict writes nothing and is `ImportConflicts` (409, the summary in the problem)."""
    outcome = await _run(
        session,
        principal,
        jurisdiction_code,
        body,
        fmt,
        options,
        run_async=run_async,
        runner=runner,
    )
    if isinstance(outcome, importer.Summary) and outcome.rejected:
        raise ImportConflicts(
            f"{outcome.conflicts_total} row(s) conflict; fix them and send the import again",
            summary=outcome.as_dict(),
        )
    return outcome


async def import_data_value_set(
    session: AsyncSession,
    principal: Principal,
    jurisdiction_code: str,
    body: AsyncIterable[bytes],
    options: importer.Options,
    *,
    run_async: bool,
    runner: Runner,
) -> dhis2.Dhis2WebMessage | ImportJob:
    """Import a DHIS2 `dataValueSets` body, answering as DHIS2 does (`dhis2.web_message`)."""
    outcome = await _run(
        session,
        principal,
        jurisdiction_code,
        body,
        "dhis2",
        options,
        run_async=run_async,
        runner=runner,
    )
    if isinstance(outcome, ImportJob):
        return outcome
    return dhis2.web_message(outcome)
