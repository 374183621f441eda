"""How to call each route with a city's records, and how to judge the answer.

A route without a recipe here is still called: its path parameters are filled by name
(`department_id` → the city's department A, ...) with no body. Recipes add what a route needs
to get past validation, so that a refusal can only come from authorization.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests import factories
from tests.policy.policy import Entry
from tests.policy.seed import YEAR, City, Principal, rating_body, tree

# Path parameter → the record of the city that fills it.
RECORD_OF_PARAM = {
    "department_id": "department",
    "system_id": "published_system",
    "measurement_id": "measurement",
    "job_id": "import_job",
    "cycle_id": "cycle",
    "group_id": "group",
    "assignment_id": "assignment",
    "rating_id": "rating",
    "questionnaire_id": "published_questionnaire",
    "publication_id": "published_publication",
    "feedback_id": "feedback",
    "subscription_id": "subscription",
    "seq": "delivery",
    "client_id": "api_client",
}
PUBLISHED = {"published", "superseded"}


def _items(body: Any) -> list[dict[str, Any]]:
    return body.get("items", []) if isinstance(body, dict) else []


def _graphql_departments(body: Any) -> list[dict[str, Any]]:
    data = (body or {}).get("data") or {}
    return [
        {**d, "jurisdiction_code": d["jurisdictionCode"]}
        for d in (data.get("departments") or {}).get("nodes", [])
    ]


def _of_city(item: dict[str, Any], city: City) -> bool:
    codes = item.get("jurisdiction_codes") or [item.get("jurisdiction_code")]
    return city.jurisdiction in codes


def _delivery_of_city(item: dict[str, Any], city: City) -> bool:
    """A delivery of the city's subscription, or of an event about one of its records."""
    subscriptions = {str(s["id"]) for s in city.per_service["subscription"].values()}
    ids = {str(r["id"]) for r in city.records.values()}
    aggregate = item.get("aggregate") or ""
    return (
        str(item.get("subscription_id")) in subscriptions
        or city.jurisdiction in aggregate
        or any(i in aggregate for i in ids)
    )


@dataclass(frozen=True)
class Recipe:
    params: dict[str, str] = field(default_factory=dict)  # path param → record key
    body: Callable[[City], Any] | None = None
    query: Callable[[City], dict[str, Any]] | None = None
    fresh: bool = False  # a call expected to pass gets a fresh record for the path
    draft: str | None = None  # the unpublished record to try a public read with
    items: Callable[[Any], list[dict[str, Any]]] = _items
    owned: Callable[[dict[str, Any], City], bool] = _of_city
    via: tuple[tuple[str, str], ...] = ()  # gateway passthrough: upstream routes to try
    # More records to try isolation with, where the component has them (per-service keys).
    also: tuple[str, ...] = ()
    # A 2xx body that still turns the caller away (a batch whose every item was rejected).
    refused: Callable[[Any], bool] | None = None


def _rows(city: City, period: str) -> dict[str, Any]:
    return {
        "measurements": [
            {
                "indicator": "E.1",
                "department": city.department_a["code"],
                "period": period,
                "value": 1,
            }
        ]
    }


def _tree(city: City) -> dict[str, Any]:
    return {"nodes": tree()}


def _assignment(city: City) -> dict[str, Any]:
    """A new evaluator of the open cycle's expert group for department A."""
    return {
        "group_id": city.records["open_cycle"]["groups"]["expert"]["id"],
        "evaluator_subject": f"expert:new-{city.next('created assignment')}",
        "evaluator_name": "特邀专家",
        "department_id": city.department_a["id"],
    }


