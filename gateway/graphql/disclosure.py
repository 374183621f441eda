"""The disclosure service's types: publications (plans, results, progress), their published
versions and the public ledger; reads for anyone, the office's workflow as mutations.

Reads and mutations call the service's REST routes (services/disclosure/api.py,
ledger_api.py) with the caller's Authorization: the service decides what each caller sees
(the public: published versions; the office: its own working copies too).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from gateway.graphql.errors import (
    Conflict,
    Forbidden,
    InvalidArgument,
    NotFound,
    Unavailable,
    ValidationFailed,
    problem_field,
    problem_mutation,
)
from gateway.graphql.loaders import _each, forget_loaded, upstream
from gateway.graphql.types import (
    DEFAULT_PAGE,
    Connection,
    PageInfo,
    build,
    connection_of,
    fetch_page,
    page_params,
    uuid_argument,
)
from gateway.upstream import UpstreamError

Record = dict[str, Any]


@strawberry.type(description="A document a publication links to.")
class Attachment:
    title: str
    url: str
    media_type: str | None


def _attachments(values: Any) -> list[Attachment]:
    return [
        Attachment(title=a.get("title", ""), url=a.get("url", ""), media_type=a.get("media_type"))
        for a in values or []
    ]


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


@strawberry.type(
    description="A plan, result, department result, rectification progress, annual report or "
    "notice. The public sees its latest published version (content withdrawn once "
    "retracted); the office of its jurisdiction sees the working copy and its workflow "
    "state: draft → approved → scheduled/published → retracted."
)
class Publication:
    id: strawberry.ID
    jurisdiction_code: str
    kind: str
    status: str
    title: str
    title_en: str | None
    summary: str | None
    summary_en: str | None
    body: str
    data: JSON | None = strawberry.field(description="The data snapshot (scrubbed)")
    attachments: list[Attachment]
    cycle_id: strawberry.ID | None
    department_id: strawberry.ID | None
    department_code: str | None
    period: str | None
    category: str | None
    subject_key: str | None
    version: int = strawberry.field(description="The latest published version; 0 before")
    editor: str | None
    approved_by: str | None
    approved_at: datetime | None
    scheduled_at: datetime | None
    published_at: datetime | None
    retracted_at: datetime | None
    retraction_reason: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Publication:
        values = {
            name: record.get(name)
            for name in (
                "id",
                "jurisdiction_code",
                "kind",
                "status",
                "title",
                "title_en",
                "summary",
                "summary_en",
                "body",
                "data",
                "cycle_id",
                "department_id",
                "department_code",
                "period",
                "category",
                "subject_key",
                "version",
                "editor",
                "approved_by",
                "retraction_reason",
            )
        }
        for name in (
            "approved_at",
            "scheduled_at",
            "published_at",
            "retracted_at",
            "created_at",
            "updated_at",
        ):
            values[name] = _when(record.get(name))
        return cls(**values, attachments=_attachments(record.get("attachments")))

    @problem_field(description="Every published version, oldest first.")
    async def versions(
        self, info: Info, first: int = DEFAULT_PAGE, after: str | None = None
    ) -> PublicationVersionConnectionOutcome:
        if self.version < 1:
            return PublicationVersionConnection(nodes=[], page_info=_EMPTY_PAGE)
        return await _versions(info, str(self.id), first, after)


@strawberry.type(description="One published version, frozen; a retracted one keeps its record.")
class PublicationVersion:
    publication_id: strawberry.ID
    jurisdiction_code: str
    version: int
    status: str = strawberry.field(description="published, or retracted")
    kind: str
    title: str
    title_en: str | None
    summary: str | None
    summary_en: str | None
    body: str
    data: JSON | None
    attachments: list[Attachment]
    cycle_id: strawberry.ID | None
    department_id: strawberry.ID | None
    department_code: str | None
    period: str | None
    category: str | None
    supersedes: int | None = strawberry.field(description="The version it replaced")
    published_at: datetime
    retracted_at: datetime | None
    retraction_reason: str | None
    ledger_seq: int | None

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> PublicationVersion:
        plain = (
            "publication_id",
            "jurisdiction_code",
            "version",
            "status",
            "kind",
            "title",
            "title_en",
            "summary",
            "summary_en",
            "body",
            "data",
            "cycle_id",
            "department_id",
            "department_code",
            "period",
            "category",
            "supersedes",
            "retraction_reason",
            "ledger_seq",
        )
        return cls(
            **{name: record.get(name) for name in plain},
            attachments=_attachments(record.get("attachments")),
            published_at=_when(record["published_at"]),  # type: ignore[arg-type]
            retracted_at=_when(record.get("retracted_at")),
        )

    @strawberry.field(description="The publication this version belongs to.")
    async def publication(self, info: Info) -> PublicationOutcome:
        return build(Publication, await _publications(info).load(str(self.publication_id)))


@strawberry.type(
    description="A link of the hash chain: a version published or retracted. `hash` is "
    "sha256(previousHash + content); `content` records the version's content hash."
)
class LedgerEntry:
    seq: int
    publication_id: strawberry.ID
    jurisdiction_code: str
    version: int
    action: str
    recorded_at: datetime
    content: str
    previous_hash: str
    hash: str

    @strawberry.field(description="The publication the entry records.")
    async def publication(self, info: Info) -> PublicationOutcome:
        return build(Publication, await _publications(info).load(str(self.publication_id)))


@strawberry.type(description="The chain recomputed from what is stored now.")
class LedgerVerification:
    valid: bool
    entries: int
    first_invalid_seq: int | None
    reason: str | None


@strawberry.type
class PublicationConnection(Connection[Publication]):
    pass


@strawberry.type
class PublicationVersionConnection(Connection[PublicationVersion]):
    pass


@strawberry.type
class LedgerEntryConnection(Connection[LedgerEntry]):
    pass


PublicationConnectionOutcome = Annotated[
    PublicationConnection | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("PublicationConnectionOutcome"),
]
PublicationOutcome = Annotated[
    Publication | NotFound | Forbidden | ValidationFailed | Unavailable,
    strawberry.union("PublicationOutcome"),
]
PublicationVersionOutcome = Annotated[
    PublicationVersion | NotFound | ValidationFailed | Unavailable,
    strawberry.union("PublicationVersionOutcome"),
]
PublicationVersionConnectionOutcome = Annotated[
    PublicationVersionConnection | NotFound | ValidationFailed | Unavailable,
    strawberry.union("PublicationVersionConnectionOutcome"),
]
LedgerEntryConnectionOutcome = Annotated[
    LedgerEntryConnection | ValidationFailed | Unavailable,
    strawberry.union("LedgerEntryConnectionOutcome"),
]
LedgerVerificationOutcome = Annotated[
    LedgerVerification | Unavailable, strawberry.union("LedgerVerificationOutcome")
]
PublicationChangeOutcome = Annotated[
    Publication | NotFound | Forbidden | ValidationFailed | Conflict | Unavailable,
    strawberry.union("PublicationChangeOutcome"),
]

_EMPTY_PAGE = PageInfo(has_next_page=False, end_cursor=None)


def _publications(info: Info) -> DataLoader[str, Record]:
    """This request's loader of publications by id (one call per id, concurrently)."""
    made: DataLoader[str, Record] | None = info.context.get("disclosure_publications")
    if made is None:
        calls = upstream(info)

        async def load(ids: list[str]) -> list[Record | UpstreamError]:
            return await _each(ids, lambda i: calls.get("disclosure", f"/v1/publications/{i}"))

        made = DataLoader(load)  # type: ignore[arg-type]
        info.context["disclosure_publications"] = made
    return made


