"""Delivery between real services: no event lost, no effect twice, whatever fails when."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from services.common.events.outbox import emit
from services.disclosure.models import COMMON as DISCLOSURE
from services.feedback.models import COMMON as FEEDBACK
from services.feedback.models import PublishedItem
from tests import factories
from tests.common.events.receivers import FlakyProxy, eventually
from tests.harness import HARBIN, HEIHE, Stack, auth, base_url


async def count(stack: Stack, component: str, model: Any, *where: Any) -> int:
    async with stack.apps[component].state.db.session(read_only=True) as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


async def deliveries(stack: Stack, *where: Any) -> list[Any]:
    d = DISCLOSURE.deliveries
    async with stack.apps["disclosure"].state.db.session(read_only=True) as session:
        return list((await session.scalars(select(d).where(*where).order_by(d.seq))).all())


async def published_items(stack: Stack) -> int:
    return await count(stack, "feedback", PublishedItem)


class TestSiblingDelivery:
    async def test_a_published_item_reaches_feedback_and_citizens_can_comment_on_it(
        self, stack: Stack
    ) -> None:
        publication = await factories.create_publication(stack.client("disclosure"), publish=True)
        await eventually(lambda: published_items(stack))
        feedback = await stack.client("feedback").post(
            "/v1/citizen-feedback",
            json={
                "jurisdiction_code": "231100",
                "publication_id": publication["id"],
                "text": "结果公开得很及时",
            },
        )
        assert feedback.status_code == 201

        await stack.client("disclosure").post(
            f"/v1/publications/{publication['id']}/retract", json={"reason": "更正"}, headers=auth()
        )

        async def retracted() -> bool:
            late = await stack.client("feedback").post(
                "/v1/citizen-feedback",
                json={
                    "jurisdiction_code": "231100",
                    "publication_id": publication["id"],
                    "text": "还能评论吗",
                },
            )
            return late.status_code == 422 and late.json()["code"] == "unknown-publication"

        await eventually(retracted)

    async def test_the_events_carry_the_request_id_that_caused_them(self, stack: Stack) -> None:
        draft = await factories.create_publication(stack.client("disclosure"))
        await stack.client("disclosure").post(
            f"/v1/publications/{draft['id']}/publish",
            headers={**auth(), "x-request-id": "publish-trace-7"},
        )
        await eventually(lambda: published_items(stack))
        async with stack.apps["disclosure"].state.db.session(read_only=True) as session:
            request_ids = (await session.scalars(select(DISCLOSURE.outbox.request_id))).all()
        assert request_ids == ["publish-trace-7"]


class TestFaults:
    async def test_failing_receiver_then_success_gives_exactly_one_effect(
        self, stack: Stack
    ) -> None:
        proxy = FlakyProxy(stack.apps["feedback"], failures=3)
        stack.router.mount(base_url("feedback"), proxy)
        await factories.create_publication(stack.client("disclosure"), publish=True)

        async def succeeded() -> list[Any]:
            return await deliveries(stack, DISCLOSURE.deliveries.status == "succeeded")

        [delivery] = await eventually(succeeded)
        assert delivery.attempts == 4
        assert proxy.calls == 4
        assert await published_items(stack) == 1
        assert await count(stack, "feedback", FEEDBACK.inbox) == 1

    async def test_a_lost_answer_causes_a_redelivery_but_one_effect(self, stack: Stack) -> None:
        proxy = FlakyProxy(stack.apps["feedback"], lose_answers=1)
        stack.router.mount(base_url("feedback"), proxy)
        await factories.create_publication(stack.client("disclosure"), publish=True)

        async def succeeded() -> list[Any]:
            return await deliveries(stack, DISCLOSURE.deliveries.status == "succeeded")

        [delivery] = await eventually(succeeded)
        assert delivery.attempts == 2 and proxy.calls == 2
        assert await published_items(stack) == 1
        assert await count(stack, "feedback", FEEDBACK.inbox) == 1

    async def test_a_receiver_down_for_the_whole_schedule_goes_dead_then_replays(
        self, stack: Stack
    ) -> None:
        stack.router.unmount(base_url("feedback"))
        await factories.create_publication(stack.client("disclosure"), publish=True)

        async def dead() -> list[Any]:
            return await deliveries(stack, DISCLOSURE.deliveries.status == "dead")

        [delivery] = await eventually(dead)
        assert delivery.attempts == 4  # the whole compressed schedule
        assert "ConnectError" in delivery.last_error
        listed = await stack.client("disclosure").get(
            "/v1/webhooks/deliveries", params={"status": "dead"}, headers=auth()
        )
        assert [d["seq"] for d in listed.json()["items"]] == [delivery.seq]
        detail = await stack.client("disclosure").get(
            f"/v1/webhooks/deliveries/{delivery.seq}", headers=auth()
        )
        assert [a["outcome"] for a in detail.json()["attempt_log"]] == ["failed"] * 4

        stack.router.mount(base_url("feedback"), stack.apps["feedback"])
        replay = await stack.client("disclosure").post(
            f"/v1/webhooks/deliveries/{delivery.seq}/replay", headers=auth()
        )
        assert replay.json() == {"replayed": 1}
        await eventually(lambda: deliveries(stack, DISCLOSURE.deliveries.status == "succeeded"))
        assert await published_items(stack) == 1
        assert await count(stack, "feedback", FEEDBACK.inbox) == 1

    async def test_a_dispatcher_cancelled_mid_batch_loses_nothing(self, stack: Stack) -> None:
        dispatcher = stack.apps["disclosure"].state.dispatcher
        await dispatcher.stop()
        publications = [
            await factories.create_publication(
                stack.client("disclosure"), title=f"第{i}份", publish=True
            )
            for i in range(6)
        ]
        slow = FlakyProxy(stack.apps["feedback"], hold=asyncio.Event())
        stack.router.mount(base_url("feedback"), slow)
        # Cancel the round while its request is held on the wire.
        round_ = asyncio.create_task(dispatcher.run_once())

        async def on_the_wire() -> bool:
            return slow.calls > 0

        await eventually(on_the_wire)
        round_.cancel()
        await asyncio.gather(round_, return_exceptions=True)
        assert await published_items(stack) == 0  # nothing got through

        slow.hold.set()
        dispatcher.start()  # a restarted dispatcher reclaims the leased rows when they expire

        async def all_delivered() -> bool:
            rows = await deliveries(stack)
            return len(rows) == 6 and all(r.status == "succeeded" for r in rows)

        await eventually(all_delivered, within=15)
        assert await published_items(stack) == len(publications)
        assert await count(stack, "feedback", FEEDBACK.inbox) == 6


class TestSiblingDeliveriesPerJurisdiction:
    """A sibling service's subscription serves every city; each of its deliveries is the
    city's whose event it carries."""

    async def dead_sibling_deliveries(self, stack: Stack) -> dict[str, Any]:
        stack.router.unmount(base_url("feedback"))
        for jurisdiction in (HEIHE, HARBIN):
            await factories.create_publication(
                stack.client("disclosure"), jurisdiction=jurisdiction, publish=True
            )

        async def both_dead() -> list[Any]:
            rows = await deliveries(stack, DISCLOSURE.deliveries.status == "dead")
            return rows if len(rows) == 2 else []

        await eventually(both_dead)
        o, d = DISCLOSURE.outbox, DISCLOSURE.deliveries
        async with stack.apps["disclosure"].state.db.session(read_only=True) as session:
            rows = (
                await session.execute(
                    select(o.jurisdiction_code, d.seq).join(d, d.event_seq == o.seq)
                )
            ).all()
        return dict(rows)

    async def sibling_subscription(self, stack: Stack) -> dict[str, Any]:
        listed = await stack.client("disclosure").get(
            "/v1/webhooks/subscriptions", headers=auth(jurisdictions=(HEIHE,))
        )
        [sibling] = [s for s in listed.json()["items"] if s["kind"] == "sibling"]
        return sibling

    async def test_an_admin_lists_reads_and_replays_only_its_own_citys(self, stack: Stack) -> None:
        seqs = await self.dead_sibling_deliveries(stack)
        disclosure, heihe = stack.client("disclosure"), auth(jurisdictions=(HEIHE,))

        listed = await disclosure.get("/v1/webhooks/deliveries", headers=heihe)
        assert [d["seq"] for d in listed.json()["items"]] == [seqs[HEIHE]]
        own = await disclosure.get(f"/v1/webhooks/deliveries/{seqs[HEIHE]}", headers=heihe)
        assert own.status_code == 200, own.text
        for method, path in (
            ("GET", f"/v1/webhooks/deliveries/{seqs[HARBIN]}"),
            ("POST", f"/v1/webhooks/deliveries/{seqs[HARBIN]}/replay"),
        ):
            response = await disclosure.request(method, path, headers=heihe)
            assert response.status_code == 404, (method, response.text)
        both = auth(jurisdictions=(HEIHE, HARBIN))
        listed = await disclosure.get("/v1/webhooks/deliveries", headers=both)
        assert sorted(d["seq"] for d in listed.json()["items"]) == sorted(seqs.values())

    async def test_replaying_the_sibling_subscription_replays_only_its_own_citys(
        self, stack: Stack
    ) -> None:
        seqs = await self.dead_sibling_deliveries(stack)
        sibling = await self.sibling_subscription(stack)
        disclosure, heihe = stack.client("disclosure"), auth(jurisdictions=(HEIHE,))
        url = f"/v1/webhooks/subscriptions/{sibling['id']}"

        health = await disclosure.get(f"{url}/health", headers=heihe)
        assert (health.json()["dead"], health.json()["attempts_24h"]) == (1, 4)
        await stack.apps["disclosure"].state.dispatcher.stop()  # the replayed one stays pending
        replay = await disclosure.post(f"{url}/replay", headers=heihe)

        assert replay.json() == {"replayed": 1}
        statuses = {r.seq: r.status for r in await deliveries(stack)}
        assert statuses == {seqs[HEIHE]: "pending", seqs[HARBIN]: "dead"}