REASON = {"reason": "复核口径"}
ANY = "*"  # routes every service has
RECIPES: dict[tuple[str, str], Recipe] = {
    # indicator: departments
    ("indicator", "POST /v1/departments"): Recipe(
        body=lambda c: {
            "jurisdiction_code": c.jurisdiction,
            "code": f"{c.prefix}-N{c.next('created department')}",
            "name_zh": "新设局",
            "category": "economic",
        }
    ),
    ("indicator", "PATCH /v1/departments/{department_id}"): Recipe(
        body=lambda c: {"name_en": "Renamed Bureau"}
    ),
    ("indicator", "DELETE /v1/departments/{department_id}"): Recipe(fresh=True),
    # indicator: systems
    ("indicator", "GET /v1/indicator-systems"): Recipe(draft="draft_system"),
    ("indicator", "POST /v1/indicator-systems"): Recipe(
        body=lambda c: {
            "jurisdiction_code": c.jurisdiction,
            "year": 2070 + c.next("created system"),
            "category": "economic",
            "name": "新指标体系",
            **_tree(c),
        }
    ),
    ("indicator", "GET /v1/indicator-systems/{system_id}"): Recipe(draft="draft_system"),
    ("indicator", "GET /v1/indicator-systems/{system_id}/check"): Recipe(draft="draft_system"),
    ("indicator", "PATCH /v1/indicator-systems/{system_id}"): Recipe(
        params={"system_id": "draft_system"}, body=lambda c: {"name": "改名的指标体系"}
    ),
    ("indicator", "PUT /v1/indicator-systems/{system_id}/tree"): Recipe(
        params={"system_id": "draft_system"}, body=_tree
    ),
    ("indicator", "POST /v1/indicator-systems/{system_id}/publish"): Recipe(
        params={"system_id": "draft_system"}, fresh=True
    ),
    ("indicator", "POST /v1/indicator-systems/{system_id}/revise"): Recipe(fresh=True),
    ("indicator", "POST /v1/indicator-systems/{system_id}/weights"): Recipe(
        params={"system_id": "draft_system"},
        body=lambda c: {"parent": "E", "weights": {"E.1": 0.5, "E.2": 0.3, "E.3": 0.2}},
    ),
    ("indicator", "DELETE /v1/indicator-systems/{system_id}"): Recipe(
        params={"system_id": "draft_system"}, fresh=True
    ),
    # indicator: weighting helpers
    ("indicator", "POST /v1/weighting/ahp"): Recipe(
        body=lambda c: {"matrix": [[1, 3], [1 / 3, 1]]}
    ),
    ("indicator", "POST /v1/weighting/entropy"): Recipe(
        body=lambda c: {"data": [[1, 2], [3, 5], [2, 2]]}
    ),
    # indicator: measurements, always naming department A so B's officer must be refused
    ("indicator", "POST /v1/measurements/import"): Recipe(
        query=lambda c: {"jurisdiction": c.jurisdiction, "dryRun": "true"},
        body=lambda c: _rows(c, f"{YEAR}Q2"),
    ),
    ("indicator", "POST /v1/dataValueSets"): Recipe(
        query=lambda c: {"jurisdiction": c.jurisdiction, "dryRun": "true"},
        body=lambda c: {
            "dataValues": [
                {
                    "dataElement": "E.1",
                    "orgUnit": c.department_a["code"],
                    "period": f"{YEAR}Q2",
                    "value": "1",
                }
            ]
        },
    ),
    ("indicator", "GET /v1/measurements/export"): Recipe(
        query=lambda c: {"jurisdiction": c.jurisdiction, "department_id": c.department_a["id"]}
    ),
    ("indicator", "GET /v1/measurements"): Recipe(
        query=lambda c: {"department_id": c.department_a["id"]}
    ),
    ("indicator", "POST /v1/measurements"): Recipe(
        body=lambda c: {
            "jurisdiction_code": c.jurisdiction,
            "indicator": "E.1",
            "department": c.department_a["code"],
            "period": f"{YEAR}Q3",
            "value": 1,
        }
    ),
    ("indicator", "PATCH /v1/measurements/{measurement_id}"): Recipe(
        body=lambda c: {"comment": "已核对"}
    ),
    ("indicator", "DELETE /v1/measurements/{measurement_id}"): Recipe(fresh=True),
    ("indicator", "POST /v1/measurements/{measurement_id}/verify"): Recipe(fresh=True),
    ("indicator", "POST /v1/measurements/{measurement_id}/return"): Recipe(
        fresh=True, body=lambda c: REASON
    ),
    ("indicator", "POST /v1/measurements/{measurement_id}/unlock"): Recipe(
        params={"measurement_id": "verified_measurement"}, fresh=True, body=lambda c: REASON
    ),
    ("indicator", "POST /v1/measurements/{measurement_id}/flag"): Recipe(body=lambda c: REASON),
    # evaluation: cycles (the draft "cycle" record, or the open one for what needs it open)
    ("evaluation", "POST /v1/cycles"): Recipe(
        body=lambda c: {
            "jurisdiction_code": c.jurisdiction,
            "code": f"C{c.next('created cycle')}",
            "name": "专项考评",
            "period": str(YEAR),
            "category": "economic",
        }
    ),
    ("evaluation", "PATCH /v1/cycles/{cycle_id}"): Recipe(body=lambda c: {"name": "改名的考评"}),
    ("evaluation", "POST /v1/cycles/{cycle_id}/open"): Recipe(fresh=True),
    ("evaluation", "POST /v1/cycles/{cycle_id}/close"): Recipe(
        params={"cycle_id": "open_cycle"}, fresh=True
    ),
    ("evaluation", "GET /v1/cycles/{cycle_id}/departments"): Recipe(
        params={"cycle_id": "open_cycle"}
    ),
    # evaluation: groups of the draft cycle
    ("evaluation", "POST /v1/cycles/{cycle_id}/groups"): Recipe(
        body=lambda c: {
            "kind": "deputy",
            "code": f"D{c.next('created group')}",
            "name": "人大代表评价",
            "weight": 0,
            "dimensions": [{"code": "service", "name_zh": "服务"}],
        }
    ),
    ("evaluation", "PATCH /v1/groups/{group_id}"): Recipe(body=lambda c: {"name": "改名的组"}),
    ("evaluation", "DELETE /v1/groups/{group_id}"): Recipe(fresh=True),
    # evaluation: assignments and scorecards of the open cycle
    ("evaluation", "GET /v1/cycles/{cycle_id}/assignments"): Recipe(
        params={"cycle_id": "open_cycle"}
    ),
    ("evaluation", "POST /v1/cycles/{cycle_id}/assignments"): Recipe(
        params={"cycle_id": "open_cycle"}, body=lambda c: _assignment(c)
    ),
    ("evaluation", "POST /v1/cycles/{cycle_id}/assignments/batch"): Recipe(
        params={"cycle_id": "open_cycle"},
        body=lambda c: {"assignments": [_assignment(c), _assignment(c)]},
    ),
    ("evaluation", "DELETE /v1/assignments/{assignment_id}"): Recipe(fresh=True),
    ("evaluation", "PUT /v1/assignments/{assignment_id}/scorecard"): Recipe(
        body=lambda c: {"scores": {"efficiency": 85, "integrity": None}, "comment": "较好"}
    ),
    ("evaluation", "GET /v1/cycles/{cycle_id}/scorecards"): Recipe(
        params={"cycle_id": "open_cycle"}
    ),
    ("evaluation", "GET /v1/cycles/{cycle_id}/scorecards/progress"): Recipe(
        params={"cycle_id": "open_cycle"}
    ),
    # evaluation: citizen ratings of the open cycle and their review
    ("evaluation", "POST /v1/ratings"): Recipe(body=rating_body),
    ("evaluation", "POST /v1/ratings/batch"): Recipe(
        body=lambda c: {"ratings": [rating_body(c), rating_body(c)]},
        # Each item is answered on its own: another city's cycle is not found, item by item.
        refused=lambda body: (
            body["accepted"] == 0 and all(r.get("code") == "unknown-cycle" for r in body["results"])
        ),
    ),
    ("evaluation", "GET /v1/cycles/{cycle_id}/ratings"): Recipe(params={"cycle_id": "open_cycle"}),
    ("evaluation", "GET /v1/cycles/{cycle_id}/ratings/summary"): Recipe(
        params={"cycle_id": "open_cycle"}
    ),
    ("evaluation", "POST /v1/cycles/{cycle_id}/ratings/check"): Recipe(
        params={"cycle_id": "open_cycle"}
    ),
    ("evaluation", "POST /v1/cycles/{cycle_id}/ratings/{rating_id}/decision"): Recipe(
        params={"cycle_id": "open_cycle"},
        body=lambda c: {"decision": "excluded", "reason": "重复提交"},
    ),
    # evaluation: results (the open cycle has none yet: 409 for the office, 404 for others)
    ("evaluation", "POST /v1/cycles/{cycle_id}/score"): Recipe(params={"cycle_id": "open_cycle"}),
    ("evaluation", "POST /v1/cycles/{cycle_id}/finalize"): Recipe(
        params={"cycle_id": "open_cycle"}
    ),
    # evaluation: questionnaires
    ("evaluation", "GET /v1/questionnaires"): Recipe(draft="draft_questionnaire"),
    ("evaluation", "GET /v1/questionnaires/{questionnaire_id}"): Recipe(
        draft="draft_questionnaire"
    ),
    ("evaluation", "POST /v1/questionnaires"): Recipe(
        body=lambda c: factories.questionnaire_body(
            jurisdiction=c.jurisdiction, code=f"Q{c.next('created questionnaire')}"
        )
    ),
    ("evaluation", "PATCH /v1/questionnaires/{questionnaire_id}"): Recipe(
        params={"questionnaire_id": "draft_questionnaire"}, body=lambda c: {"title_zh": "改名"}
    ),
    ("evaluation", "POST /v1/questionnaires/{questionnaire_id}/publish"): Recipe(
        params={"questionnaire_id": "draft_questionnaire"}, fresh=True
    ),
    ("evaluation", "POST /v1/questionnaires/{questionnaire_id}/close"): Recipe(fresh=True),
    # disclosure
    ("disclosure", "GET /v1/publications"): Recipe(draft="draft_publication"),
    ("disclosure", "GET /v1/publications/{publication_id}"): Recipe(draft="draft_publication"),
    ("disclosure", "POST /v1/publications"): Recipe(
        body=lambda c: {"jurisdiction_code": c.jurisdiction, "kind": "notice", "title": "通知"}
    ),
    ("disclosure", "PATCH /v1/publications/{publication_id}"): Recipe(
        params={"publication_id": "draft_publication"}, body=lambda c: {"title": "改名的方案"}
    ),
    ("disclosure", "POST /v1/publications/{publication_id}/publish"): Recipe(
        params={"publication_id": "draft_publication"}, fresh=True
    ),
    ("disclosure", "POST /v1/publications/{publication_id}/retract"): Recipe(
        fresh=True, body=lambda c: {"reason": "数据有误"}
    ),
    ("disclosure", "POST /v1/publications/{publication_id}/approve"): Recipe(
        params={"publication_id": "others_draft_publication"}, fresh=True
    ),
    ("disclosure", "POST /v1/publications/{publication_id}/schedule"): Recipe(
        params={"publication_id": "draft_publication"},
        fresh=True,
        body=lambda c: {"publish_at": "2099-01-01T00:00:00Z"},
    ),
    ("disclosure", "GET /v1/publications/{publication_id}/versions"): Recipe(
        draft="draft_publication"
    ),
    ("disclosure", "GET /v1/publications/{publication_id}/versions/{version}"): Recipe(
        params={"version": "first_version"}, draft="draft_publication"
    ),
    # disclosure: public reads
    ("disclosure", "GET /v1/search/publications"): Recipe(draft="draft_publication"),
    ("disclosure", "GET /v1/comparison"): Recipe(query=lambda c: {"indicator": "E.1"}),
    # feedback
    ("feedback", "POST /v1/citizen-feedback"): Recipe(
        body=lambda c: {"jurisdiction_code": c.jurisdiction, "kind": "suggestion", "text": "建议"}
    ),
    ("feedback", "POST /v1/citizen-feedback/{feedback_id}/answer"): Recipe(
        body=lambda c: {"answer": "已整改"}
    ),
    ("feedback", "GET /v1/citizen-feedback"): Recipe(
        query=lambda c: {"department_id": c.department_a["id"]}
    ),
    ("feedback", "GET /v1/citizen-feedback/summary"): Recipe(
        query=lambda c: {
            "department": c.department_a["id"],
            "period": str(YEAR),
            "jurisdiction": c.jurisdiction,
        }
    ),
    ("feedback", "POST /v1/citizen-feedback/{feedback_id}/resolution"): Recipe(
        body=lambda c: {"resolved": False}
    ),
    ("feedback", "POST /v1/citizen-feedback/{feedback_id}/task"): Recipe(
        body=lambda c: {"title": "群众反馈整改"}
    ),
    ("feedback", "POST /v1/results-uses"): Recipe(
        body=lambda c: {
            "jurisdiction_code": c.jurisdiction,
            "cycle_id": c.records["feedback_cycle"]["id"],
            "department_id": c.department_a["id"],
            "kind": "training",
            "decided_on": f"{YEAR}-12-20",
            "description": "组织专题培训",
        }
    ),
    ("feedback", "GET /v1/results-uses"): Recipe(
        query=lambda c: {"department_id": c.department_a["id"]}
    ),
    ("feedback", "GET /v1/results-uses/summary"): Recipe(
        query=lambda c: {"cycle_id": c.records["feedback_cycle"]["id"]}
    ),
    ("feedback", "GET /v1/results-uses/{use_id}"): Recipe(params={"use_id": "results_use"}),
    ("feedback", "GET /v1/metrics"): Recipe(
        query=lambda c: {
            "cycle_id": c.records["feedback_cycle"]["id"],
            "department_id": c.department_a["id"],
        }
    ),
    ("feedback", "PATCH /v1/results-uses/{use_id}"): Recipe(
        params={"use_id": "results_use"}, body=lambda c: {"reference": "黑政办〔2026〕13号"}
    ),
    ("feedback", "GET /v1/rectification-tasks/export.csv"): Recipe(
        query=lambda c: {"jurisdiction": c.jurisdiction, "department_id": c.department_a["id"]}
    ),
    ("feedback", "GET /v1/rectification-tasks/export.xlsx"): Recipe(
        query=lambda c: {"jurisdiction": c.jurisdiction, "department_id": c.department_a["id"]}
    ),
    # No file (the walk sends JSON): past authorization it is a 422 file-required.
    ("feedback", "POST /v1/rectification-tasks/import"): Recipe(
        query=lambda c: {
            "jurisdiction": c.jurisdiction,
            "department_id": c.department_a["id"],
            "dry_run": "true",
        }
    ),
    # every service: webhooks
    (ANY, "POST /v1/webhooks/inbox"): Recipe(body=lambda c: {"type": "x", "data": {}}),
    (ANY, "POST /v1/webhooks/subscriptions"): Recipe(
        body=lambda c: {
            "jurisdiction_code": c.jurisdiction,
            "url": "https://portal.test/hooks/more",
            "event_types": ["webhook.test"],
            "name": f"more of {c.jurisdiction} #{c.next('created subscription')}",
        }
    ),
    (ANY, "PATCH /v1/webhooks/subscriptions/{subscription_id}"): Recipe(
        body=lambda c: {"name": "改名的订阅"}
    ),
    (ANY, "DELETE /v1/webhooks/subscriptions/{subscription_id}"): Recipe(fresh=True),
    (ANY, "GET /v1/webhooks/deliveries"): Recipe(owned=_delivery_of_city),
    # A sibling service's subscription serves every city: its deliveries are the event's city's.
    (ANY, "GET /v1/webhooks/deliveries/{seq}"): Recipe(also=("sibling_delivery",)),
    (ANY, "POST /v1/webhooks/deliveries/{seq}/replay"): Recipe(also=("sibling_delivery",)),
    # gateway
    ("gateway", "POST /v1/api-clients"): Recipe(
        body=lambda c: {"name": "门户", "role": "portal", "jurisdiction_code": c.jurisdiction}
    ),
    ("gateway", "PATCH /v1/api-clients/{client_id}"): Recipe(
        body=lambda c: {"name": "改名的门户", "scopes": ["publications:read"]}
    ),
    ("gateway", "DELETE /v1/api-clients/{client_id}"): Recipe(fresh=True),
    # A client issues at most ten keys: a fresh client for each key it is given.
    ("gateway", "POST /v1/api-clients/{client_id}/keys"): Recipe(fresh=True),
    ("gateway", "POST /v1/api-clients/{client_id}/keys/{key_id}/rotate"): Recipe(
        params={"key_id": "api_key"}, body=lambda c: {"grace_seconds": 60}
    ),
    # The seeded client's second key, so the rotations above keep a key to rotate.
    ("gateway", "DELETE /v1/api-clients/{client_id}/keys/{key_id}"): Recipe(
        params={"key_id": "spare_api_key"}
    ),
    ("gateway", "GET /graphql"): Recipe(query=lambda c: {"query": "{ health { status } }"}),
    ("gateway", "POST /graphql"): Recipe(
        body=lambda c: {
            "query": f'{{ departments(jurisdiction: "{c.jurisdiction}") '
            "{ ... on DepartmentConnection { nodes { id jurisdictionCode } } } }"
        },
        items=_graphql_departments,
    ),
    # The passthrough neither adds nor drops authorization: a sample of service routes.
    ("gateway", "GET /api/{service}/{path:path}"): Recipe(
        via=(
            ("feedback", "GET /v1/citizen-feedback"),
            ("disclosure", "GET /v1/publications/{publication_id}"),
            ("indicator", "GET /v1/measurements/{measurement_id}"),
        )
    ),
    ("gateway", "POST /api/{service}/{path:path}"): Recipe(
        via=(("evaluation", "POST /v1/cycles"), ("indicator", "POST /v1/measurements/import"))
    ),
    ("gateway", "PATCH /api/{service}/{path:path}"): Recipe(
        via=(("indicator", "PATCH /v1/departments/{department_id}"),)
    ),
    ("gateway", "PUT /api/{service}/{path:path}"): Recipe(
        via=(("indicator", "PUT /v1/indicator-systems/{system_id}/tree"),)
    ),
    ("gateway", "DELETE /api/{service}/{path:path}"): Recipe(
        via=(("indicator", "DELETE /v1/measurements/{measurement_id}/flag"),)
    ),
}


