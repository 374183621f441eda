"""Evaluation cycles: drafts, their rules, opening (with every check it makes) and closing,
and the transition table the later stages use."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from services.common.auth import Principal
from services.evaluation.cycles import service as cycle_service
from services.evaluation.models import COMMON, Cycle
from tests import factories
from tests.common.events.receivers import eventually
from tests.harness import HARBIN, HEIHE, Stack, auth, base_url, running_stack

SYSTEM_NODES = [
    {
        "code": "E",
        "name_zh": "经济发展",
        "weight": 100,
        "children": [factories.indicator_leaf("E.1", 60), factories.indicator_leaf("E.2", 40)],
    }
]


async def departments(stack: Stack) -> dict[str, dict[str, Any]]:
    """Two active economic departments, an inactive one and one of another category."""
    indicator = stack.client("indicator")
    made = {}
    for code, category, active in (
        ("DRC", "economic", True),
        ("BEB", "economic", True),
        ("OLD", "economic", False),
        ("EDU", "social_services", True),
    ):
        made[code] = await factories.create_department(
            indicator, code=code, category=category, active=active
        )
    return made


async def published_system(stack: Stack, *, category: str = "economic", year: int = 2026) -> Any:
    return await factories.create_indicator_system(
        stack.client("indicator"), category=category, year=year, nodes=SYSTEM_NODES, publish=True
    )


async def received(stack: Stack, system_id: str) -> dict[str, Any]:
    """The snapshot, once the event has reached the evaluation service."""

    async def check() -> dict[str, Any] | None:
        response = await stack.client("evaluation").get(
            f"/v1/indicator-systems/{system_id}", headers=auth()
        )
        return response.json() if response.status_code == 200 else None

    return await eventually(check)


async def ready_cycle(stack: Stack, **fields: Any) -> dict[str, Any]:
    """A draft cycle with one objective group of weight 100."""
    client = stack.client("evaluation")
    cycle = await factories.create_cycle(client, **fields)
    await factories.create_group(client, cycle["id"])
    return cycle


async def emitted(stack: Stack, event_type: str) -> list[dict[str, Any]]:
    async with stack.apps["evaluation"].state.db.session(read_only=True) as session:
        bodies = (
            await session.scalars(
                select(COMMON.outbox.body)
                .where(COMMON.outbox.type == event_type)
                .order_by(COMMON.outbox.seq)
            )
        ).all()
    return [json.loads(body)["data"] for body in bodies]


def open_path(cycle: dict[str, Any]) -> str:
    return f"/v1/cycles/{cycle['id']}/open"


class TestCreate:
    async def test_a_draft_has_the_default_rules(self, stack: Stack) -> None:
        cycle = await factories.create_cycle(stack.client("evaluation"))
        assert (cycle["status"], cycle["category"], cycle["appeal_days"]) == (
            "draft",
            "economic",
            7,
        )
        assert cycle["opened_at"] is None and cycle["system_id"] is None
        rules = cycle["rules"]
        assert [(b["grade"], b["min"]) for b in rules["bands"]] == [
            ("excellent", 95),
            ("good", 90),
            ("pass", 80),
            ("fail", None),
        ]
        assert rules["quality_policy"] == "exclude" and rules["exclusion_criteria"] == 2
        assert rules["speeder_ratio"] == 0.4 and rules["speeder_min_responses"] == 100
        assert rules["bonus_cap"] == 5 and rules["normalization"] == "none"

    async def test_rules_are_kept_as_sent(self, stack: Stack) -> None:
        rules = {
            "bands": [
                {"grade": "a", "min": 90},
                {"grade": "b", "min": 60},
                {"grade": "c", "min": None},
            ],
            "quotas": {"a": 3},
            "normalization": "z_score",
            "quality_policy": "review",
            "population_shares": {"district=A|age=18-34": 0.25, "district=A|age=35+": 0.75},
        }
        cycle = await factories.create_cycle(stack.client("evaluation"), rules=rules)
        assert cycle["rules"]["quotas"] == {"a": 3}
        assert cycle["rules"]["normalization"] == "z_score"
        assert cycle["rules"]["population_shares"] == rules["population_shares"]

    async def test_the_category_is_required(self, stack: Stack) -> None:
        response = await stack.client("evaluation").post(
            "/v1/cycles",
            headers=auth(),
            json={"jurisdiction_code": HEIHE, "code": "c", "name": "n", "period": "2026"},
        )
        assert response.status_code == 422
        assert ["body", "category"] in [e["location"] for e in response.json()["errors"]]

    @pytest.mark.parametrize(
        "rules",
        [
            pytest.param(
                {
                    "bands": [
                        {"grade": "a", "min": 80},
                        {"grade": "b", "min": 90},
                        {"grade": "c", "min": None},
                    ]
                },
                id="bands-ascending",
            ),
            pytest.param(
                {
                    "bands": [
                        {"grade": "a", "min": 90},
                        {"grade": "b", "min": 90},
                        {"grade": "c", "min": None},
                    ]
                },
                id="bands-equal",
            ),
            pytest.param({"bands": [{"grade": "a", "min": 90}]}, id="no-catch-all-band"),
            pytest.param({"quotas": {"outstanding": 2}}, id="quota-of-unknown-grade"),
            pytest.param({"quotas": {"excellent": -1}}, id="negative-quota"),
            pytest.param({"population_shares": {"a": 0.5, "b": 0.4}}, id="shares-not-summing-to-1"),
            pytest.param({"normalization": "rank"}, id="unknown-normalization"),
            pytest.param({"quality_policy": "ignore"}, id="unknown-quality-policy"),
            pytest.param({"speeder_ratio": 0}, id="speeder-ratio-0"),
            pytest.param({"surprise": 1}, id="unknown-field"),
        ],
    )
    async def test_invalid_rules_are_422(self, stack: Stack, rules: dict[str, Any]) -> None:
        response = await stack.client("evaluation").post(
            "/v1/cycles",
            headers=auth(),
            json={
                "jurisdiction_code": HEIHE,
                "code": "c",
                "name": "n",
                "period": "2026",
                "category": "economic",
                "rules": rules,
            },
        )
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation-error"

    @pytest.mark.parametrize("days", [-1, 61])
    async def test_appeal_days_are_0_to_60(self, stack: Stack, days: int) -> None:
        response = await stack.client("evaluation").post(
            "/v1/cycles",
            headers=auth(),
            json={
                "jurisdiction_code": HEIHE,
                "code": "c",
                "name": "n",
                "period": "2026",
                "category": "economic",
                "appeal_days": days,
            },
        )
        assert response.status_code == 422

    @pytest.mark.parametrize("period", ["2026", "2026Q3", "202612"])
    async def test_dhis2_style_periods_are_accepted(self, stack: Stack, period: str) -> None:
        cycle = await factories.create_cycle(stack.client("evaluation"), period=period)
        assert cycle["period"] == period

    @pytest.mark.parametrize("period", ["26", "2026Q5", "202613", "2026-01"])
    async def test_malformed_periods_are_422(self, stack: Stack, period: str) -> None:
        response = await stack.client("evaluation").post(
            "/v1/cycles",
            headers=auth(),
            json={
                "jurisdiction_code": HEIHE,
                "code": "c",
                "name": "n",
                "period": period,
                "category": "economic",
            },
        )
        assert response.status_code == 422

    async def test_a_code_is_used_once_per_jurisdiction(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        await factories.create_cycle(client, code="annual")
        await factories.create_cycle(client, code="annual", jurisdiction=HARBIN)
        again = await client.post(
            "/v1/cycles",
            headers=auth(),
            json={
                "jurisdiction_code": HEIHE,
                "code": "annual",
                "name": "n",
                "period": "2026",
                "category": "economic",
            },
        )
        assert again.status_code == 409 and again.json()["code"] == "cycle-code-taken"

    async def test_another_jurisdictions_cycle_is_not_created(self, stack: Stack) -> None:
        response = await stack.client("evaluation").post(
            "/v1/cycles",
            headers=auth(jurisdictions=(HARBIN,)),
            json={
                "jurisdiction_code": HEIHE,
                "code": "c",
                "name": "n",
                "period": "2026",
                "category": "economic",
            },
        )
        assert response.status_code == 403


class TestUpdate:
    async def test_a_draft_changes_its_setup_and_the_audit_has_both_sides(
        self, stack: Stack
    ) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        response = await client.patch(
            f"/v1/cycles/{cycle['id']}",
            headers=auth(),
            json={
                "category": "districts",
                "appeal_days": 10,
                "rules": {"normalization": "min_max", "bonus_cap": 3},
            },
        )
        assert response.status_code == 200, response.text
        changed = response.json()
        assert (changed["category"], changed["appeal_days"]) == ("districts", 10)
        assert changed["rules"]["normalization"] == "min_max"
        assert changed["rules"]["bonus_cap"] == 3
        trail = await client.get("/v1/audit", params={"action": "cycle.updated"}, headers=auth())
        [entry] = trail.json()["items"]
        assert entry["before"]["category"] == "economic"
        assert entry["after"]["category"] == "districts"

    async def test_the_status_is_not_patched(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        response = await client.patch(
            f"/v1/cycles/{cycle['id']}", json={"status": "open"}, headers=auth()
        )
        assert response.status_code == 422
        assert (await client.get(f"/v1/cycles/{cycle['id']}", headers=auth())).json()[
            "status"
        ] == "draft"

    @pytest.mark.parametrize(
        "change",
        [
            {"period": "2027"},
            {"category": "districts"},
            {"appeal_days": 1},
            {"rules": {"quality_policy": "count"}},
        ],
    )
    async def test_only_the_name_changes_once_open(
        self, stack: Stack, change: dict[str, Any]
    ) -> None:
        await departments(stack)
        await received(stack, (await published_system(stack))["id"])
        client = stack.client("evaluation")
        cycle = await ready_cycle(stack)
        await factories.open_cycle(client, cycle["id"])
        refused = await client.patch(f"/v1/cycles/{cycle['id']}", json=change, headers=auth())
        assert refused.status_code == 409 and refused.json()["code"] == "cycle-not-draft"
        renamed = await client.patch(
            f"/v1/cycles/{cycle['id']}", json={"name": "改名"}, headers=auth()
        )
        assert renamed.status_code == 200 and renamed.json()["name"] == "改名"

    async def test_another_jurisdictions_cycle_is_not_found(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        response = await client.patch(
            f"/v1/cycles/{cycle['id']}", json={"name": "x"}, headers=auth(jurisdictions=(HARBIN,))
        )
        assert response.status_code == 404

    async def test_null_name_is_422(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        response = await client.patch(
            f"/v1/cycles/{cycle['id']}", json={"name": None}, headers=auth()
        )
        assert response.status_code == 422 and response.json()["code"] == "null-not-allowed"


class TestOpen:
    async def test_opening_binds_the_system_and_takes_the_active_departments(
        self, stack: Stack
    ) -> None:
        made = await departments(stack)
        system = await published_system(stack)
        await received(stack, system["id"])
        client = stack.client("evaluation")
        cycle = await ready_cycle(stack)
        response = await client.post(open_path(cycle), headers=auth())
        assert response.status_code == 200, response.text
        opened = response.json()
        assert opened["status"] == "open" and opened["opened_at"]
        assert opened["system_id"] == system["id"]
        listed = await client.get(f"/v1/cycles/{cycle['id']}/departments", headers=auth())
        assert {d["code"] for d in listed.json()["items"]} == {"DRC", "BEB"}
        assert {d["department_id"] for d in listed.json()["items"]} == {
            made["DRC"]["id"],
            made["BEB"]["id"],
        }
        [event] = await emitted(stack, "cycle.opened")
        assert event["cycle_id"] == cycle["id"] and event["category"] == "economic"
        assert event["system"] == {
            "id": system["id"],
            "version": 1,
            "year": 2026,
            "name": system["name"],
        }
        assert [(g["kind"], g["weight"]) for g in event["groups"]] == [("objective", 100)]
        assert {d["code"] for d in event["departments"]} == {"DRC", "BEB"}
        trail = await client.get("/v1/audit", params={"action": "cycle.opened"}, headers=auth())
        assert [e["resource_id"] for e in trail.json()["items"]] == [cycle["id"]]

    async def test_departments_are_followed_over_every_page(self, stack: Stack) -> None:
        indicator = stack.client("indicator")
        for number in range(205):
            await factories.create_department(indicator, code=f"E{number:03d}", category="economic")
        await received(stack, (await published_system(stack))["id"])
        cycle = await ready_cycle(stack)
        await factories.open_cycle(stack.client("evaluation"), cycle["id"])
        client = stack.client("evaluation")
        first = await client.get(
            f"/v1/cycles/{cycle['id']}/departments", params={"limit": 200}, headers=auth()
        )
        rest = await client.get(
            f"/v1/cycles/{cycle['id']}/departments",
            params={"limit": 200, "cursor": first.json()["next_cursor"]},
            headers=auth(),
        )
        assert len(first.json()["items"]) + len(rest.json()["items"]) == 205

    async def test_the_named_system_is_the_one_bound(self, stack: Stack) -> None:
        await departments(stack)
        older = await published_system(stack, year=2025)
        await received(stack, (await published_system(stack))["id"])
        await received(stack, older["id"])
        cycle = await ready_cycle(stack, system_id=older["id"])
        opened = await factories.open_cycle(stack.client("evaluation"), cycle["id"])
        assert opened["system_id"] == older["id"]

    async def test_a_system_of_another_category_is_422(self, stack: Stack) -> None:
        await departments(stack)
        other = await published_system(stack, category="districts")
        await received(stack, other["id"])
        client = stack.client("evaluation")
        refused = await client.post(
            "/v1/cycles",
            headers=auth(),
            json={
                "jurisdiction_code": HEIHE,
                "code": "c",
                "name": "n",
                "period": "2026",
                "category": "economic",
                "system_id": other["id"],
            },
        )
        assert refused.status_code == 422 and refused.json()["code"] == "system-mismatch"
        # Checked again whenever the category or the system changes.
        cycle = await ready_cycle(stack, code="later")
        await client.patch(
            f"/v1/cycles/{cycle['id']}", json={"category": "districts"}, headers=auth()
        )
        await client.patch(
            f"/v1/cycles/{cycle['id']}", json={"system_id": other["id"]}, headers=auth()
        )
        back = await client.patch(
            f"/v1/cycles/{cycle['id']}", json={"category": "economic"}, headers=auth()
        )
        assert back.status_code == 422 and back.json()["code"] == "system-mismatch"

    async def test_without_a_published_system_it_stays_a_draft(self, stack: Stack) -> None:
        await departments(stack)
        await factories.create_indicator_system(stack.client("indicator"), nodes=SYSTEM_NODES)
        client = stack.client("evaluation")
        cycle = await ready_cycle(stack)
        response = await client.post(open_path(cycle), headers=auth())
        assert response.status_code == 409 and response.json()["code"] == "no-published-system"
        assert (await client.get(f"/v1/cycles/{cycle['id']}", headers=auth())).json()[
            "status"
        ] == "draft"

    async def test_a_category_without_departments_cannot_open(self, stack: Stack) -> None:
        await received(stack, (await published_system(stack))["id"])
        cycle = await ready_cycle(stack)
        response = await stack.client("evaluation").post(open_path(cycle), headers=auth())
        assert response.status_code == 409 and response.json()["code"] == "no-departments"

    async def test_without_groups_it_cannot_open(self, stack: Stack) -> None:
        cycle = await factories.create_cycle(stack.client("evaluation"))
        response = await stack.client("evaluation").post(open_path(cycle), headers=auth())
        assert response.status_code == 422 and response.json()["code"] == "no-evaluator-groups"

    async def test_group_weights_must_sum_to_100(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        await factories.create_group(client, cycle["id"], kind="objective", weight=60)
        await factories.create_group(client, cycle["id"], kind="expert", weight=30)
        response = await client.post(open_path(cycle), headers=auth())
        problem = response.json()
        assert response.status_code == 422 and problem["code"] == "group-weights-do-not-add-up"
        assert problem["weight_sum"] == 90
        listed = await client.get(f"/v1/cycles/{cycle['id']}/groups", headers=auth())
        assert (listed.json()["weight_sum"], listed.json()["weights_add_up"]) == (90, False)

    async def test_the_citizen_group_needs_a_published_questionnaire(self, stack: Stack) -> None:
        client = stack.client("evaluation")
        draft = await factories.create_questionnaire(client)
        cycle = await factories.create_cycle(client)
        await factories.create_group(client, cycle["id"], kind="objective", weight=70)
        await factories.create_group(
            client, cycle["id"], kind="citizen", weight=30, questionnaire_id=draft["id"]
        )
        response = await client.post(open_path(cycle), headers=auth())
        assert response.status_code == 409
        assert response.json()["code"] == "questionnaire-not-published"

    async def test_a_group_may_rate_only_the_cycles_departments(self, stack: Stack) -> None:
        made = await departments(stack)
        await received(stack, (await published_system(stack))["id"])
        client = stack.client("evaluation")
        cycle = await factories.create_cycle(client)
        await factories.create_group(
            client, cycle["id"], department_ids=[made["DRC"]["id"], made["EDU"]["id"]]
        )
        response = await client.post(open_path(cycle), headers=auth())
        problem = response.json()
        assert response.status_code == 422 and problem["code"] == "group-departments-not-in-cycle"
        assert problem["departments"] == [made["EDU"]["id"]]

    async def test_an_open_cycle_does_not_open_again(self, stack: Stack) -> None:
        await departments(stack)
        await received(stack, (await published_system(stack))["id"])
        client = stack.client("evaluation")
        cycle = await ready_cycle(stack)
        await factories.open_cycle(client, cycle["id"])
        again = await client.post(open_path(cycle), headers=auth())
        assert again.status_code == 409 and again.json()["code"] == "invalid-cycle-transition"

    async def test_an_unreachable_indicator_service_is_503_with_retry_after(
        self, stack: Stack
    ) -> None:
        await departments(stack)
        await received(stack, (await published_system(stack))["id"])
        cycle = await ready_cycle(stack)
        stack.router.unmount(base_url("indicator"))
        response = await stack.client("evaluation").post(open_path(cycle), headers=auth())
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "upstream-unavailable"
        assert response.headers["retry-after"]
        assert (
            await stack.client("evaluation").get(f"/v1/cycles/{cycle['id']}", headers=auth())
        ).json()["status"] == "draft"

    async def test_another_jurisdictions_cycle_is_not_found(self, stack: Stack) -> None:
        cycle = await ready_cycle(stack)
        response = await stack.client("evaluation").post(
            open_path(cycle), headers=auth(jurisdictions=(HARBIN,))
        )
        assert response.status_code == 404


@pytest.fixture
async def quiet_stack(database_urls: dict[str, str], backend: str) -> AsyncIterator[Stack]:
    """A stack whose dispatchers deliver nothing: every event is "missed"."""
    async with running_stack(backend, database_urls, dispatcher_enabled=False) as running:
        yield running


class TestMissedSystemEvent:
    async def test_the_system_is_fetched_once_when_its_event_was_missed(
        self, quiet_stack: Stack
    ) -> None:
        stack = quiet_stack
        await departments(stack)
        await published_system(stack, year=2025)
        system = await published_system(stack)
        client = stack.client("evaluation")
        assert (await client.get("/v1/indicator-systems", headers=auth())).json()["items"] == []
        cycle = await ready_cycle(stack)
        opened = await factories.open_cycle(client, cycle["id"])
        assert opened["system_id"] == system["id"]
        snapshot = (
            await client.get(f"/v1/indicator-systems/{system['id']}", headers=auth())
        ).json()
        assert snapshot["received_via"] == "fetch" and snapshot["version"] == 1
        assert snapshot["snapshot"]["nodes"][0]["code"] == "E"
        # A second cycle of the same year and category uses what the first one fetched.
        stack.router.unmount(base_url("indicator"))
        second = await ready_cycle(stack, code="second")
        response = await client.post(open_path(second), headers=auth())
        assert response.status_code == 503  # its departments still come from the indicator
        listed = await client.get("/v1/indicator-systems", headers=auth())
        assert [s["id"] for s in listed.json()["items"]] == [system["id"]]

    async def test_a_named_system_not_received_is_fetched_by_its_id(
        self, quiet_stack: Stack
    ) -> None:
        stack = quiet_stack
        await departments(stack)
        older = await published_system(stack, year=2025)
        cycle = await ready_cycle(stack, system_id=older["id"])
        client = stack.client("evaluation")
        snapshot = await client.get(f"/v1/indicator-systems/{older['id']}", headers=auth())
        assert snapshot.json()["received_via"] == "fetch"
        opened = await factories.open_cycle(client, cycle["id"])
        assert opened["system_id"] == older["id"]

    async def test_a_named_draft_or_unknown_system_is_422(self, quiet_stack: Stack) -> None:
        stack = quiet_stack
        draft = await factories.create_indicator_system(
            stack.client("indicator"), nodes=SYSTEM_NODES
        )
        for system_id, code in (
            (draft["id"], "indicator-system-not-published"),
            (str(uuid.uuid4()), "unknown-indicator-system"),
        ):
            response = await stack.client("evaluation").post(
                "/v1/cycles",
                headers=auth(),
                json={
                    "jurisdiction_code": HEIHE,
                    "code": "c",
                    "name": "n",
                    "period": "2026",
                    "category": "economic",
                    "system_id": system_id,
                },
            )
            assert response.status_code == 422, response.text
            assert response.json()["code"] == code


class TestClose:
    async def test_an_open_cycle_closes_into_scoring(self, stack: Stack) -> None:
        await departments(stack)
        await received(stack, (await published_system(stack))["id"])
        client = stack.client("evaluation")
        cycle = await ready_cycle(stack)
        early = await client.post(f"/v1/cycles/{cycle['id']}/close", headers=auth())
        assert early.status_code == 409 and early.json()["code"] == "invalid-cycle-transition"
        await factories.open_cycle(client, cycle["id"])
        closed = await client.post(f"/v1/cycles/{cycle['id']}/close", headers=auth())
        assert closed.status_code == 200, closed.text
        assert closed.json()["status"] == "scoring" and closed.json()["closed_at"]
        [event] = await emitted(stack, "cycle.closed")
        assert (event["cycle_id"], event["status"]) == (cycle["id"], "scoring")


class TestLists:
    async def test_lists_filter_by_status_period_and_category(self, stack: Stack) -> None:
        await departments(stack)
        await received(stack, (await published_system(stack))["id"])
        client = stack.client("evaluation")
        opened = await ready_cycle(stack, code="a")
        await factories.open_cycle(client, opened["id"])
        await factories.create_cycle(client, code="b", period="2026Q1")
        await factories.create_cycle(client, code="c", category="districts")
        await factories.create_cycle(client, code="d", jurisdiction=HARBIN)

        async def codes(**params: str) -> list[str]:
            response = await client.get("/v1/cycles", params=params, headers=auth())
            assert response.status_code == 200, response.text
            return sorted(c["code"] for c in response.json()["items"])

        assert await codes() == ["a", "b", "c"]
        assert await codes(status="open") == ["a"]
        assert await codes(status="draft") == ["b", "c"]
        assert await codes(period="2026Q1") == ["b"]
        assert await codes(category="districts") == ["c"]
        bad = await client.get("/v1/cycles", params={"status": "closed"}, headers=auth())
        assert bad.status_code == 422


ADMIN = Principal(subject="admin:test", role="admin", jurisdictions=(HEIHE,))


async def advance(stack: Stack, cycle_id: str, *statuses: str) -> Cycle:
    """Move a cycle along with `transition`, as the scoring stages will, in one transaction
    per step."""
    cycle: Cycle | None = None
    for to_status in statuses:
        async with stack.apps["evaluation"].state.db.session() as session, session.begin():
            cycle = await cycle_service.writable_cycle(session, ADMIN, uuid.UUID(cycle_id))
            await cycle_service.transition(session, ADMIN, cycle, to_status)
    assert cycle is not None
    return cycle


class TestTransitions:
    async def _scoring_cycle(self, stack: Stack, **fields: Any) -> dict[str, Any]:
        await departments(stack)
        await received(stack, (await published_system(stack))["id"])
        client = stack.client("evaluation")
        cycle = await ready_cycle(stack, **fields)
        await factories.open_cycle(client, cycle["id"])
        await client.post(f"/v1/cycles/{cycle['id']}/close", headers=auth())
        return cycle

    async def test_the_stages_after_scoring_and_the_appeal_window(self, stack: Stack) -> None:
        cycle = await self._scoring_cycle(stack, appeal_days=7)
        preliminary = await advance(stack, cycle["id"], "preliminary", "preliminary")
        assert preliminary.status == "preliminary"
        assert preliminary.appeal_window_ends_at is not None
        assert preliminary.appeal_window_ends_at - preliminary.preliminary_at == timedelta(days=7)
        with pytest.raises(cycle_service.AppealWindowOpen):
            await advance(stack, cycle["id"], "finalized")
        shown = (
            await stack.client("evaluation").get(f"/v1/cycles/{cycle['id']}", headers=auth())
        ).json()
        assert shown["status"] == "preliminary" and shown["appeal_window_ends_at"]

    async def test_finalized_after_the_window_then_revised_again_and_again(
        self, stack: Stack
    ) -> None:
        cycle = await self._scoring_cycle(stack, appeal_days=0)
        revised = await advance(
            stack, cycle["id"], "preliminary", "finalized", "revised", "revised"
        )
        assert revised.status == "revised" and revised.finalized_at and revised.revised_at
        trail = await stack.client("evaluation").get(
            "/v1/audit", params={"resource_id": cycle["id"], "limit": 50}, headers=auth()
        )
        actions = [e["action"] for e in trail.json()["items"]]
        for action in ("cycle.preliminary", "cycle.finalized", "cycle.revised"):
            assert action in actions

    @pytest.mark.parametrize(
        ("path", "target"),
        [
            ((), "preliminary"),
            (("scoring",), "finalized"),
            (("scoring", "preliminary"), "scoring"),
            (("scoring", "preliminary"), "revised"),
            (("scoring", "preliminary", "finalized"), "preliminary"),
        ],
        ids=[
            "open-to-preliminary",
            "scoring-to-finalized",
            "preliminary-to-scoring",
            "preliminary-to-revised",
            "finalized-to-preliminary",
        ],
    )
    async def test_other_moves_are_invalid(
        self, stack: Stack, path: tuple[str, ...], target: str
    ) -> None:
        await departments(stack)
        await received(stack, (await published_system(stack))["id"])
        cycle = await ready_cycle(stack, appeal_days=0)
        await factories.open_cycle(stack.client("evaluation"), cycle["id"])
        if path:
            await advance(stack, cycle["id"], *path)
        with pytest.raises(cycle_service.InvalidTransition):
            await advance(stack, cycle["id"], target)

    def test_the_table_covers_every_status(self) -> None:
        from services.evaluation.models import CYCLE_STATUSES

        assert set(cycle_service.TRANSITIONS) == set(CYCLE_STATUSES)
        assert all(t <= set(CYCLE_STATUSES) for t in cycle_service.TRANSITIONS.values())
