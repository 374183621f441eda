"""Third-party subscriptions: registration, signed delivery, rotation, health, retries."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from services.common.db import utcnow
from services.common.events.dispatcher import Dispatcher
from services.common.events.outbox import emit
from services.disclosure.models import COMMON as DISCLOSURE
from tests import factories
from tests.common.events.receivers import Portal, eventually
from tests.harness import HARBIN, HEIHE, Stack, auth, running_stack

PORTAL = "https://portal.test"


async def subscribe(
    stack: Stack,
    portal: Portal,
    *,
    event_types: list[str] | None = None,
    jurisdiction: str = HEIHE,
    role: str = "admin",
    service: str = "disclosure",
) -> dict[str, Any]:
    stack.router.mount(PORTAL, portal)
    response = await stack.client(service).post(
        "/v1/webhooks/subscriptions",
        json={
            "jurisdiction_code": jurisdiction,
            "url": f"{PORTAL}/hooks",
            "event_types": event_types or ["*.published"],
            "description": "city portal",
        },
        headers=auth(role, jurisdictions=(jurisdiction,), subject="portal-owner"),
    )
    assert response.status_code == 201, response.text
    return response.json()


class TestRegistration:
    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1/hooks",
            "http://10.1.2.3/hooks",
            "http://[::1]/hooks",
            "http://169.254.169.254/latest/meta-data",
            "http://localhost:8080/hooks",
            "ftp://portal.example/hooks",
            "https://user:pass@portal.test/hooks",
            "not a url",
        ],
    )
    async def test_unsafe_urls_are_refused(self, stack: Stack, url: str) -> None:
        response = await stack.client("disclosure").post(
            "/v1/webhooks/subscriptions",
            json={"jurisdiction_code": HEIHE, "url": url, "event_types": ["*"]},
            headers=auth(),
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "invalid-webhook-url"

    async def test_the_secret_is_shown_once(self, stack: Stack) -> None:
        created = await subscribe(stack, Portal())
        assert created["secret"].startswith("whsec_")
        fetched = await stack.client("disclosure").get(
            f"/v1/webhooks/subscriptions/{created['id']}", headers=auth()
        )
        listed = await stack.client("disclosure").get("/v1/webhooks/subscriptions", headers=auth())
        assert "secret" not in fetched.json()
        assert created["secret"] not in listed.text

    async def test_only_admins_and_portals_manage_subscriptions(self, stack: Stack) -> None:
        for role in ("department", "evaluator", "citizen_app"):
            response = await stack.client("disclosure").get(
                "/v1/webhooks/subscriptions", headers=auth(role)
            )
            assert response.status_code == 403

    async def test_other_jurisdictions_and_other_portals_do_not_see_it(self, stack: Stack) -> None:
        created = await subscribe(stack, Portal(), role="portal")
        path = f"/v1/webhooks/subscriptions/{created['id']}"
        assert (
            await stack.client("disclosure").get(path, headers=auth(jurisdictions=(HARBIN,)))
        ).status_code == 404
        assert (
            await stack.client("disclosure").get(
                path, headers=auth("portal", subject="another-portal")
            )
        ).status_code == 404
        assert (
            await stack.client("disclosure").get(
                path, headers=auth("portal", subject="portal-owner")
            )
        ).status_code == 200
        assert (
            await stack.client("disclosure").patch(
                path, json={"description": "x"}, headers=auth(jurisdictions=(HARBIN,))
            )
        ).status_code == 404

    async def test_sibling_subscriptions_come_from_settings(self, stack: Stack) -> None:
        listed = await stack.client("disclosure").get("/v1/webhooks/subscriptions", headers=auth())
        [sibling] = [s for s in listed.json()["items"] if s["kind"] == "sibling"]
        assert sibling["name"] == "feedback"
        assert sibling["url"] == "http://feedback.test/v1/webhooks/inbox"
        response = await stack.client("disclosure").delete(
            f"/v1/webhooks/subscriptions/{sibling['id']}", headers=auth()
        )
        assert response.status_code == 409
        assert response.json()["code"] == "sibling-subscription"


class TestDeliveryToPortal:
    async def test_published_events_arrive_signed_with_the_secret_shown_once(
        self, stack: Stack
    ) -> None:
        portal = Portal()
        created = await subscribe(stack, portal)
        cycle = await factories.create_cycle(stack.client("evaluation"))
        await stack.client("evaluation").patch(
            f"/v1/cycles/{cycle['id']}", json={"status": "open"}, headers=auth()
        )
        await factories.create_publication(
            stack.client("disclosure"), jurisdiction=HARBIN, publish=True
        )
        mine = await factories.create_publication(stack.client("disclosure"), publish=True)
        await eventually(lambda: asyncio.sleep(0, portal.accepted()))
        [delivery] = portal.received
        event = Webhook(created["secret"]).verify(delivery["body"], delivery["headers"])
        assert event["type"] == "publication.published"
        assert event["data"]["publication_id"] == mine["id"]
        assert event["data"]["version"] == 1
        assert delivery["headers"]["webhook-id"].startswith("msg_")

    async def test_a_test_ping_reaches_only_that_subscription(self, stack: Stack) -> None:
        portal = Portal()
        created = await subscribe(stack, portal, event_types=["results.*"])
        ping = await stack.client("disclosure").post(
            f"/v1/webhooks/subscriptions/{created['id']}/test", headers=auth()
        )
        assert ping.status_code == 202
        await eventually(lambda: asyncio.sleep(0, portal.accepted()))
        assert portal.received[0]["event"]["type"] == "webhook.test"

    async def test_rotation_signs_with_both_secrets_during_the_grace_period(
        self, stack: Stack
    ) -> None:
        portal = Portal()
        created = await subscribe(stack, portal)
        rotated = await stack.client("disclosure").post(
            f"/v1/webhooks/subscriptions/{created['id']}/rotate-secret", headers=auth()
        )
        assert rotated.json()["previous_valid_until"]
        await factories.create_publication(stack.client("disclosure"), publish=True)
        await eventually(lambda: asyncio.sleep(0, portal.accepted()))
        delivery = portal.received[0]
        for secret in (created["secret"], rotated.json()["secret"]):
            Webhook(secret).verify(delivery["body"], delivery["headers"])


class TestRetries:
    async def test_retry_after_is_honoured(self, stack: Stack) -> None:
        portal = Portal(statuses=[429], headers={"retry-after": "30"})
        await subscribe(stack, portal)
        await factories.create_publication(stack.client("disclosure"), publish=True)
        await eventually(lambda: asyncio.sleep(0, portal.received))
        d = DISCLOSURE.deliveries

        async def rescheduled() -> Any:
            async with stack.apps["disclosure"].state.db.session() as session:
                return await session.scalar(
                    select(d).where(d.status == "pending", d.last_status_code == 429)
                )

        delivery = await eventually(rescheduled)
        assert delivery.next_attempt_at > utcnow() + timedelta(seconds=25)

    async def test_redirects_are_failures_and_gone_disables_the_subscription(
        self, stack: Stack
    ) -> None:
        portal = Portal(statuses=[302, 410])
        created = await subscribe(stack, portal)
        await factories.create_publication(stack.client("disclosure"), publish=True)

        async def disabled() -> bool:
            response = await stack.client("disclosure").get(
                f"/v1/webhooks/subscriptions/{created['id']}", headers=auth()
            )
            return response.json()["status"] == "disabled"

        await eventually(disabled)
        assert [r["status"] for r in portal.received] == [302, 410]
        health = await stack.client("disclosure").get(
            f"/v1/webhooks/subscriptions/{created['id']}/health", headers=auth()
        )
        assert health.json()["consecutive_failures"] == 2
        assert health.json()["dead"] == 1
        async with stack.apps["disclosure"].state.db.session() as session:
            types = (await session.scalars(select(DISCLOSURE.outbox.type))).all()
        assert "webhook_subscription.disabled" in types

        # Re-enabled and replayed, the dead delivery goes through.
        await stack.client("disclosure").patch(
            f"/v1/webhooks/subscriptions/{created['id']}", json={"status": "active"}, headers=auth()
        )
        replay = await stack.client("disclosure").post(
            f"/v1/webhooks/subscriptions/{created['id']}/replay", headers=auth()
        )
        assert replay.json() == {"replayed": 1}

        async def recovered() -> dict[str, Any] | None:
            health = await stack.client("disclosure").get(
                f"/v1/webhooks/subscriptions/{created['id']}/health", headers=auth()
            )
            return health.json() if health.json()["succeeded_24h"] else None

        health = await eventually(recovered)  # the attempt is recorded after the answer
        assert health["consecutive_failures"] == 0
        assert health["success_rate_24h"] == pytest.approx(1 / 3)


class TestOrdering:
    async def test_one_aggregate_in_order_while_others_are_not_held_up(self, stack: Stack) -> None:
        # The first event of aggregate A fails twice; B's events must not wait for it,
        # and A's second event must not overtake its first.
        failures = {("A", 1): 2}

        def decide(event: dict[str, Any]) -> int:
            key = (event["data"]["aggregate"], event["data"]["n"])
            if failures.get(key, 0) > 0:
                failures[key] -= 1
                return 500
            return 200

        portal = Portal(decide=decide)
        created = await subscribe(stack, portal, event_types=["test.*"])
        dispatcher = stack.apps["disclosure"].state.dispatcher
        await dispatcher.stop()
        async with stack.apps["disclosure"].state.db.session() as session:
            for aggregate, n in [("A", 1), ("A", 2), ("B", 1), ("B", 2)]:
                await emit(
                    session,
                    "test.happened",
                    aggregate=aggregate,
                    jurisdiction_code=HEIHE,
                    data={"aggregate": aggregate, "n": n},
                )
            await session.commit()
        dispatcher.start()
        await eventually(lambda: asyncio.sleep(0, len(portal.accepted()) == 4))
        received = [
            (r["event"]["data"]["aggregate"], r["event"]["data"]["n"], r["status"])
            for r in portal.received
        ]
        assert [x for x in received if x[0] == "A"] == [
            ("A", 1, 500),
            ("A", 1, 500),
            ("A", 1, 200),
            ("A", 2, 200),
        ]
        assert received.index(("B", 2, 200)) < received.index(("A", 1, 200))
        assert created["id"]


class TestSharedOutbox:
    async def test_two_dispatchers_send_each_event_once_and_in_order(self, stack: Stack) -> None:
        portal = Portal(delay=0.005)  # rounds take a moment, so they overlap
        await subscribe(stack, portal, event_types=["test.*"])
        app = stack.apps["disclosure"]
        await app.state.dispatcher.stop()
        events = 300
        async with app.state.db.session() as session:
            for i in range(events):
                await emit(
                    session,
                    "test.happened",
                    aggregate=f"agg-{i % 10}",
                    jurisdiction_code=HEIHE,
                    data={"aggregate": i % 10, "n": i},
                )
            await session.commit()
        dispatchers = [
            Dispatcher(
                component="disclosure",
                db=app.state.db,
                tables=app.state.tables,
                http=app.state.http,
                # Small claims: one dispatcher leaves claimable rows for the other.
                settings=app.state.settings.model_copy(update={"webhook_batch_size": 4}),
                metrics=app.state.metrics,
            )
            for _ in range(2)
        ]
        rounds = [0, 0]

        async def work(index: int) -> None:
            while len(portal.received) < events:
                if await dispatchers[index].run_once():
                    rounds[index] += 1
                else:
                    await asyncio.sleep(0.01)

        await asyncio.wait_for(asyncio.gather(work(0), work(1)), 60)
        ids = [r["headers"]["webhook-id"] for r in portal.received]
        assert len(ids) == len(set(ids)) == events
        for aggregate in range(10):
            sequence = [
                r["event"]["data"]["n"]
                for r in portal.received
                if r["event"]["data"]["aggregate"] == aggregate
            ]
            assert sequence == sorted(sequence)
        assert all(rounds), rounds  # both took part


class TestLongFailure:
    async def test_a_subscription_failing_too_long_is_disabled_and_says_so(
        self, database_urls: dict[str, str], backend: str
    ) -> None:
        async with running_stack(
            backend,
            database_urls,
            webhook_disable_after_seconds=0.2,
            webhook_retry_schedule=[0, 0.3, 0.3, 0.3],
        ) as stack:
            portal = Portal(decide=lambda _event: 500)
            created = await subscribe(stack, portal)
            await factories.create_publication(stack.client("disclosure"), publish=True)

            async def disabled() -> dict[str, Any] | None:
                response = await stack.client("disclosure").get(
                    f"/v1/webhooks/subscriptions/{created['id']}", headers=auth()
                )
                return response.json() if response.json()["status"] == "disabled" else None

            subscription = await eventually(disabled)
            assert subscription["disabled_reason"] == "failing for too long"
            async with stack.apps["disclosure"].state.db.session() as session:
                body = await session.scalar(
                    select(DISCLOSURE.outbox.body).where(
                        DISCLOSURE.outbox.type == "webhook_subscription.disabled"
                    )
                )
            assert created["id"] in body


class TestRebinding:
    async def test_a_target_that_stops_being_allowed_is_not_called(self, stack: Stack) -> None:
        portal = Portal()
        created = await subscribe(stack, portal)
        # As if the portal's name now resolved into the private network: it is checked
        # again at every send, not only when the subscription was saved.
        stack.apps["disclosure"].state.settings.webhook_allowed_hosts = []
        await factories.create_publication(stack.client("disclosure"), publish=True)

        async def refused() -> list[dict[str, Any]]:
            response = await stack.client("disclosure").get(
                "/v1/webhooks/deliveries",
                params={"subscription_id": created["id"]},
                headers=auth(),
            )
            return [d for d in response.json()["items"] if d["attempts"] >= 1]

        [delivery] = await eventually(refused)
        assert delivery["last_error"].startswith("refused: The host portal.test")
        assert portal.received == []


class TestEmitTargets:
    async def targets_of_each_event(self, stack: Stack) -> list[list[str]]:
        d, o, s = DISCLOSURE.deliveries, DISCLOSURE.outbox, DISCLOSURE.subscriptions
        async with stack.apps["disclosure"].state.db.session(read_only=True) as session:
            rows = (
                await session.execute(
                    select(o.seq, s.kind)
                    .join(d, d.event_seq == o.seq, isouter=True)
                    .join(s, s.id == d.subscription_id, isouter=True)
                    .where(o.type == "publication.published")
                    .order_by(o.seq, s.kind)
                )
            ).all()
        grouped: dict[int, list[str]] = {}
        for seq, kind in rows:
            grouped.setdefault(seq, []).extend([kind] if kind else [])
        return list(grouped.values())

    async def test_a_subscription_changed_mid_transaction_is_seen_by_the_next_emit(
        self, stack: Stack
    ) -> None:
        await stack.apps["disclosure"].state.dispatcher.stop()
        portal = await subscribe(stack, Portal())
        db = stack.apps["disclosure"].state.db

        async def publish(session: Any, n: int) -> None:
            await emit(
                session,
                "publication.published",
                aggregate=f"publication:{n}",
                jurisdiction_code=HEIHE,
                data={"n": n},
            )

        async with db.session() as session:
            await publish(session, 1)
            row = await session.get(DISCLOSURE.subscriptions, uuid.UUID(portal["id"]))
            row.status = "disabled"
            await session.flush()
            await publish(session, 2)
            await session.commit()
        async with db.session() as session:  # a new transaction reads the subscriptions again
            row = await session.get(DISCLOSURE.subscriptions, uuid.UUID(portal["id"]))
            row.status = "active"
            await session.commit()
        async with db.session() as session:
            await publish(session, 3)
            await session.commit()

        assert await self.targets_of_each_event(stack) == [
            ["external", "sibling"],
            ["sibling"],
            ["external", "sibling"],
        ]
