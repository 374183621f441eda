"""Interoperability with the reference `standardwebhooks` package, both directions."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from services.common.events import signing
from services.common.events.inbox import batch_body
from services.common.events.subscriptions import inbox_secret
from services.feedback.models import COMMON as FEEDBACK_TABLES
from services.feedback.models import PublishedItem
from tests.harness import Stack

SECRET = signing.generate_secret()


def publication_event(publication_id: uuid.UUID | None = None) -> bytes:
    return json.dumps(
        {
            "type": "publication.published",
            "timestamp": "2026-11-25T10:00:00Z",
            "data": {
                "version": 1,
                "publication_id": str(publication_id or uuid.uuid4()),
                "jurisdiction_code": "231100",
                "kind": "results",
                "title": "2026 年度结果",
                "status": "published",
                "published_at": "2026-11-25T10:00:00Z",
            },
        },
        ensure_ascii=False,
    ).encode()


class TestSignatures:
    def test_ours_verify_with_the_reference_package(self) -> None:
        body = publication_event()
        headers = signing.headers([SECRET], "msg_1", body)
        assert Webhook(SECRET).verify(body, headers)["type"] == "publication.published"

    def test_the_reference_packages_verify_with_ours(self) -> None:
        body = publication_event()
        now = datetime.now(UTC)
        headers = {
            "webhook-id": "msg_2",
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(SECRET).sign("msg_2", now, body.decode()),
        }
        assert signing.verify([SECRET], headers, body) == "msg_2"

    def test_during_rotation_either_secret_verifies(self) -> None:
        old, new = signing.generate_secret(), signing.generate_secret()
        body = publication_event()
        headers = signing.headers([new, old], "msg_3", body)
        assert len(headers["webhook-signature"].split()) == 2
        for secret in (old, new):
            Webhook(secret).verify(body, headers)
            assert signing.verify([secret], headers, body) == "msg_3"

    @pytest.mark.parametrize("tamper", ["body", "secret", "stale", "future", "no-signature"])
    def test_tampering_is_detected(self, tamper: str) -> None:
        body = publication_event()
        ts = (
            int(time.time())
            - (400 if tamper == "stale" else 0)
            + (400 if tamper == "future" else 0)
        )
        headers = signing.headers([SECRET], "msg_4", body, timestamp=ts)
        if tamper == "body":
            body = body.replace(b"2026", b"2027")
        if tamper == "no-signature":
            del headers["webhook-signature"]
        secrets = [signing.generate_secret()] if tamper == "secret" else [SECRET]
        with pytest.raises(signing.InvalidSignature):
            signing.verify(secrets, headers, body)


async def effects(stack: Stack) -> tuple[int, int]:
    async with stack.apps["feedback"].state.db.session() as session:
        inbox = await session.scalar(select(func.count()).select_from(FEEDBACK_TABLES.inbox))
        items = await session.scalar(select(func.count()).select_from(PublishedItem))
    return inbox, items


class TestInbox:
    async def test_a_request_signed_by_the_reference_package_is_handled(self, stack: Stack) -> None:
        secret = inbox_secret(stack.apps["feedback"].state.settings, "feedback")
        body = publication_event()
        now = datetime.now(UTC)
        headers = {
            "webhook-id": "msg_ref",
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign("msg_ref", now, body.decode()),
            "content-type": "application/json",
        }
        response = await stack.client("feedback").post(
            "/v1/webhooks/inbox", content=body, headers=headers
        )
        assert response.status_code == 200
        assert response.json() == {"status": "processed"}
        assert await effects(stack) == (1, 1)

    @pytest.mark.parametrize("tamper", ["body", "secret", "stale"])
    async def test_a_bad_request_is_401_with_no_effect(self, stack: Stack, tamper: str) -> None:
        secret = inbox_secret(stack.apps["feedback"].state.settings, "feedback")
        if tamper == "secret":
            secret = signing.generate_secret()
        body = publication_event()
        ts = int(time.time()) - (301 if tamper == "stale" else 0)
        headers = signing.headers([secret], "msg_bad", body, timestamp=ts)
        if tamper == "body":
            body = body.replace("结果".encode(), "计划".encode())
        response = await stack.client("feedback").post(
            "/v1/webhooks/inbox", content=body, headers=headers
        )
        assert response.status_code == 401
        assert response.json()["code"] == "invalid-signature"
        assert await effects(stack) == (0, 0)

    async def test_the_same_webhook_twice_has_one_effect(self, stack: Stack) -> None:
        secret = inbox_secret(stack.apps["feedback"].state.settings, "feedback")
        body = publication_event()
        for _ in range(2):
            headers = signing.headers([secret], "msg_twice", body)
            response = await stack.client("feedback").post(
                "/v1/webhooks/inbox", content=body, headers=headers
            )
            assert response.status_code == 200
        assert response.json() == {"status": "duplicate"}
        assert await effects(stack) == (1, 1)

    async def test_a_batch_is_handled_event_by_event_and_deduplicated_per_event(
        self, stack: Stack
    ) -> None:
        secret = inbox_secret(stack.apps["feedback"].state.settings, "feedback")
        single = publication_event()
        items = [("msg_a", single.decode()), ("msg_b", publication_event().decode())]
        body = batch_body(items, "2026-11-25T10:00:00Z").encode()
        now = datetime.now(UTC)
        headers = {
            "webhook-id": "batch_1",
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign("batch_1", now, body.decode()),
        }
        # msg_a arrived alone first (say, a retry whose answer was lost).
        alone = await stack.client("feedback").post(
            "/v1/webhooks/inbox", content=single, headers=signing.headers([secret], "msg_a", single)
        )
        assert alone.json() == {"status": "processed"}

        response = await stack.client("feedback").post(
            "/v1/webhooks/inbox", content=body, headers=headers
        )
        assert response.status_code == 200
        assert response.json() == {
            "status": "processed",
            "processed": 1,
            "duplicate": 1,
            "ignored": 0,
        }
        assert await effects(stack) == (2, 2)

    @pytest.mark.parametrize(
        "data",
        [
            {"version": 1},
            {"version": 1, "events": [{"id": "msg_x"}]},
            {"version": 1, "events": [{"id": "msg_x", "event": {"type": "t", "data": {}}}] * 2},
        ],
        ids=["no-events", "no-event-body", "repeated-id"],
    )
    async def test_a_malformed_batch_is_422_with_no_effect(
        self, stack: Stack, data: dict[str, object]
    ) -> None:
        secret = inbox_secret(stack.apps["feedback"].state.settings, "feedback")
        good = {"id": "msg_good", "event": json.loads(publication_event())}
        if "events" in data:
            data = {**data, "events": [good, *data["events"]]}  # type: ignore[list-item]
        body = json.dumps({"type": "events.batch", "timestamp": "", "data": data}).encode()
        response = await stack.client("feedback").post(
            "/v1/webhooks/inbox", content=body, headers=signing.headers([secret], "batch_2", body)
        )
        assert response.status_code == 422
        assert response.json()["code"] == "invalid-event"
        assert await effects(stack) == (0, 0)
