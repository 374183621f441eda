"""Large imports run as jobs: the request answers 202 at once, a background task imports,
and the job row reports progress and, at the end, the summary."""

from __future__ import annotations

import uuid
from typing import IO

import structlog
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.auth import Principal
from services.common.db import Database, utcnow
from services.common.errors import AppError, NotFound
from services.indicator.measurements import formats, importer, schemas
from services.indicator.measurements import service as measurement_service
from services.indicator.models import ImportJob

log = structlog.get_logger("govperf.indicator.imports")
# Rows done of the jobs running in this process. The import's transaction is open while it
# runs, and SQLite has one writer, so progress there is kept here and read by GET; on
# PostgreSQL it is written to the job row as well, for other replicas.
PROGRESS: dict[uuid.UUID, int] = {}


def rows_done(job: ImportJob) -> int:
    return max(job.rows_done, PROGRESS.get(job.id, 0))


async def get_job(
    session: AsyncSession, principal: Principal, job_id: uuid.UUID
) -> schemas.ImportJob:
    """A job of the caller's jurisdictions, with its progress; department-bound callers see
    only the jobs they started."""
    job = await session.get(ImportJob, job_id)
    if job is None or not principal.may_access(job.jurisdiction_code):
        raise NotFound(f"Import job {job_id} not found")
    if principal.role != "admin" and job.created_by != principal.subject:
        raise NotFound(f"Import job {job_id} not found")
    view = schemas.ImportJob.model_validate(job)
    return view.model_copy(update={"rows_done": rows_done(job)})


async def create_job(
    session: AsyncSession,
    principal: Principal,
    jurisdiction_code: str,
    fmt: formats.Format,
    options: importer.Options,
) -> ImportJob:
    job = ImportJob(
        jurisdiction_code=jurisdiction_code,
        status="queued",
        format=fmt,
        options={
            "strategy": options.strategy,
            "dry_run": options.dry_run,
            "atomic": options.atomic,
        },
        rows_done=0,
        created_by=principal.subject,
    )
    session.add(job)
    await session.flush()
    return job


async def _set(db: Database, job_id: uuid.UUID, **values: object) -> None:
    async with db.session() as session:
        await session.execute(
            update(ImportJob).where(ImportJob.id == job_id).values(updated_at=utcnow(), **values)
        )
        await session.commit()


async def run_job(
    db: Database,
    job_id: uuid.UUID,
    principal: Principal,
    source: IO[bytes],
    fmt: formats.Format,
    options: importer.Options,
) -> None:
    """Import in the background; every outcome ends in the job row, never in the void."""
    try:
        total = formats.count_rows(source, fmt)
        await _set(db, job_id, status="running", rows_total=total)

        postgres = db.engine.dialect.name == "postgresql"

        async def progress(done: int) -> None:
            PROGRESS[job_id] = done
            if postgres:
                await _set(db, job_id, rows_done=done)

        async with db.session() as session:
            job = await session.get(ImportJob, job_id)
            assert job is not None
            summary = await importer.run_import(
                session, principal, job.jurisdiction_code, source, fmt, options, progress=progress
            )
            body = summary.as_dict()
            if summary.written:
                await measurement_service.record_import(
                    session,
                    principal,
                    job.jurisdiction_code,
                    summary,
                    resource_type="import_job",
                    resource_id=job_id,
                )
                await session.commit()
            else:
                await session.rollback()
        await _set(
            db,
            job_id,
            status="succeeded" if summary.status != "ERROR" else "failed",
            rows_done=summary.rows,
            summary=body,
            error=None if summary.status != "ERROR" else "rows conflict: nothing was written",
            finished_at=utcnow(),
        )
    except AppError as exc:
        await _set(db, job_id, status="failed", error=exc.detail, finished_at=utcnow())
    except Exception:
        log.exception("import_job_failed", job=str(job_id))
        await _set(
            db,
            job_id,
            status="failed",
            error="the import failed unexpectedly; nothing was written",
            finished_at=utcnow(),
        )
    finally:
        PROGRESS.pop(job_id, None)
        source.close()
