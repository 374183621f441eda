from __future__ import annotations

import json

from sqlalchemy import func, select

from services.common.auth import ANONYMOUS
from services.common.routing import request_fingerprint
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

    async def test_a_key_still_in_flight_is_409(self, stack: Stack) -> None:
        body = json.dumps(BODY).encode()
        # A first request with this key and body has claimed it and not finished yet.
        async with stack.apps["feedback"].state.db.session() as session:
            session.add(
                IdempotencyKey(
                    owner=f"public:{ANONYMOUS.subject}",
                    key="k-3",
                    state="in_flight",
                    fingerprint=request_fingerprint("POST", "/v1/citizen-feedback", "", body),
                )
            )
            await session.commit()
        response = await stack.client("feedback").post(
            "/v1/citizen-feedback",
            content=body,
            headers={"idempotency-key": "k-3", "content-type": "application/json"},
        )
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency-key-in-flight"
        assert response.headers["retry-after"] == "1"
        assert await count_feedback(stack) == 0

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
