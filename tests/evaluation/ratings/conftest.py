"""A cycle open to citizen ratings, set up through the real apps."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests import factories
from tests.harness import HEIHE, Stack, auth

ITEMS = [
    ("Q1", "service"),
    ("Q2", "service"),
    ("Q3", "service"),
    ("Q4", "integrity"),
    ("Q5", "integrity"),
]


@dataclass
class CitizenCycle:
    cycle_id: str
    departments: list[str]
    questionnaire_id: str
    client: httpx.AsyncClient

    def rating(self, department: int = 0, **fields: Any) -> dict[str, Any]:
        """A valid response about department `department`, from a new device."""
        body: dict[str, Any] = {
            "response_id": str(uuid.uuid4()),
            "cycle_id": self.cycle_id,
            "department_id": self.departments[department],
            "questionnaire_id": self.questionnaire_id,
            "respondent": {"kind": "device", "token": f"device-{uuid.uuid4()}"},
            "answers": {"Q1": 5, "Q2": 4, "Q3": 4, "Q4": 3, "Q5": None},
            "duration_seconds": 95.0,
        }
        body.update(fields)
        return body


def app_headers(**kwargs: Any) -> dict[str, str]:
    return auth("citizen_app", subject=kwargs.pop("subject", "app:heihe-citizens"), **kwargs)


async def publish_questionnaire(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {
        "jurisdiction_code": HEIHE,
        "code": fields.pop("code", "citizen-2026"),
        "title_zh": "群众满意度调查",
        "scale_min": 1,
        "scale_max": 5,
        "top_box": 3,
        "allow_dont_know": True,
        "free_text_max": 200,
        "dimensions": [
            {"code": "service", "name_zh": "服务态度"},
            {"code": "integrity", "name_zh": "廉洁自律"},
        ],
        "items": [
            {"code": code, "dimension": dimension, "text_zh": f"问题 {code}"}
            for code, dimension in ITEMS
        ],
        **fields,
    }
    created = await client.post("/v1/questionnaires", json=body, headers=auth())
    assert created.status_code == 201, created.text
    published = await client.post(
        f"/v1/questionnaires/{created.json()['id']}/publish", headers=auth()
    )
    assert published.status_code == 200, published.text
    return published.json()


async def open_citizen_cycle(
    stack: Stack, *, rules: dict[str, Any] | None = None, departments: int = 2
) -> CitizenCycle:
    indicator = stack.client("indicator")
    evaluation = stack.client("evaluation")
    department_ids = [
        (await factories.create_department(indicator, code=f"D{n}", category="social_services"))[
            "id"
        ]
        for n in range(departments)
    ]
    await factories.create_indicator_system(
        indicator,
        category="social_services",
        nodes=[factories.indicator_leaf("S1", 100)],
        publish=True,
    )
    questionnaire = await publish_questionnaire(evaluation)
    created = await evaluation.post(
        "/v1/cycles",
        json={
            "jurisdiction_code": HEIHE,
            "code": "2026-social",
            "name": "2026 年度社会服务类考评",
            "period": "2026",
            "category": "social_services",
            "rules": rules or {},
        },
        headers=auth(),
    )
    assert created.status_code == 201, created.text
    cycle_id = created.json()["id"]
    for group in (
        {"kind": "objective", "code": "objective", "name": "目标考核", "weight": 50},
        {
            "kind": "citizen",
            "code": "citizens",
            "name": "社会评价",
            "weight": 50,
            "min_sample": 1,
            "questionnaire_id": questionnaire["id"],
        },
    ):
        response = await evaluation.post(
            f"/v1/cycles/{cycle_id}/groups", json=group, headers=auth()
        )
        assert response.status_code == 201, response.text
    opened = await evaluation.post(f"/v1/cycles/{cycle_id}/open", headers=auth())
    assert opened.status_code == 200, opened.text
    return CitizenCycle(
        cycle_id=cycle_id,
        departments=department_ids,
        questionnaire_id=questionnaire["id"],
        client=evaluation,
    )