class TestMetrics:
    async def test_attempts_and_latency_are_exported(self, stack: Stack) -> None:
        await factories.create_publication(stack.client("disclosure"), publish=True)
        await eventually(lambda: published_items(stack))
        succeeded = 'govperf_webhook_attempts_total{component="disclosure",outcome="succeeded"}'

        async def exported() -> str | None:
            # The receiver may have its item a moment before the dispatcher counts the answer.
            text = (await stack.client("disclosure").get("/metrics")).text
            return text if succeeded in text else None

        text = await eventually(exported)
        assert "govperf_webhook_delivery_latency_seconds_bucket" in text


async def backlog(stack: Stack, n: int) -> list[dict[str, Any]]:
    """n publications published while the dispatcher is stopped (a backlog to drain)."""
    await stack.apps["disclosure"].state.dispatcher.stop()
    return [
        await factories.create_publication(
            stack.client("disclosure"), title=f"第{i}份", publish=True
        )
        for i in range(n)
    ]


async def all_succeeded(stack: Stack, n: int) -> bool:
    rows = await deliveries(stack)
    return len(rows) == n and all(r.status == "succeeded" for r in rows)


class TestSiblingBatches:
    async def test_a_backlog_reaches_the_sibling_in_one_message_with_one_effect_each(
        self, stack: Stack
    ) -> None:
        await backlog(stack, 6)
        proxy = FlakyProxy(stack.apps["feedback"])
        stack.router.mount(base_url("feedback"), proxy)
        stack.apps["disclosure"].state.dispatcher.start()

        await eventually(lambda: all_succeeded(stack, 6))
        assert proxy.calls == 1
        assert await published_items(stack) == 6
        async with stack.apps["disclosure"].state.db.session(read_only=True) as session:
            event_ids = (await session.scalars(select(DISCLOSURE.outbox.id))).all()
        async with stack.apps["feedback"].state.db.session(read_only=True) as session:
            received = (await session.scalars(select(FEEDBACK.inbox.webhook_id))).all()
        # Deduplicated by each event's own message id, the id it has when sent alone.
        assert sorted(received) == sorted(f"msg_{e.hex}" for e in event_ids)
        assert all(r.attempts == 1 for r in await deliveries(stack))

    async def test_a_failed_batch_is_retried_event_by_event(self, stack: Stack) -> None:
        await backlog(stack, 4)
        proxy = FlakyProxy(stack.apps["feedback"], failures=1)
        stack.router.mount(base_url("feedback"), proxy)
        stack.apps["disclosure"].state.dispatcher.start()

        await eventually(lambda: all_succeeded(stack, 4))
        assert proxy.calls == 1 + 4
        assert all(r.attempts == 2 for r in await deliveries(stack))
        assert await published_items(stack) == 4

    async def test_a_batch_whose_answer_was_lost_has_one_effect_per_event(
        self, stack: Stack
    ) -> None:
        await backlog(stack, 4)
        proxy = FlakyProxy(stack.apps["feedback"], lose_answers=1)
        stack.router.mount(base_url("feedback"), proxy)
        stack.apps["disclosure"].state.dispatcher.start()

        await eventually(lambda: all_succeeded(stack, 4))
        assert proxy.calls == 1 + 4  # the batch applied, then each retry a duplicate
        assert await published_items(stack) == 4
        assert await count(stack, "feedback", FEEDBACK.inbox) == 4

    async def test_an_event_the_receiver_cannot_handle_does_not_hold_back_the_others(
        self, stack: Stack
    ) -> None:
        await backlog(stack, 3)
        async with stack.apps["disclosure"].state.db.session() as session:
            await emit(
                session,
                "publication.published",
                aggregate="publication:broken",
                jurisdiction_code="231100",
                data={"publication_id": "not-a-uuid"},
            )
            await session.commit()
        stack.apps["disclosure"].state.dispatcher.start()

        async def settled() -> list[str]:
            rows = await deliveries(stack)
            done = all(r.status in ("succeeded", "dead") for r in rows)
            return sorted(r.status for r in rows) if done else []

        assert await eventually(settled) == ["dead", "succeeded", "succeeded", "succeeded"]
        assert await published_items(stack) == 3
        assert await count(stack, "feedback", FEEDBACK.inbox) == 3
