"""The Atom feed (RFC 4287) and the DCAT-AP catalog (JSON-LD) of published publications."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.common.pagination import PageParams, paginate
from services.disclosure.models import PublicationVersion
from services.disclosure.public.http import absolute
from services.disclosure.public.queries import current_content, latest_versions, versions_of

ATOM = "http://www.w3.org/2005/Atom"
FEED_SIZE = 50
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KIND_NAMES = {
    "plan": ("绩效指标体系", "Indicator plan"),
    "results": ("考评结果", "Evaluation results"),
    "department_result": ("部门考评结果", "Department result"),
    "rectification": ("整改进展", "Rectification progress"),
    "annual_report": ("年度报告", "Annual report"),
    "notice": ("公告", "Notice"),
}
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "hydra": "http://www.w3.org/ns/hydra/core#",
    "owl": "http://www.w3.org/2002/07/owl#",
}


def publisher_name(jurisdiction_code: str) -> str:
    return f"{jurisdiction_code} 绩效管理办公室"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _updated(version: PublicationVersion) -> datetime:
    return version.retracted_at or version.published_at


async def atom_feed(
    session: AsyncSession,
    request: Request,
    *,
    jurisdiction: str | None = None,
    kind: str | None = None,
) -> bytes:
    """The newest published versions (each version and each retraction is news), newest
    first; a retracted entry says so and why instead of its summary."""
    stmt = select(PublicationVersion)
    if jurisdiction is not None:
        stmt = stmt.where(PublicationVersion.jurisdiction_code == jurisdiction)
    if kind is not None:
        stmt = stmt.where(PublicationVersion.kind == kind)
    stmt = stmt.order_by(PublicationVersion.id.desc())
    versions = await versions_of(session, stmt, limit=FEED_SIZE)
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    feed.set("{http://www.w3.org/XML/1998/namespace}lang", "zh-CN")
    scope = f":{jurisdiction}" if jurisdiction else ""
    scope += f":{kind}" if kind else ""
    _sub(feed, "id", f"urn:govperf:disclosure:feed{scope}")
    _sub(feed, "title", "政府绩效信息公开" + (f"（{jurisdiction}）" if jurisdiction else ""))
    _sub(feed, "updated", _iso(max((_updated(v) for v in versions), default=EPOCH)))
    query = urlencode({k: v for k, v in (("jurisdiction", jurisdiction), ("kind", kind)) if v})
    self_link = absolute(request, "/v1/feed.atom" + (f"?{query}" if query else ""))
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_link)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=absolute(request, "/pages"))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _sub(author, "name", publisher_name(jurisdiction) if jurisdiction else "govperf")
    for version in versions:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _sub(entry, "id", f"urn:uuid:{version.id}")
        title = version.title + (f"（第{version.version}版）" if version.version > 1 else "")
        _sub(entry, "title", title)
        _sub(entry, "updated", _iso(_updated(version)))
        _sub(entry, "published", _iso(version.published_at))
        entry_author = ET.SubElement(entry, f"{{{ATOM}}}author")
        _sub(entry_author, "name", publisher_name(version.jurisdiction_code))
        ET.SubElement(
            entry,
            f"{{{ATOM}}}link",
            rel="alternate",
            type="application/json",
            href=absolute(request, f"/v1/publications/{version.publication_id}"),
        )
        ET.SubElement(entry, f"{{{ATOM}}}category", term=version.kind)
        if version.retracted_at is not None:
            summary = f"已撤回：{version.retraction_reason or ''}"
        else:
            summary = version.summary or version.title
        _sub(entry, "summary", summary)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}")
    element.text = text
    return element


def _literal(zh: str | None, en: str | None) -> list[dict[str, str]]:
    values = [{"@value": zh, "@language": "zh"}] if zh else []
    if en:
        values.append({"@value": en, "@language": "en"})
    return values


def _date(moment: datetime) -> dict[str, str]:
    return {"@value": _iso(moment), "@type": "xsd:dateTime"}


def _publisher(jurisdiction_code: str) -> dict[str, Any]:
    return {
        "@id": f"urn:govperf:jurisdiction:{jurisdiction_code}",
        "@type": "foaf:Agent",
        "foaf:name": publisher_name(jurisdiction_code),
        "dct:identifier": jurisdiction_code,
    }


async def dcat_catalog(
    session: AsyncSession,
    request: Request,
    page: PageParams,
    *,
    jurisdiction: str | None = None,
) -> dict[str, Any]:
    """A `dcat:Catalog` with one `dcat:Dataset` per publication whose latest version stands
    (retracted ones leave the catalog), paged by `hydra:PagedCollection` as ckanext-dcat's
    harvester follows it."""
    stmt = current_content(latest_versions())
    if jurisdiction is not None:
        stmt = stmt.where(PublicationVersion.jurisdiction_code == jurisdiction)
    versions, next_cursor = await paginate(session, stmt, PublicationVersion.publication_id, page)
    first_published: dict[uuid.UUID, datetime] = {}
    if versions:
        issued = await session.execute(
            select(PublicationVersion.publication_id, func.min(PublicationVersion.published_at))
            .where(PublicationVersion.publication_id.in_([v.publication_id for v in versions]))
            .group_by(PublicationVersion.publication_id)
        )
        first_published = {pid: moment for pid, moment in issued.all()}
    datasets = [_dataset(request, v, first_published.get(v.publication_id)) for v in versions]
    scope = {"jurisdiction": jurisdiction} if jurisdiction else {}
    catalog_url = absolute(request, "/v1/catalog.jsonld")
    catalog: dict[str, Any] = {
        "@id": catalog_url,
        "@type": "dcat:Catalog",
        "dct:title": _literal("政府绩效管理公开数据目录", "Government performance open data"),
        "dct:description": _literal(
            "已公开的绩效指标体系、考评结果、部门结果与整改进展。",
            "Published indicator plans, evaluation results, department results and "
            "rectification progress.",
        ),
        "dct:publisher": _publisher(jurisdiction)
        if jurisdiction
        else {"@id": "urn:govperf:publisher", "@type": "foaf:Agent", "foaf:name": "govperf"},
        "foaf:homepage": {"@id": absolute(request, "/pages")},
        "dcat:dataset": datasets,
    }
    if datasets:
        catalog["dct:modified"] = _date(max(_updated(v) for v in versions))
    this_page = (
        catalog_url
        + "?"
        + urlencode(
            {**scope, **({"cursor": page.cursor} if page.cursor else {}), "limit": page.limit}
        )
    )
    paging: dict[str, Any] = {
        "@id": this_page,
        "@type": "hydra:PagedCollection",
        "hydra:itemsPerPage": page.limit,
        "hydra:firstPage": catalog_url + "?" + urlencode({**scope, "limit": page.limit}),
    }
    if next_cursor:
        paging["hydra:nextPage"] = (
            catalog_url + "?" + urlencode({**scope, "cursor": next_cursor, "limit": page.limit})
        )
    return {"@context": CONTEXT, "@graph": [catalog, paging]}


def _dataset(
    request: Request, version: PublicationVersion, issued: datetime | None
) -> dict[str, Any]:
    api = absolute(request, f"/v1/publications/{version.publication_id}")
    kind_zh, kind_en = KIND_NAMES.get(version.kind, (version.kind, version.kind))
    distributions = [
        {
            "@id": f"{api}#json",
            "@type": "dcat:Distribution",
            "dct:title": "JSON",
            "dcat:accessURL": {"@id": api},
            "dct:format": "JSON",
            "dcat:mediaType": "application/json",
        }
    ]
    if version.kind == "results" and version.cycle_id is not None:
        for extension, media_type in (("csv", "text/csv"), ("json", "application/json")):
            url = absolute(request, f"/v1/results/export.{extension}?cycle_id={version.cycle_id}")
            distributions.append(
                {
                    "@id": url,
                    "@type": "dcat:Distribution",
                    "dct:title": f"{extension.upper()} export",
                    "dcat:accessURL": {"@id": url},
                    "dcat:downloadURL": {"@id": url},
                    "dct:format": extension.upper(),
                    "dcat:mediaType": media_type,
                }
            )
    description = version.summary or f"{kind_zh}：{version.title}"
    dataset: dict[str, Any] = {
        "@id": api,
        "@type": "dcat:Dataset",
        "dct:identifier": str(version.publication_id),
        "dct:title": _literal(version.title, version.title_en),
        "dct:description": _literal(description, version.summary_en or kind_en),
        "dct:publisher": _publisher(version.jurisdiction_code),
        "dct:issued": _date(issued or version.published_at),
        "dct:modified": _date(version.published_at),
        "owl:versionInfo": str(version.version),
        "dcat:keyword": [kind_zh, kind_en],
        "dcat:distribution": distributions,
    }
    return dataset
