from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select, update

from services.common.db import utcnow
from services.common.routing import purge_expired_idempotency_keys
from services.feedback.models import CitizenFeedback, IdempotencyKey
from tests.harness import HEIHE, Stack

BODY = {"jurisdiction_code": HEIHE, "kind": "complaint", "text": "路灯坏了"}


async def count_feedback(stack: Stack) -> int:
    async with stack.apps["feedback"].state.db.session() as session:
        return await session.scalar(select(func.count()).select_from(CitizenFeedback))


class TestIdempotencyKey:
    async def test_a_retry_replays_the_first_response_and_files_once(self, stack: Stack) -> None:
        client = stack.client("feedback")
        first = await client.post(
            "/v1/citizen-feedback", json=BODY, headers={"idempotency-key": "k-1"}
        )
        again = await client.post(
            "/v1/citizen-feedback", json=BODY, headers={"idempotency-key": "k-1"}
        )
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert await count_feedback(stack) == 1

    async def test_the_same_key_with_another_body_is_422(self, stack: Stack) -> None:
        client = stack.client("feedback")
        await client.post("/v1/citizen-feedback", json=BODY, headers={"idempotency-key": "k-2"})
        other = await client.post(
            "/v1/citizen-feedback",
            json={**BODY, "text": "别的"},
            headers={"idempotency-key": "k-2"},
        )
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency-key-reused"
        assert await count_feedback(stack) == 1

    async def test_concurrent_retries_with_one_key_file_once_and_answer_alike(
        self, stack: Stack
    ) -> None:
        client = stack.client("feedback")
        answers = await asyncio.gather(
            *(
                client.post("/v1/citizen-feedback", json=BODY, headers={"idempotency-key": "k-3"})
                for _ in range(5)
            )
        )
        assert [a.status_code for a in answers] == [201] * 5
        assert len({a.json()["id"] for a in answers}) == 1
        assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 4
        assert await count_feedback(stack) == 1

    async def test_a_key_past_its_day_is_purged_and_free_again(self, stack: Stack) -> None:
        client = stack.client("feedback")
        first = await client.post(
            "/v1/citizen-feedback", json=BODY, headers={"idempotency-key": "k-5"}
        )
        db = stack.apps["feedback"].state.db
        async with db.session() as session:
            await session.execute(
                update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=25))
            )
            await session.commit()
        assert await purge_expired_idempotency_keys(db, IdempotencyKey) == 1
        again = await client.post(
            "/v1/citizen-feedback", json=BODY, headers={"idempotency-key": "k-5"}
        )
        assert again.status_code == 201
        assert "idempotent-replayed" not in again.headers
        assert again.json()["id"] != first.json()["id"]
        assert await count_feedback(stack) == 2

    async def test_a_rejected_request_frees_its_key(self, stack: Stack) -> None:
        client = stack.client("feedback")
        bad = await client.post(
            "/v1/citizen-feedback",
            json={**BODY, "kind": "shouting"},
            headers={"idempotency-key": "k-4"},
        )
        assert bad.status_code == 422
        good = await client.post(
            "/v1/citizen-feedback",
            json={**BODY, "text": "修好了吗"},
            headers={"idempotency-key": "k-4"},
        )
        assert good.status_code == 201
        assert await count_feedback(stack) == 1

    async def test_without_a_key_each_post_files_anew(self, stack: Stack) -> None:
        client = stack.client("feedback")
        await client.post("/v1/citizen-feedback", json=BODY)
        await client.post("/v1/citizen-feedback", json=BODY)
        assert await count_feedback(stack) == 2

    async def test_a_key_out_of_bounds_is_a_422_naming_the_header_and_files_nothing(
        self, stack: Stack
    ) -> None:
        client = stack.client("feedback")
        for key, error in (("k" * 201, "string_too_long"), ("", "string_too_short")):
            answer = await client.post(
                "/v1/citizen-feedback", json=BODY, headers={"idempotency-key": key}
            )
            assert answer.status_code == 422
            assert answer.headers["content-type"] == "application/problem+json"
            [problem] = answer.json()["errors"]
            assert problem["type"] == error
            assert problem["location"] == ["header", "idempotency-key"]
        assert await count_feedback(stack) == 0

    async def test_the_openapi_shows_the_header_once(self, stack: Stack) -> None:
        operation = (await stack.client("feedback").get("/openapi.json")).json()["paths"][
            "/v1/citizen-feedback"
        ]["post"]
        headers = [p for p in operation["parameters"] if p["in"] == "header"]
        assert [h["name"] for h in headers] == ["idempotency-key"]
        assert headers[0]["schema"]["anyOf"][0]["maxLength"] == 200
