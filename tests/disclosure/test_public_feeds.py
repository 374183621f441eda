"""The Atom feed (read with an XML parser) and the DCAT-AP catalog (walked through its
JSON-LD @context, as a harvester would)."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from tests.disclosure import published
from tests.harness import HARBIN, Stack

ATOM = "{http://www.w3.org/2005/Atom}"
DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
HYDRA = "http://www.w3.org/ns/hydra/core#"
XSD = "http://www.w3.org/2001/XMLSchema#"


class TestAtom:
    async def test_entries_follow_rfc_4287(self, stack: Stack) -> None:
        cycle = uuid.uuid4()
        first = await published.publish_version(
            stack,
            title="2026年度考评结果",
            summary="初步结果",
            data=published.results_data(cycle, [], status="preliminary"),
        )
        await published.publish_version(
            stack,
            publication_id=first.publication_id,
            title="2026年度考评结果",
            summary="最终结果",
            data=published.results_data(cycle, []),
        )
        await published.publish_version(
            stack, kind="notice", title="撤回的公告", summary="x", retracted="内容有误"
        )
        response = await stack.client("disclosure").get("/v1/feed.atom")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/atom+xml")
        feed = ET.fromstring(response.content)
        assert feed.tag == f"{ATOM}feed"
        for required in ("id", "title", "updated", "author"):
            assert feed.find(f"{ATOM}{required}") is not None, required
        assert feed.find(f"{ATOM}link[@rel='self']").get("href").endswith("/v1/feed.atom")
        entries = feed.findall(f"{ATOM}entry")
        assert [e.find(f"{ATOM}title").text for e in entries] == [
            "撤回的公告",
            "2026年度考评结果（第2版）",
            "2026年度考评结果",
        ]
        assert [e.find(f"{ATOM}summary").text for e in entries] == [
            "已撤回：内容有误",
            "最终结果",
            "初步结果",
        ]
        ids = [e.find(f"{ATOM}id").text for e in entries]
        assert len(set(ids)) == 3 and all(i.startswith("urn:uuid:") for i in ids)
        for entry in entries:
            datetime.fromisoformat(entry.find(f"{ATOM}updated").text)
            link = entry.find(f"{ATOM}link[@rel='alternate']").get("href")
            assert link.endswith(f"/v1/publications/{first.publication_id}") or "notice" in [
                c.get("term") for c in entry.findall(f"{ATOM}category")
            ]
        assert feed.find(f"{ATOM}updated").text == entries[0].find(f"{ATOM}updated").text

    async def test_filtered_by_jurisdiction_and_kind(self, stack: Stack) -> None:
        await published.publish_version(stack, kind="notice", title="黑河公告")
        await published.publish_version(stack, jurisdiction=HARBIN, kind="notice", title="哈尔滨")
        await published.publish_version(stack, jurisdiction=HARBIN, kind="plan", title="方案")
        client = stack.client("disclosure")
        feed = ET.fromstring(
            (await client.get(f"/v1/feed.atom?jurisdiction={HARBIN}&kind=notice")).content
        )
        assert [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")] == ["哈尔滨"]
        assert feed.find(f"{ATOM}id").text == f"urn:govperf:disclosure:feed:{HARBIN}:notice"

    async def test_an_empty_feed_is_still_valid(self, stack: Stack) -> None:
        feed = ET.fromstring((await stack.client("disclosure").get("/v1/feed.atom")).content)
        assert feed.findall(f"{ATOM}entry") == []
        assert feed.find(f"{ATOM}updated").text


def expand(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's nodes with every compact IRI (`dct:title`) expanded by its @context."""
    prefixes = document["@context"]

    def iri(term: str) -> str:
        prefix, _, local = term.partition(":")
        return prefixes[prefix] + local if local and prefix in prefixes else term

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                if key == "@type":
                    out[key] = iri(item)
                elif key.startswith("@"):
                    out[key] = item
                else:
                    out[iri(key)] = walk(item)
            return out
        return value

    return walk(document["@graph"])