def recipe(component: str, route: str) -> Recipe:
    return RECIPES.get((component, route)) or RECIPES.get((ANY, route)) or Recipe()


PARAM = re.compile(r"{(\w+)(?::\w+)?}")


@dataclass(frozen=True)
class Call:
    component: str
    method: str
    path: str
    query: dict[str, Any] | None
    body: Any


async def build_call(
    entry: Entry,
    city: City,
    *,
    fresh: bool = False,
    record: str | None = None,
) -> Call:
    """The call of `entry`'s route with `city`'s records; `fresh` makes a new record for the
    path (for writes that use it up), `record` names another record to use instead."""
    how = recipe(entry.component, entry.route)
    values: dict[str, str] = {}
    for name in PARAM.findall(entry.path):
        key = record or how.params.get(name) or RECORD_OF_PARAM.get(name)
        if key is None:
            raise AssertionError(f"{entry.label}: no record fills {{{name}}}; add a recipe")
        row = (
            await city.fresh(key, entry.component)
            if fresh and how.fresh
            else city.record(key, entry.component)
        )
        values[name] = str(row["id"])
    path = PARAM.sub(lambda m: values[m.group(1)], entry.path)
    return Call(
        component=entry.component,
        method=entry.method,
        path=path,
        query=how.query(city) if how.query else None,
        body=how.body(city) if how.body else None,
    )


