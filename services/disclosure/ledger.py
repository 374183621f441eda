"""The publication ledger: one hash chain per deployment over every version published or
retracted, verifiable by anyone, online (`GET /v1/ledger/verify`) or offline on an export
(`govperf verify-ledger FILE`).

An entry's `content` is the canonical JSON of what happened (seq, action, publication,
version, time, and the sha256 of the version's frozen content); its `hash` is
sha256(previous_hash + content). Changing a stored version changes its content hash, so the
entry that recorded it no longer matches; changing an entry breaks its own hash or the
next entry's link. The functions up to `verify_chain` are pure: the CLI uses them with no
database.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.db import utcnow

GENESIS = "0" * 64
VERSION_FIELDS = (
    "publication_id",
    "jurisdiction_code",
    "version",
    "kind",
    "title",
    "title_en",
    "summary",
    "summary_en",
    "body",
    "data",
    "attachments",
    "cycle_id",
    "department_id",
    "department_code",
    "period",
    "category",
    "supersedes",
)
# Serializes appends on PostgreSQL (a transaction-scoped advisory lock: one chain head).
LEDGER_LOCK_KEY = 0x6C6564676572


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text_: str) -> str:
    return hashlib.sha256(text_.encode()).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def version_content(version: Any) -> dict[str, Any]:
    """The frozen content of a version (a row, an ORM object or a mapping) as hashed."""
    get = version.get if isinstance(version, Mapping) else lambda f: getattr(version, f)
    return {f: _plain(get(f)) for f in VERSION_FIELDS}


def version_hash(content: Mapping[str, Any]) -> str:
    return sha256(canonical(dict(content)))


def entry_hash(previous_hash: str, content: str) -> str:
    return sha256(previous_hash + content)


def entry_content(
    *,
    seq: int,
    action: str,
    version: Any,
    recorded_at: datetime,
    retraction_reason: str | None = None,
) -> str:
    content = version_content(version)
    record: dict[str, Any] = {
        "seq": seq,
        "action": action,
        "publication_id": content["publication_id"],
        "jurisdiction_code": content["jurisdiction_code"],
        "version": content["version"],
        "recorded_at": recorded_at.isoformat(),
        "version_hash": version_hash(content),
    }
    if action == "retracted":
        record["retraction_reason"] = retraction_reason
    return canonical(record)


@dataclass
class Verification:
    valid: bool
    entries: int
    first_invalid_seq: int | None = None
    reason: str | None = None


class ChainVerifier:
    """Checks entries one by one, in order; the first failure is kept."""

    def __init__(self) -> None:
        self.previous_hash = GENESIS
        self.count = 0
        self.failure: tuple[int | None, str] | None = None

    def check(self, entry: Mapping[str, Any], version: Mapping[str, Any] | None) -> bool:
        """`entry` as exported (seq, publication_id, version, action, content, previous_hash,
        hash); `version` the version's current frozen content, `retraction_reason` added."""
        if self.failure is not None:
            return False
        seq = entry.get("seq")
        self.count += 1
        reason = self._problem(entry, version)
        if reason is not None:
            self.failure = (seq if isinstance(seq, int) else None, reason)
            return False
        self.previous_hash = entry["hash"]
        return True

    def _problem(self, entry: Mapping[str, Any], version: Mapping[str, Any] | None) -> str | None:
        seq = entry.get("seq")
        if seq != self.count:
            return f"expected entry {self.count}, found {seq!r}"
        content = entry.get("content")
        if not isinstance(content, str):
            return "the entry has no content"
        if entry.get("previous_hash") != self.previous_hash:
            return "previous_hash does not link to the entry before"
        if entry.get("hash") != entry_hash(self.previous_hash, content):
            return "hash does not match previous_hash + content"
        try:
            recorded = json.loads(content)
        except json.JSONDecodeError:
            return "content is not JSON"
        if not isinstance(recorded, dict):
            return "content is not a JSON object"
        for field in ("seq", "action", "publication_id", "version"):
            if str(recorded.get(field)) != str(entry.get(field)):
                return f"the entry's {field} differs from what its content recorded"
        if version is None:
            return "the version it records is missing"
        stored = {f: version.get(f) for f in VERSION_FIELDS}
        if version_hash(stored) != recorded.get("version_hash"):
            return "the version's stored content differs from what was recorded"
        if recorded.get("action") == "retracted" and version.get(
            "retraction_reason"
        ) != recorded.get("retraction_reason"):
            return "the version's retraction reason differs from what was recorded"
        return None

    def result(self) -> Verification:
        if self.failure is None:
            return Verification(valid=True, entries=self.count)
        seq, reason = self.failure
        return Verification(valid=False, entries=self.count, first_invalid_seq=seq, reason=reason)


