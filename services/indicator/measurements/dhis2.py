"""DHIS2's answer to `POST /api/dataValueSets`, for DHIS2 clients of `POST /v1/dataValueSets`.

The shape is DHIS2 2.38 and later (API version 38+, still current in 2.40–2.42): a web message
envelope around an `ImportSummary`

    {"httpStatus": "OK", "httpStatusCode": 200, "status": "OK",
     "message": "Import was successful.",
     "response": {"responseType": "ImportSummary", "status": "SUCCESS",
                  "importOptions": {...}, "description": "...",
                  "importCount": {"imported", "updated", "ignored", "deleted"},
                  "conflicts": [{"object", "value", "property", "indexes"}],
                  "rejectedIndexes": [], "dataSetComplete": "false"}}

with DHIS2's HTTP statuses: 200 for SUCCESS, 409 Conflict for WARNING (some values ignored, the
others written) and for ERROR (nothing written). Conflicts carry DHIS2's informal pair
`object` (what was refused) and `value` (why), plus `property` and the 0-based `indexes` of the
values in `dataValues`; DHIS2's `errorCode`s (E76xx) are not invented here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.indicator.measurements import formats, importer

ImportStatus = Literal["SUCCESS", "WARNING", "ERROR"]
# Our fields as DHIS2 names them in a data value.
PROPERTIES = {
    "indicator": "dataElement",
    "department": "orgUnit",
    "period": "period",
    "value": "value",
    "comment": "comment",
    "row": "dataValue",
}
MESSAGES = {
    "SUCCESS": "Import was successful.",
    "WARNING": "One more conflicts encountered, please check import summary.",
    "ERROR": "An error occurred, please check import summary.",
}


class Dhis2ImportCount(BaseModel):
    imported: int
    updated: int
    ignored: int
    deleted: int


class Dhis2ImportConflict(BaseModel):
    object: str = Field(description="What was refused: the code or value, else the property")
    value: str = Field(description="Why it was refused (DHIS2 keeps the message in `value`)")
    property: str | None = Field(
        default=None, description="dataElement, orgUnit, period, value or comment"
    )
    indexes: list[int] = Field(description="0-based positions of the values in `dataValues`")


class Dhis2ImportOptions(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    idSchemes: dict[str, str] = Field(
        description="Codes identify data elements (indicators) and org units (departments)"
    )
    dryRun: bool
    async_: bool = Field(alias="async")
    importStrategy: importer.Strategy
    atomicMode: Literal["ALL", "NONE"] = Field(
        description="ALL: any conflict rejects the whole import (our `atomic=true`, the "
        "default); NONE: the good values are written"
    )


class Dhis2ImportSummary(BaseModel):
    responseType: Literal["ImportSummary"] = "ImportSummary"
    status: ImportStatus
    importOptions: Dhis2ImportOptions
    description: str
    importCount: Dhis2ImportCount
    conflicts: list[Dhis2ImportConflict] = Field(
        description=f"The first {importer.MAX_LISTED_CONFLICTS} conflicts"
    )
    rejectedIndexes: list[int] = Field(description="0-based positions of the listed conflicts")
    dataSetComplete: str = Field(
        default="false", description="Always false: data set completion is not tracked"
    )


class Dhis2WebMessage(BaseModel):
    """DHIS2's web message around the import summary."""

    httpStatus: Literal["OK", "Conflict"]
    httpStatusCode: Literal[200, 409]
    status: Literal["OK", "WARNING", "ERROR"]
    message: str
    response: Dhis2ImportSummary


def _conflict(conflict: formats.Conflict) -> Dhis2ImportConflict:
    prop = PROPERTIES.get(conflict.field, conflict.field)
    return Dhis2ImportConflict(
        object=conflict.value if conflict.value is not None else prop,
        value=conflict.reason,
        property=prop if conflict.field != "row" else None,
        indexes=[conflict.row - 1],
    )


def _description(summary: importer.Summary, status: ImportStatus) -> str:
    dry_run = summary.options.dry_run
    total = summary.conflicts_total
    listed = len(summary.conflicts)
    more = f" (the first {listed} are listed)" if total > listed else ""
    if status == "SUCCESS":
        text = "Import process completed successfully"
        return text + (" (dry run: nothing was written)" if dry_run else "")
    if status == "WARNING":
        verb = "would be" if dry_run else "were"
        return (
            f"{total} value(s) conflict{more} and {verb} ignored; "
            f"the other values {verb} {'imported' if dry_run else 'written'}"
        )
    outcome = "would be rejected" if dry_run else "was rejected, nothing was written"
    return f"The import {outcome}: {total} value(s) conflict{more}; fix them and send it again"


def web_message(summary: importer.Summary, *, run_async: bool = False) -> Dhis2WebMessage:
    """The summary of an import of a `dataValueSets` body, as DHIS2 2.38+ reports it."""
    status: ImportStatus = summary.status  # type: ignore[assignment]
    options = summary.options
    if status == "ERROR":
        # Rejected whole (or, in a dry run, would be): every value was ignored.
        count = Dhis2ImportCount(imported=0, updated=0, ignored=summary.rows, deleted=0)
    else:
        count = Dhis2ImportCount(
            imported=summary.imported,
            updated=summary.updated,
            ignored=summary.ignored,
            deleted=summary.deleted,
        )
    conflicts = [_conflict(c) for c in sorted(summary.conflicts, key=lambda c: c.row)]
    return Dhis2WebMessage(
        httpStatus="OK" if status == "SUCCESS" else "Conflict",
        httpStatusCode=200 if status == "SUCCESS" else 409,
        status="OK" if status == "SUCCESS" else status,
        message=MESSAGES[status],
        response=Dhis2ImportSummary(
            status=status,
            importOptions=Dhis2ImportOptions(
                idSchemes={"idScheme": "CODE"},
                dryRun=options.dry_run,
                async_=run_async,
                importStrategy=options.strategy,
                atomicMode="ALL" if options.atomic else "NONE",
            ),
            description=_description(summary, status),
            importCount=count,
            conflicts=conflicts,
            rejectedIndexes=[i for c in conflicts for i in c.indexes],
        ),
    )
