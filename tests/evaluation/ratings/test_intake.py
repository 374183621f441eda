"""Citizen rating intake as a mobile app meets it: single and batch, resends, races, limits."""

from __future__ import annotations

import asyncio
import uuid

from services.evaluation.ratings.schemas import BatchResult, RatingResult
from tests.evaluation.ratings.conftest import (
    CitizenCycle,
    app_headers,
    open_citizen_cycle,
    publish_questionnaire,
)
from tests.harness import Stack, auth


async def _summary(cycle: CitizenCycle) -> dict:
    response = await cycle.client.get(
        f"/v1/cycles/{cycle.cycle_id}/ratings/summary", headers=auth()
    )
    assert response.status_code == 200, response.text
    return response.json()


class TestOneResponse:
    async def test_a_response_is_accepted_and_counted(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        rating = cycle.rating()
        response = await cycle.client.post("/v1/ratings", json=rating, headers=app_headers())
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["status"] == "accepted" and body["response_id"] == rating["response_id"]
        assert body["received_at"]
        summary = await _summary(cycle)
        assert summary["responses"] == 1
        assert summary["departments"][0]["department_id"] == cycle.departments[0]

    async def test_an_identical_resend_is_a_harmless_duplicate(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        rating = cycle.rating()
        first = await cycle.client.post("/v1/ratings", json=rating, headers=app_headers())
        again = await cycle.client.post("/v1/ratings", json=rating, headers=app_headers())
        assert again.status_code == 200
        assert again.json()["status"] == "duplicate"
        assert again.json()["received_at"] == first.json()["received_at"]
        assert (await _summary(cycle))["responses"] == 1

    async def test_the_same_response_id_with_other_answers_is_a_conflict(
        self, stack: Stack
    ) -> None:
        cycle = await open_citizen_cycle(stack)
        rating = cycle.rating()
        await cycle.client.post("/v1/ratings", json=rating, headers=app_headers())
        changed = {**rating, "answers": {**rating["answers"], "Q1": 1}}
        response = await cycle.client.post("/v1/ratings", json=changed, headers=app_headers())
        assert response.status_code == 409
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "response-id-conflict"
        assert (await _summary(cycle))["responses"] == 1

    async def test_concurrent_copies_count_once(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        rating = cycle.rating()
        responses = await asyncio.gather(
            *(
                cycle.client.post("/v1/ratings", json=rating, headers=app_headers())
                for _ in range(8)
            )
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [200] * 7 + [201], [r.text for r in responses]
        assert (await _summary(cycle))["responses"] == 1

    async def test_a_respondent_rates_a_department_once(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        respondent = {"kind": "phone", "token": "verified-phone-token-13800000000"}
        first = await cycle.client.post(
            "/v1/ratings", json=cycle.rating(respondent=respondent), headers=app_headers()
        )
        assert first.status_code == 201
        again = await cycle.client.post(
            "/v1/ratings", json=cycle.rating(respondent=respondent), headers=app_headers()
        )
        assert again.status_code == 409
        assert again.json()["code"] == "already-rated"
        other_department = await cycle.client.post(
            "/v1/ratings",
            json=cycle.rating(department=1, respondent=respondent),
            headers=app_headers(),
        )
        assert other_department.status_code == 201

    async def test_only_citizen_apps_submit(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        for headers, status in (({}, 401), (auth("portal"), 403), (auth("admin"), 403)):
            response = await cycle.client.post("/v1/ratings", json=cycle.rating(), headers=headers)
            assert response.status_code == status

    async def test_another_jurisdictions_app_cannot_find_the_cycle(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        response = await cycle.client.post(
            "/v1/ratings", json=cycle.rating(), headers=app_headers(jurisdictions=("230100",))
        )
        assert response.status_code == 404
        assert response.json()["code"] == "unknown-cycle"


class TestWhatTheQuestionnaireAllows:
    async def test_an_unknown_questionnaire_version_is_422(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        response = await cycle.client.post(
            "/v1/ratings",
            json=cycle.rating(questionnaire_id=str(uuid.uuid4())),
            headers=app_headers(),
        )
        assert response.status_code == 422
        assert response.json()["code"] == "unknown-questionnaire-version"

    async def test_a_version_of_another_questionnaire_is_422(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        other = await publish_questionnaire(cycle.client, code="enterprise-2026")
        response = await cycle.client.post(
            "/v1/ratings",
            json=cycle.rating(questionnaire_id=other["id"]),
            headers=app_headers(),
        )
        assert response.status_code == 422
        assert response.json()["code"] == "unknown-questionnaire-version"

    async def test_a_closed_questionnaire_version_is_409(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        closed = await cycle.client.post(
            f"/v1/questionnaires/{cycle.questionnaire_id}/close", headers=auth()
        )
        assert closed.status_code == 200, closed.text
        response = await cycle.client.post(
            "/v1/ratings", json=cycle.rating(), headers=app_headers()
        )
        assert response.status_code == 409
        assert response.json()["code"] == "questionnaire-closed"

    async def test_answers_off_the_scale_or_unknown_items_are_422(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        for answers in ({"Q1": 6}, {"Q1": 0}, {"Q9": 3}):
            response = await cycle.client.post(
                "/v1/ratings", json=cycle.rating(answers=answers), headers=app_headers()
            )
            assert response.status_code == 422, answers
            assert response.json()["code"] == "invalid-answers"

    async def test_a_comment_longer_than_the_questionnaire_allows_is_422(
        self, stack: Stack
    ) -> None:
        cycle = await open_citizen_cycle(stack)
        response = await cycle.client.post(
            "/v1/ratings", json=cycle.rating(comment="很" * 201), headers=app_headers()
        )
        assert response.status_code == 422
        assert response.json()["code"] == "comment-too-long"

    async def test_a_department_the_citizens_do_not_rate_is_422(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        response = await cycle.client.post(
            "/v1/ratings",
            json=cycle.rating(department_id=str(uuid.uuid4())),
            headers=app_headers(),
        )
        assert response.status_code == 422
        assert response.json()["code"] == "unknown-department"

    async def test_personal_data_in_the_comment_is_scrubbed_before_storage(
        self, stack: Stack
    ) -> None:
        cycle = await open_citizen_cycle(stack)
        comment = (
            "办事慢，请回电13812345678或发邮件 zhang.san@example.com，身份证11010519491231002X"
        )
        response = await cycle.client.post(
            "/v1/ratings", json=cycle.rating(comment=comment), headers=app_headers()
        )
        assert response.status_code == 201
        stored = await cycle.client.get(f"/v1/cycles/{cycle.cycle_id}/ratings", headers=auth())
        [rating] = stored.json()["items"]
        assert rating["comment"].startswith("办事慢")
        for secret in ("13812345678", "zhang.san@example.com", "11010519491231002X"):
            assert secret not in rating["comment"]
        assert "respondent_hash" not in rating and "device_hash" not in rating


class TestClosedCycles:
    async def test_a_closed_cycle_refuses_new_responses_but_recognises_resends(
        self, stack: Stack
    ) -> None:
        cycle = await open_citizen_cycle(stack)
        sent = cycle.rating()
        await cycle.client.post("/v1/ratings", json=sent, headers=app_headers())
        closed = await cycle.client.post(f"/v1/cycles/{cycle.cycle_id}/close", headers=auth())
        assert closed.status_code == 200, closed.text
        late = await cycle.client.post("/v1/ratings", json=cycle.rating(), headers=app_headers())
        assert late.status_code == 409
        assert late.json()["code"] == "cycle-not-open"
        resend = await cycle.client.post("/v1/ratings", json=sent, headers=app_headers())
        assert resend.status_code == 200 and resend.json()["status"] == "duplicate"


class TestBatch:
    async def test_each_item_is_answered_on_its_own(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        kept = cycle.rating()
        await cycle.client.post("/v1/ratings", json=kept, headers=app_headers())
        fresh = cycle.rating(department=1)
        items = [
            fresh,
            kept,  # sent before: duplicate
            {**kept, "answers": {"Q1": 2}},  # same id, other content: conflict
            cycle.rating(answers={"Q1": 9}),  # off the scale
            {"response_id": "not-a-uuid"},  # not a response at all
            fresh,  # twice in one batch
        ]
        response = await cycle.client.post(
            "/v1/ratings/batch", json={"ratings": items}, headers=app_headers()
        )
        assert response.status_code == 200, response.text
        body = response.json()
        outcomes = [(r["index"], r["status"], r["code"]) for r in body["results"]]
        assert outcomes == [
            (0, "accepted", None),
            (1, "duplicate", None),
            (2, "conflict", "response-id-conflict"),
            (3, "rejected", "invalid-answers"),
            (4, "rejected", "invalid-rating"),
            (5, "duplicate", None),
        ]
        assert (body["accepted"], body["duplicate"], body["conflict"], body["rejected"]) == (
            1,
            2,
            1,
            2,
        )
        assert (await _summary(cycle))["responses"] == 2
        # Byte for byte what the documented response model writes.
        written = BatchResult.model_validate_json(response.content).model_dump_json()
        assert response.content == written.encode()

    async def test_a_single_answer_is_what_its_response_model_writes(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        rating = cycle.rating()
        for status in (201, 200):  # accepted, then a resend: duplicate
            response = await cycle.client.post("/v1/ratings", json=rating, headers=app_headers())
            assert response.status_code == status
            written = RatingResult.model_validate_json(response.content).model_dump_json()
            assert response.content == written.encode()

    async def test_more_than_500_items_is_422(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        items = [cycle.rating() for _ in range(501)]
        response = await cycle.client.post(
            "/v1/ratings/batch", json={"ratings": items}, headers=app_headers()
        )
        assert response.status_code == 422

    async def test_a_replayed_idempotency_key_answers_the_same(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        batch = {"ratings": [cycle.rating(), cycle.rating(department=1)]}
        headers = {**app_headers(), "Idempotency-Key": "upload-7f3a"}
        first = await cycle.client.post("/v1/ratings/batch", json=batch, headers=headers)
        again = await cycle.client.post("/v1/ratings/batch", json=batch, headers=headers)
        assert first.status_code == again.status_code == 200
        assert again.json() == first.json()
        assert [r["status"] for r in again.json()["results"]] == ["accepted", "accepted"]
        other = await cycle.client.post(
            "/v1/ratings/batch", json={"ratings": [cycle.rating()]}, headers=headers
        )
        assert other.status_code == 422


class TestRateLimits:
    async def test_a_device_over_its_limit_gets_429_with_retry_after(self, stack: Stack) -> None:
        stack.apps["evaluation"].state.settings.rating_limit_per_device = "1/hour"
        cycle = await open_citizen_cycle(stack)
        device = {"kind": "device", "token": "device-token-abcdef"}
        first = await cycle.client.post(
            "/v1/ratings", json=cycle.rating(respondent=device), headers=app_headers()
        )
        assert first.status_code == 201
        second = await cycle.client.post(
            "/v1/ratings", json=cycle.rating(department=1, respondent=device), headers=app_headers()
        )
        assert second.status_code == 429
        assert int(second.headers["retry-after"]) >= 1
        assert second.json()["code"] == "rate-limited"

    async def test_an_app_over_its_limit_gets_429_for_the_whole_batch(self, stack: Stack) -> None:
        stack.apps["evaluation"].state.settings.rating_limit_per_client = "3/minute"
        cycle = await open_citizen_cycle(stack)
        batch = {"ratings": [cycle.rating() for _ in range(4)]}
        response = await cycle.client.post("/v1/ratings/batch", json=batch, headers=app_headers())
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        assert (await _summary(cycle))["responses"] == 0
        # Another app has its own allowance.
        other = await cycle.client.post(
            "/v1/ratings/batch",
            json={"ratings": batch["ratings"][:3]},
            headers=app_headers(subject="app:other"),
        )
        assert other.json()["accepted"] == 3


class TestGroupCommit:
    async def test_responses_arriving_together_are_written_together(self, stack: Stack) -> None:
        cycle = await open_citizen_cycle(stack)
        first = await cycle.client.post("/v1/ratings", json=cycle.rating(), headers=app_headers())
        assert first.status_code == 201
        ratings = [cycle.rating(department=n % 2) for n in range(30)]
        copies = ratings[:5]  # five of them sent twice at the same time
        answers = await asyncio.gather(
            *(
                cycle.client.post("/v1/ratings", json=rating, headers=app_headers())
                for rating in [*ratings, *copies]
            )
        )
        statuses = [a.status_code for a in answers]
        assert statuses.count(201) == 30 and statuses.count(200) == 5, statuses
        assert {a.json()["response_id"] for a in answers} == {r["response_id"] for r in ratings}
        assert (await _summary(cycle))["responses"] == 31
        group = stack.apps["evaluation"].state.rating_intake.group
        assert group.requests >= 35 and group.transactions < group.requests


class TestRespondentHashes:
    def test_a_token_is_stored_as_its_hmac_sha256_under_the_service_key(self) -> None:
        # Stored hashes are how a respondent is known again: the function must never change.
        import hashlib
        import hmac

        from services.common.ratelimit import RateLimiter
        from services.evaluation.ratings.service import IntakeContext

        ctx = IntakeContext(
            key=b"the-service-key", limiter=RateLimiter(None), client_limit="", device_limit=""
        )
        for purpose, token in (("respondent-device", "device-1"), ("device", "设备-2")):
            expected = hmac.new(
                b"the-service-key", f"{purpose}:{token}".encode(), hashlib.sha256
            ).digest()
            assert ctx.keyed_hash(purpose, token) == expected
            assert ctx.keyed_hash(purpose, token) == expected  # the keyed state is not used up