def verify_chain(
    entries: Iterable[tuple[Mapping[str, Any], Mapping[str, Any] | None]],
) -> Verification:
    verifier = ChainVerifier()
    for entry, version in entries:
        if not verifier.check(entry, version):
            break
    return verifier.result()


def head_of(pairs: list[tuple[dict[str, Any], dict[str, Any] | None]]) -> str:
    """The hash at the head of the chain (what a reader may keep to compare later)."""
    return str(pairs[-1][0].get("hash")) if pairs else GENESIS


def read_export(text_: str) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """The (entry, version content) pairs of an export: JSON lines (`GET /v1/ledger/export`)
    or one JSON document (`?format=json`, `{"entries": [...]}`). Raises ValueError."""
    stripped = text_.strip()
    if not stripped:
        return []
    try:
        document = json.loads(stripped)
    except json.JSONDecodeError:
        # JSON lines: one entry per line.
        records: Any = [json.loads(line) for line in stripped.splitlines() if line.strip()]
    else:
        if isinstance(document, dict) and "entries" in document:
            records = document["entries"]
        elif isinstance(document, dict):
            records = [document]  # JSON lines of one entry
        else:
            records = document
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError("an export is a list of JSON objects")
    pairs = []
    for record in records:
        version = record.get("version_content")
        entry = {k: v for k, v in record.items() if k != "version_content"}
        pairs.append((entry, version if isinstance(version, dict) else None))
    return pairs


# --- the stored chain -------------------------------------------------------------------


async def _lock_head(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LEDGER_LOCK_KEY})
    # SQLite: write transactions begin IMMEDIATE, one writer at a time already.


async def append(
    session: AsyncSession,
    *,
    action: str,
    version: Any,
    retraction_reason: str | None = None,
    now: datetime | None = None,
) -> Any:
    """Append an entry for `version` in the caller's transaction; appends are serialized."""
    from services.disclosure.models import LedgerEntry

    await _lock_head(session)
    head = (
        await session.execute(
            select(LedgerEntry.seq, LedgerEntry.hash).order_by(LedgerEntry.seq.desc()).limit(1)
        )
    ).first()
    seq = head.seq + 1 if head else 1
    previous = head.hash if head else GENESIS
    recorded_at = now or utcnow()
    content = entry_content(
        seq=seq,
        action=action,
        version=version,
        recorded_at=recorded_at,
        retraction_reason=retraction_reason,
    )
    entry = LedgerEntry(
        seq=seq,
        publication_id=version.publication_id,
        jurisdiction_code=version.jurisdiction_code,
        version=version.version,
        action=action,
        recorded_at=recorded_at,
        content=content,
        previous_hash=previous,
        hash=entry_hash(previous, content),
    )
    session.add(entry)
    await session.flush()
    return entry


def entry_record(entry: Any) -> dict[str, Any]:
    return {
        "seq": entry.seq,
        "publication_id": str(entry.publication_id),
        "jurisdiction_code": entry.jurisdiction_code,
        "version": entry.version,
        "action": entry.action,
        "recorded_at": entry.recorded_at.isoformat(),
        "content": entry.content,
        "previous_hash": entry.previous_hash,
        "hash": entry.hash,
    }


def version_record(version: Any) -> dict[str, Any]:
    """A version's frozen content and its retraction reason, as verification reads them."""
    return {**version_content(version), "retraction_reason": version.retraction_reason}


async def stored_chain(
    session: AsyncSession, *, batch: int = 500
) -> AsyncIterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Every entry in order with the current content of the version it records."""
    from services.disclosure.models import LedgerEntry, PublicationVersion

    after = 0
    while True:
        entries = (
            await session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.seq > after)
                .order_by(LedgerEntry.seq)
                .limit(batch)
            )
        ).all()
        if not entries:
            return
        keys = {(e.publication_id, e.version) for e in entries}
        versions = {
            (v.publication_id, v.version): v
            for v in (
                await session.scalars(
                    select(PublicationVersion).where(
                        PublicationVersion.publication_id.in_({k[0] for k in keys})
                    )
                )
            ).all()
        }
        for entry in entries:
            version = versions.get((entry.publication_id, entry.version))
            yield entry_record(entry), version_record(version) if version else None
        after = entries[-1].seq


async def verify_stored(session: AsyncSession) -> Verification:
    verifier = ChainVerifier()
    async for entry, version in stored_chain(session):
        if not verifier.check(entry, version):
            break
    return verifier.result()