async def _versions(
    info: Info, publication_id: str, first: int, after: str | None
) -> PublicationVersionConnection:
    page = await fetch_page(
        upstream(info),
        "disclosure",
        f"/v1/publications/{publication_id}/versions",
        page_params(first, after),
    )
    return connection_of(PublicationVersionConnection, PublicationVersion, page)


@strawberry.type
class DisclosureQuery:
    @problem_field(
        description="Published plans, results and progress reports of every jurisdiction; "
        "the office also sees its own drafts."
    )
    async def publications(
        self,
        info: Info,
        jurisdiction: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        cycle_id: strawberry.ID | None = None,
        department_id: strawberry.ID | None = None,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> PublicationConnectionOutcome:
        params = {
            "jurisdiction": jurisdiction,
            "kind": kind,
            "status": status,
            "cycle_id": uuid_argument(cycle_id, "cycleId") if cycle_id else None,
            "department_id": uuid_argument(department_id, "departmentId")
            if department_id
            else None,
            **page_params(first, after),
        }
        page = await fetch_page(upstream(info), "disclosure", "/v1/publications", params)
        return connection_of(PublicationConnection, Publication, page)

    @problem_field(description="One publication: published for anyone, drafts for the office.")
    async def publication(self, info: Info, id: strawberry.ID) -> PublicationOutcome:
        return build(Publication, await _publications(info).load(uuid_argument(id, "id")))

    @problem_field(description="A publication's published versions, oldest first (public).")
    async def publication_versions(
        self,
        info: Info,
        publication_id: strawberry.ID,
        first: int = DEFAULT_PAGE,
        after: str | None = None,
    ) -> PublicationVersionConnectionOutcome:
        return await _versions(info, uuid_argument(publication_id, "publicationId"), first, after)

    @problem_field(description="One published version of a publication (public).")
    async def publication_version(
        self, info: Info, publication_id: strawberry.ID, version: int
    ) -> PublicationVersionOutcome:
        publication = uuid_argument(publication_id, "publicationId")
        if not 1 <= version < 2**31:
            raise InvalidArgument(["version"], "version is a positive version number")
        record = await upstream(info).get(
            "disclosure", f"/v1/publications/{publication}/versions/{version}"
        )
        return build(PublicationVersion, record)

    @problem_field(description="The public ledger of every version published or retracted.")
    async def ledger(
        self, info: Info, first: int = DEFAULT_PAGE, after: str | None = None
    ) -> LedgerEntryConnectionOutcome:
        page = await fetch_page(
            upstream(info), "disclosure", "/v1/ledger", page_params(first, after)
        )
        return connection_of(LedgerEntryConnection, LedgerEntry, page)

    @problem_field(description="Recompute the ledger: valid, or the first entry that is not.")
    async def ledger_verification(self, info: Info) -> LedgerVerificationOutcome:
        return build(
            LedgerVerification, await upstream(info).get("disclosure", "/v1/ledger/verify")
        )


async def _move(info: Info, id: strawberry.ID, action: str, body: Any = None) -> Publication:
    forget_loaded(info)
    info.context.pop("disclosure_publications", None)
    publication_id = uuid_argument(id, "id")
    record = await upstream(info).send(
        "disclosure", "POST", f"/v1/publications/{publication_id}/{action}", body
    )
    return build(Publication, record)


@strawberry.type
class DisclosureMutation:
    @problem_mutation(
        description="The office: approve a draft. Its editor cannot (Forbidden, code "
        "`approver-is-editor`); a publication that is not a draft is a Conflict."
    )
    async def approve_publication(self, info: Info, id: strawberry.ID) -> PublicationChangeOutcome:
        return await _move(info, id, "approve")

    @problem_mutation(
        description="The office: publish now (an approved draft, or a draft of a kind the "
        "policy publishes without approval): freezes the next version into the ledger."
    )
    async def publish_publication(self, info: Info, id: strawberry.ID) -> PublicationChangeOutcome:
        return await _move(info, id, "publish")

    @problem_mutation(
        description="The office: publish at a time to come, with nobody present.",
        body_path=(),
    )
    async def schedule_publication(
        self, info: Info, id: strawberry.ID, publish_at: datetime
    ) -> PublicationChangeOutcome:
        return await _move(info, id, "schedule", {"publish_at": publish_at.isoformat()})

    @problem_mutation(
        description="The office: withdraw the published version; the record and the reason "
        "stay public.",
        body_path=(),
    )
    async def retract_publication(
        self, info: Info, id: strawberry.ID, reason: str
    ) -> PublicationChangeOutcome:
        return await _move(info, id, "retract", {"reason": reason})
