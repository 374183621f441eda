"""A route reading its own JSON body answers every body as FastAPI answers a declared one."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field

from services.common.body import json_body_openapi, read_json_body
from services.common.errors import document_problems, install_error_handlers


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=8)
    value: int = Field(ge=0, le=10)


class Loose(BaseModel):
    """What the route takes as a whole: items checked one by one later."""

    model_config = ConfigDict(extra="forbid")

    items: list[dict[str, Any]] = Field(min_length=1, max_length=3)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Item] = Field(min_length=1, max_length=3)


def declared() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/things")
    async def things(body: Loose) -> dict[str, Any]:
        return {"items": len(body.items), "checked": False}

    return app


def reading() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    document_problems(app)

    @app.post("/things", openapi_extra=json_body_openapi(Loose))
    async def things(request: Request) -> dict[str, Any]:
        body = await read_json_body(request, Loose, fast=Strict)
        return {"items": len(body.items), "checked": isinstance(body, Strict)}

    return app


BODIES: list[tuple[bytes, dict[str, str]]] = [
    (b"", {"content-type": "application/json"}),
    (b"{", {"content-type": "application/json"}),
    (b'{"items": [}', {"content-type": "application/json"}),
    (b"\xff\xfe\xfa", {"content-type": "application/json"}),
    (b"[" * 100_000, {"content-type": "application/json"}),
    (b"[]", {"content-type": "application/json"}),
    (b'"items"', {"content-type": "application/json"}),
    (b"{}", {"content-type": "application/json"}),
    (b'{"items": []}', {"content-type": "application/json"}),
    (b'{"items": "no"}', {"content-type": "application/json"}),
    (b'{"items": [1]}', {"content-type": "application/json"}),
    (b'{"items": [{}, {}, {}, {}]}', {"content-type": "application/json"}),
    (b'{"items": [{"code": "a", "value": 1}], "more": 1}', {"content-type": "application/json"}),
    (b'{"items": [{"code": "a", "value": 1}]}', {"content-type": "text/plain"}),
    (b'{"items": [{"code": "a", "value": 1}]}', {}),
    (b'{"items": [{"code": "a", "value": 1}]}', {"content-type": "application/vnd.x+json"}),
    (b'{"items": [{"code": "a", "value": 99}]}', {"content-type": "application/json"}),
    (b'{"items": [{"code": "a", "value": 1}]}', {"content-type": "application/json"}),
]


def _comparable(response: httpx.Response) -> tuple[int, Any]:
    body = response.json()
    if isinstance(body, dict):
        body.pop("request_id", None)
        body.pop("checked", None)
    return response.status_code, body


@pytest.mark.parametrize(("content", "headers"), BODIES)
async def test_answers_as_a_declared_body(content: bytes, headers: dict[str, str]) -> None:
    answers = []
    for app in (declared(), reading()):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            response = await client.post("/things", content=content, headers=headers)
        answers.append(_comparable(response))
    assert answers[0] == answers[1]


async def test_a_valid_body_is_checked_whole_and_a_partly_valid_one_loosely() -> None:
    transport = httpx.ASGITransport(app=reading())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        valid = await client.post("/things", json={"items": [{"code": "a", "value": 1}]})
        partly = await client.post("/things", json={"items": [{"code": "a", "value": 99}]})
    assert valid.json() == {"items": 1, "checked": True}
    assert partly.json() == {"items": 1, "checked": False}


def test_the_body_is_documented_as_a_declared_one() -> None:
    documented, generated = reading().openapi(), declared().openapi()
    operation = documented["paths"]["/things"]["post"]
    assert operation["requestBody"] == generated["paths"]["/things"]["post"]["requestBody"]
    assert (
        documented["components"]["schemas"]["Loose"]
        == (generated["components"]["schemas"]["Loose"])
    )
    assert "422" in operation["responses"]