def values(node: dict[str, Any], prop: str) -> list[Any]:
    found = node.get(prop)
    if found is None:
        return []
    return found if isinstance(found, list) else [found]


class TestDcatCatalog:
    async def test_datasets_carry_the_minimal_dcat_ap_fields(self, stack: Stack) -> None:
        cycle = uuid.uuid4()
        first = await published.publish_version(
            stack,
            title="2026年度考评结果",
            title_en="2026 evaluation results",
            summary="各部门得分与排名",
            data=published.results_data(cycle, [], status="preliminary"),
        )
        latest = await published.publish_version(
            stack,
            publication_id=first.publication_id,
            title="2026年度考评结果",
            title_en="2026 evaluation results",
            summary="各部门得分与排名（最终）",
            data=published.results_data(cycle, []),
        )
        await published.publish_version(stack, kind="notice", title="撤回", retracted="有误")
        response = await stack.client("disclosure").get("/v1/catalog.jsonld")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/ld+json")
        nodes = expand(response.json())
        (catalog,) = [n for n in nodes if n["@type"] == f"{DCAT}Catalog"]
        assert values(catalog, f"{DCT}title") and values(catalog, f"{DCT}publisher")
        datasets = values(catalog, f"{DCAT}dataset")
        assert len(datasets) == 1  # the retracted one left the catalog
        (dataset,) = datasets
        assert dataset["@type"] == f"{DCAT}Dataset"
        titles = {t["@language"]: t["@value"] for t in values(dataset, f"{DCT}title")}
        assert titles == {"zh": "2026年度考评结果", "en": "2026 evaluation results"}
        descriptions = {d["@value"] for d in values(dataset, f"{DCT}description")}
        assert "各部门得分与排名（最终）" in descriptions
        (publisher,) = values(dataset, f"{DCT}publisher")
        assert publisher["@type"] == f"{FOAF}Agent" and values(publisher, f"{FOAF}name")
        (issued,) = values(dataset, f"{DCT}issued")
        (modified,) = values(dataset, f"{DCT}modified")
        assert issued["@type"] == modified["@type"] == f"{XSD}dateTime"
        assert datetime.fromisoformat(issued["@value"]) == first.published_at
        assert datetime.fromisoformat(modified["@value"]) == latest.published_at
        distributions = values(dataset, f"{DCAT}distribution")
        formats = {values(d, f"{DCT}format")[0] for d in distributions}
        assert formats == {"JSON", "CSV"}
        for distribution in distributions:
            assert distribution["@type"] == f"{DCAT}Distribution"
            (access,) = values(distribution, f"{DCAT}accessURL")
            assert access["@id"].startswith("http")
        csv_url = next(
            values(d, f"{DCAT}accessURL")[0]["@id"]
            for d in distributions
            if values(d, f"{DCT}format") == ["CSV"]
        )
        path = csv_url.split("disclosure.test", 1)[1]
        exported = await stack.client("disclosure").get(path)
        assert exported.status_code == 200 and exported.headers["content-type"].startswith(
            "text/csv"
        )

    async def test_pages_link_to_the_next_the_hydra_way(self, stack: Stack) -> None:
        for i in range(3):
            await published.publish_version(stack, kind="notice", title=f"公告{i}")
        client = stack.client("disclosure")
        seen: list[str] = []
        url: str | None = "/v1/catalog.jsonld?limit=2"
        while url:
            nodes = expand((await client.get(url)).json())
            (catalog,) = [n for n in nodes if n["@type"] == f"{DCAT}Catalog"]
            (paging,) = [n for n in nodes if n["@type"] == f"{HYDRA}PagedCollection"]
            seen += [values(d, f"{DCT}identifier")[0] for d in values(catalog, f"{DCAT}dataset")]
            following = values(paging, f"{HYDRA}nextPage")
            url = following[0].split("disclosure.test", 1)[1] if following else None
        assert len(seen) == 3 and len(set(seen)) == 3
