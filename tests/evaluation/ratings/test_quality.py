"""Suspicious responses: flagged by criteria, excluded or held by the cycle's policy, audited."""

from __future__ import annotations

from typing import Any

from tests.evaluation.ratings.conftest import CitizenCycle, app_headers, open_citizen_cycle
from tests.harness import Stack, auth

STRAIGHT = {"Q1": 4, "Q2": 4, "Q3": 4, "Q4": 4, "Q5": 4}


async def _send(cycle: CitizenCycle, ratings: list[dict[str, Any]]) -> None:
    response = await cycle.client.post(
        "/v1/ratings/batch", json={"ratings": ratings}, headers=app_headers()
    )
    assert response.json()["accepted"] == len(ratings), response.text


def _from_one_device(cycle: CitizenCycle, count: int, **fields: Any) -> list[dict[str, Any]]:
    return [
        cycle.rating(
            respondent={"kind": "phone", "token": f"phone-token-{n:04d}"},
            device_token="one-busy-device-token",
            **fields,
        )
        for n in range(count)
    ]


async def _check(cycle: CitizenCycle) -> dict[str, Any]:
    response = await cycle.client.post(f"/v1/cycles/{cycle.cycle_id}/ratings/check", headers=auth())
    assert response.status_code == 200, response.text
    return response.json()


class TestExcludePolicy:
    async def test_a_straight_lining_burst_from_one_device_is_excluded_and_counted(
        self, stack: Stack
    ) -> None:
        cycle = await open_citizen_cycle(
            stack, rules={"quality_policy": "exclude", "burst_max_per_device": 2}
        )
        burst = _from_one_device(cycle, 3, answers=STRAIGHT)
        lone_straight_liner = cycle.rating(answers=STRAIGHT)
        await _send(cycle, [*burst, lone_straight_liner, cycle.rating()])

        check = await _check(cycle)
        assert (check["flagged"], check["excluded"], check["held"]) == (4, 3, 0)

        summary = (
            await cycle.client.get(f"/v1/cycles/{cycle.cycle_id}/ratings/summary", headers=auth())
        ).json()
        assert (summary["responses"], summary["excluded"]) == (5, 3)
        assert summary["departments"][0]["counted"] == 2

        excluded = (
            await cycle.client.get(
                f"/v1/cycles/{cycle.cycle_id}/ratings",
                params={"decision": "excluded"},
                headers=auth(),
            )
        ).json()["items"]
        assert sorted(r["id"] for r in excluded) == sorted(r["response_id"] for r in burst)
        assert all(sorted(r["criteria"]) == ["device_burst", "straight_line"] for r in excluded)

        audit = (
            await cycle.client.get(
                "/v1/audit", params={"action": "cycle.ratings_checked"}, headers=auth()
            )
        ).json()["items"]
        assert audit and audit[0]["after"]["excluded"] == 3
        assert sorted(audit[0]["after"]["excluded_ids"]) == sorted(r["response_id"] for r in burst)

    async def test_one_criterion_alone_does_not_exclude(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack, rules={"burst_max_per_device": 2})
        await _send(cycle, _from_one_device(cycle, 3))
        check = await _check(cycle)
        assert (check["flagged"], check["excluded"]) == (3, 0)

    async def test_under_count_flags_change_nothing(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(
            stack, rules={"quality_policy": "count", "burst_max_per_device": 2}
        )
        await _send(cycle, _from_one_device(cycle, 3, answers=STRAIGHT))
        check = await _check(cycle)
        assert (check["flagged"], check["excluded"], check["held"]) == (3, 0, 0)


class TestReviewPolicy:
    async def test_held_responses_wait_for_a_decision_that_later_checks_keep(
        self, stack: Stack
    ) -> None:
        cycle = await open_citizen_cycle(
            stack, rules={"quality_policy": "review", "burst_max_per_device": 2}
        )
        burst = _from_one_device(cycle, 3, answers=STRAIGHT)
        await _send(cycle, burst)
        assert (await _check(cycle))["held"] == 3

        decided = await cycle.client.post(
            f"/v1/cycles/{cycle.cycle_id}/ratings/{burst[0]['response_id']}/decision",
            json={"decision": "counted", "reason": "回访核实为本人填写"},
            headers=auth(),
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["decision"] == "counted"

        again = await _check(cycle)
        assert (again["held"], again["decided_by_people"]) == (2, 1)
        summary = (
            await cycle.client.get(f"/v1/cycles/{cycle.cycle_id}/ratings/summary", headers=auth())
        ).json()
        assert (summary["held"], summary["departments"][0]["counted"]) == (2, 1)

    async def test_a_decision_on_an_unknown_response_is_404(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        response = await cycle.client.post(
            f"/v1/cycles/{cycle.cycle_id}/ratings/00000000-0000-4000-8000-000000000000/decision",
            json={"decision": "excluded", "reason": "x"},
            headers=auth(),
        )
        assert response.status_code == 404


class TestSpeeders:
    async def test_speeders_count_only_once_enough_responses_report_a_time(
        self, stack: Stack
    ) -> None:
        cycle = await open_citizen_cycle(
            stack, rules={"speeder_min_responses": 10, "speeder_ratio": 0.4}
        )
        await _send(cycle, [cycle.rating(duration_seconds=100.0) for _ in range(8)])
        await _send(cycle, [cycle.rating(duration_seconds=10.0, answers=STRAIGHT)])
        assert (await _check(cycle))["speeder_below_seconds"] is None  # 9 < 10 responses
        await _send(cycle, [cycle.rating(duration_seconds=100.0)])
        check = await _check(cycle)
        assert check["median_duration_seconds"] == 100.0
        assert check["speeder_below_seconds"] == 40.0
        assert check["excluded"] == 1  # the fast straight-liner


class TestClosing:
    async def test_closing_the_cycle_runs_the_checks(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(
            stack, rules={"quality_policy": "exclude", "burst_max_per_device": 2}
        )
        await _send(cycle, _from_one_device(cycle, 3, answers=STRAIGHT))
        closed = await cycle.client.post(f"/v1/cycles/{cycle.cycle_id}/close", headers=auth())
        assert closed.status_code == 200, closed.text
        summary = (
            await cycle.client.get(f"/v1/cycles/{cycle.cycle_id}/ratings/summary", headers=auth())
        ).json()
        assert (summary["responses"], summary["excluded"]) == (3, 3)


class TestNetworkBursts:
    async def test_many_devices_on_one_network_are_a_burst_and_other_networks_are_not(
        self, stack: Stack
    ) -> None:
        cycle = await open_citizen_cycle(stack, rules={"burst_max_per_network": 2})
        for address in ("203.0.113.7", "203.0.113.9", "203.0.113.200", "198.51.100.4"):
            response = await cycle.client.post(
                "/v1/ratings",
                json=cycle.rating(),
                headers={**app_headers(), "x-forwarded-for": f"{address}, 10.0.0.1"},
            )
            assert response.status_code == 201, response.text
        check = await _check(cycle)
        assert check["flagged"] == 3  # the three of 203.0.113.0/24
        flagged = (
            await cycle.client.get(f"/v1/cycles/{cycle.cycle_id}/ratings", headers=auth())
        ).json()["items"]
        assert sorted(len(r["criteria"]) for r in flagged) == [0, 1, 1, 1]
