"""The disclosure part of the graph: publications, versions and the ledger for anyone; the
office's approval, publishing, scheduling and retraction as mutations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests import factories
from tests.harness import Stack, auth

PROBLEM = "... on Problem { __typename code message }"
EDITOR = auth(subject="editor-a")
APPROVER = auth(subject="approver-b")


async def graphql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The `data` of a query that must raise no GraphQL error at all."""
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers or {}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    data: dict[str, Any] = body["data"]
    return data


def move(name: str) -> str:
    return (
        f"mutation($id: ID!) {{ {name}(id: $id) {{ __typename "
        f"... on Publication {{ status version approvedBy }} {PROBLEM} }} }}"
    )


RETRACT = (
    "mutation($id: ID!, $reason: String!) { retractPublication(id: $id, reason: $reason) { "
    "__typename ... on Publication { status retractionReason } " + PROBLEM + " } }"
)
SCHEDULE = (
    "mutation($id: ID!, $at: DateTime!) { schedulePublication(id: $id, publishAt: $at) { "
    "__typename ... on Publication { status scheduledAt } " + PROBLEM + " } }"
)


class TestWorkflow:
    async def test_the_office_approves_publishes_and_retracts(self, stack: Stack) -> None:
        draft = await factories.draft_publication(stack.client("disclosure"), title="公告")
        variables = {"id": draft["id"]}
        own = await graphql(stack.gateway, move("approvePublication"), variables, EDITOR)
        assert own["approvePublication"]["__typename"] == "Forbidden"
        assert own["approvePublication"]["code"] == "approver-is-editor"
        approved = await graphql(stack.gateway, move("approvePublication"), variables, APPROVER)
        assert approved["approvePublication"] == {
            "__typename": "Publication",
            "status": "approved",
            "version": 0,
            "approvedBy": "approver-b",
        }
        published = await graphql(stack.gateway, move("publishPublication"), variables, APPROVER)
        assert published["publishPublication"]["status"] == "published"
        assert published["publishPublication"]["version"] == 1
        again = await graphql(stack.gateway, move("publishPublication"), variables, APPROVER)
        assert (again["publishPublication"]["__typename"], again["publishPublication"]["code"]) == (
            "Conflict",
            "nothing-to-publish",
        )
        retracted = await graphql(
            stack.gateway, RETRACT, {**variables, "reason": "数据有误"}, EDITOR
        )
        assert retracted["retractPublication"] == {
            "__typename": "Publication",
            "status": "retracted",
            "retractionReason": "数据有误",
        }

    async def test_scheduling_and_who_may_not(self, stack: Stack) -> None:
        item = await factories.approved_publication(stack.client("disclosure"))
        at = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
        variables = {"id": item["id"], "at": at.isoformat()}
        anonymous = await graphql(stack.gateway, SCHEDULE, variables)
        assert anonymous["schedulePublication"]["__typename"] == "Forbidden"
        scheduled = await graphql(stack.gateway, SCHEDULE, variables, APPROVER)
        assert scheduled["schedulePublication"]["status"] == "scheduled"
        assert datetime.fromisoformat(scheduled["schedulePublication"]["scheduledAt"]) == at
        bad = await graphql(stack.gateway, move("approvePublication"), {"id": "x"})
        assert bad["approvePublication"]["__typename"] == "ValidationFailed"


READ = """
query($id: ID!) {
  publication(id: $id) {
    __typename
    ... on Publication {
      title version status data attachments { title url }
      versions { ... on PublicationVersionConnection {
        nodes { version supersedes title ledgerSeq
                publication { ... on Publication { id } } } } }
    }
    ... on Problem { code }
  }
  ledger { ... on LedgerEntryConnection {
    nodes { seq action version previousHash hash publication { ... on Publication { title } } }
  } }
  ledgerVerification { ... on LedgerVerification { valid entries firstInvalidSeq } }
}
"""


class TestPublicReads:
    async def test_versions_and_the_ledger_need_no_token(self, stack: Stack) -> None:
        client = stack.client("disclosure")
        item = await factories.draft_publication(
            client,
            kind="plan",
            title="第一版",
            data={"total": 90},
            attachments=[{"title": "全文", "url": "https://example.org/plan.pdf"}],
        )
        path = f"/v1/publications/{item['id']}"
        await client.post(f"{path}/publish", headers=EDITOR)
        await client.patch(path, json={"title": "第二版"}, headers=EDITOR)
        await client.post(f"{path}/publish", headers=EDITOR)
        data = await graphql(stack.gateway, READ, {"id": item["id"]})
        publication = data["publication"]
        assert (publication["title"], publication["version"], publication["data"]) == (
            "第二版",
            2,
            {"total": 90},
        )
        assert publication["attachments"] == [
            {"title": "全文", "url": "https://example.org/plan.pdf"}
        ]
        versions = publication["versions"]["nodes"]
        assert [(v["version"], v["supersedes"], v["title"]) for v in versions] == [
            (1, None, "第一版"),
            (2, 1, "第二版"),
        ]
        assert versions[0]["publication"] == {"id": item["id"]}
        ledger = data["ledger"]["nodes"]
        assert [(e["seq"], e["action"], e["version"]) for e in ledger] == [
            (1, "published", 1),
            (2, "published", 2),
        ]
        assert ledger[1]["previousHash"] == ledger[0]["hash"]
        assert ledger[0]["publication"] == {"title": "第二版"}
        assert data["ledgerVerification"] == {"valid": True, "entries": 2, "firstInvalidSeq": None}

    async def test_a_draft_is_not_found_for_the_public(self, stack: Stack) -> None:
        draft = await factories.draft_publication(stack.client("disclosure"))
        data = await graphql(stack.gateway, READ, {"id": draft["id"]})
        assert data["publication"] == {"__typename": "NotFound", "code": "not-found"}
        office = await graphql(stack.gateway, READ, {"id": draft["id"]}, EDITOR)
        assert office["publication"]["status"] == "draft"
        assert office["publication"]["versions"]["nodes"] == []