@dataclass(frozen=True)
class Answer:
    status: int
    code: str | None
    body: Any

    def __str__(self) -> str:
        return f"{self.status}" + (f" {self.code}" if self.code else "")


async def send(
    client: httpx.AsyncClient, call: Call, headers: dict[str, str], *, prefix: str = ""
) -> Answer:
    if call.method == "WEBSOCKET":
        return await websocket_handshake(client, call.path, headers)
    kwargs: dict[str, Any] = {"params": call.query, "headers": headers}
    if call.body is not None:
        kwargs["json"] = call.body
    response = await client.request(call.method, prefix + call.path, **kwargs)
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    return Answer(response.status_code, code, body)


async def websocket_handshake(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> Answer:
    """Open a GraphQL websocket on the client's in-process app and close it again: 101 if
    the app accepted it, 403 if it closed it (as a server answers such a handshake)."""
    app = client._transport.app  # type: ignore[attr-defined]
    subprotocol = "graphql-transport-ws"
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "scheme": "ws",
        "server": ("gateway.test", 80),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [
            (b"host", b"gateway.test"),
            (b"sec-websocket-protocol", subprotocol.encode()),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
        "subprotocols": [subprotocol],
        "state": {},
    }
    inbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbound: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbound.put({"type": "websocket.connect"})
    task = asyncio.create_task(app(scope, inbound.get, outbound.put))
    answered = asyncio.create_task(outbound.get())
    try:
        await asyncio.wait({task, answered}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if not answered.done():
            # The app ended (or hung) without answering the handshake: a server error.
            error = task.exception() if task.done() else None
            return Answer(500, type(error).__name__ if error else "no answer", None)
        first = answered.result()
        await inbound.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait({task}, timeout=10)
    finally:
        for pending in (task, answered):
            pending.cancel()
    if first["type"] == "websocket.accept":
        return Answer(101, None, None)
    if first["type"] == "websocket.http.response.start":
        return Answer(first["status"], None, None)
    return Answer(403, f"closed {first.get('code')}", None)


# --- judging -------------------------------------------------------------------------------


def passes(value: str, principal: Principal) -> bool:
    """Whether the policy lets `principal` through with this value on city A's records."""
    return value == "allow" or (value == "own" and principal.bound == "A")


def access_mismatch(value: str, principal: Principal, answer: Answer) -> str | None:
    """What was expected, if `answer` contradicts the policy value; None if it agrees."""
    status = answer.status
    if status >= 500:
        return "no server error"
    if passes(value, principal):
        return None if status not in (401, 403) else "allowed (neither 401 nor 403)"
    if value == "own":
        return None if status in (403, 404) else "refused on another department's (403/404)"
    if value == "deny":
        if principal.kind == "anonymous":
            return None if status == 401 else "denied (401)"
        return None if status in (401, 403) else "denied (403 or 401)"
    return f"a known policy value, not {value!r}"


# --- feedback: reports, rectification tasks, appeals ---------------------------------------

_TASK = {"task_id": "rectification_task"}


def _filed_appeal_of(item: dict[str, Any], city: City) -> bool:
    """Decided appeals are public; a filed one is its city's own."""
    return _of_city(item, city) and item.get("status") == "filed"


RECIPES.update(
    {
        ("feedback", "GET /v1/feedback-reports"): Recipe(
            query=lambda c: {"department_id": c.department_a["id"]}
        ),
        ("feedback", "GET /v1/feedback-reports/{report_id}"): Recipe(
            params={"report_id": "feedback_report"}
        ),
        ("feedback", "POST /v1/rectification-tasks"): Recipe(
            body=lambda c: {
                "jurisdiction_code": c.jurisdiction,
                "department_id": c.department_a["id"],
                "department_code": c.department_a["code"],
                "title": "办事窗口整改",
                "deadline": f"{YEAR + 1}-03-31",
            }
        ),
        ("feedback", "GET /v1/rectification-tasks"): Recipe(
            query=lambda c: {"department_id": c.department_a["id"]}
        ),
        ("feedback", "GET /v1/rectification-tasks/{task_id}"): Recipe(params=_TASK),
        ("feedback", "PATCH /v1/rectification-tasks/{task_id}"): Recipe(
            params=_TASK, body=lambda c: {"title": "改名的整改任务"}
        ),
        ("feedback", "PUT /v1/rectification-tasks/{task_id}/plan"): Recipe(
            params=_TASK, body=lambda c: {"plan": "增设窗口，推行预约"}
        ),
        ("feedback", "POST /v1/rectification-tasks/{task_id}/progress"): Recipe(
            params=_TASK, body=lambda c: {"progress": 30}
        ),
        # Verifying an open task: a conflict for whoever may see it (the step comes first).
        ("feedback", "POST /v1/rectification-tasks/{task_id}/status"): Recipe(
            params=_TASK, body=lambda c: {"to_status": "verified", "reason": "核查"}
        ),
        ("feedback", "POST /v1/rectification-tasks/{task_id}/milestones"): Recipe(
            params=_TASK, body=lambda c: {"title": "制定方案"}
        ),
        ("feedback", "PATCH /v1/rectification-tasks/{task_id}/milestones/{milestone_id}"): Recipe(
            params={**_TASK, "milestone_id": "milestone"}, body=lambda c: {"progress": 60}
        ),
        ("feedback", "POST /v1/rectification-tasks/{task_id}/evidence"): Recipe(
            params=_TASK, body=lambda c: {"description": "整改通知"}
        ),
        ("feedback", "POST /v1/appeals"): Recipe(
            body=lambda c: {
                "cycle_id": c.records["appeal_cycle"]["id"],
                "target_kind": "indicator",
                "target": f"P{c.next('appeal target')}",
                "reason": "数据漏报",
            }
        ),
        ("feedback", "GET /v1/appeals"): Recipe(owned=_filed_appeal_of),
        ("feedback", "GET /v1/appeals/{appeal_id}"): Recipe(
            params={"appeal_id": "appeal"}, draft="filed_appeal"
        ),
        ("feedback", "POST /v1/appeals/{appeal_id}/decision"): Recipe(
            params={"appeal_id": "appeal"},
            fresh=True,
            body=lambda c: {"decision": "dismissed", "decision_text": "证据不足"},
        ),
    }
)
