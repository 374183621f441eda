from __future__ import annotations

from tests import factories
from tests.harness import Stack, auth


class TestCitizenFeedback:
    async def test_anyone_submits_and_the_office_answers(self, stack: Stack) -> None:
        client = stack.client("feedback")
        feedback = await factories.submit_feedback(client, text="社保窗口排队时间太长")
        assert feedback["status"] == "received"
        answered = await client.post(
            f"/v1/citizen-feedback/{feedback['id']}/answer",
            json={"answer": "已增加两个窗口"},
            headers=auth(),
        )
        assert answered.json()["status"] == "answered"
        assert answered.json()["answer"] == "已增加两个窗口"
        listed = await client.get(
            "/v1/citizen-feedback", params={"status": "answered"}, headers=auth()
        )
        assert [f["id"] for f in listed.json()["items"]] == [feedback["id"]]

    async def test_the_public_cannot_read_the_inbox(self, stack: Stack) -> None:
        client = stack.client("feedback")
        feedback = await factories.submit_feedback(client)
        assert (await client.get("/v1/citizen-feedback")).status_code == 401
        assert (await client.get(f"/v1/citizen-feedback/{feedback['id']}")).status_code == 401

    async def test_text_is_bounded(self, stack: Stack) -> None:
        response = await stack.client("feedback").post(
            "/v1/citizen-feedback", json={"jurisdiction_code": "231100", "text": "长" * 2001}
        )
        assert response.status_code == 422
