"""The in-process stack: every service app and the gateway wired through ASGI transports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from govperf.components import SERVICES, create_app, settings_class
from services.common.app import lifespan_of
from services.common.auth import mint_token
from services.common.settings import COMPONENTS, DEVELOPMENT_JWT_SECRET

HEIHE = "231100"
HARBIN = "230100"


def base_url(component: str) -> str:
    return f"http://{component}.test"


def token(
    role: str = "admin",
    *,
    jurisdictions: tuple[str, ...] = (HEIHE,),
    department_id: str | None = None,
    subject: str | None = None,
    ttl_seconds: int = 3600,
) -> str:
    if role in ("department", "integration") and department_id is None:
        department_id = "dept-under-test"
    return mint_token(
        DEVELOPMENT_JWT_SECRET,
        role=role,
        jurisdictions=jurisdictions,
        department_id=department_id,
        subject=subject,
        ttl_seconds=ttl_seconds,
    )


def auth(role: str = "admin", **kwargs: Any) -> dict[str, str]:
    return {"authorization": f"Bearer {token(role, **kwargs)}"}


@dataclass
class Stack:
    backend: str
    urls: dict[str, str]
    apps: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def client(self, component: str) -> httpx.AsyncClient:
        return self.clients[component]

    @property
    def gateway(self) -> httpx.AsyncClient:
        return self.clients["gateway"]


@asynccontextmanager
async def running_stack(backend: str, urls: dict[str, str]) -> AsyncIterator[Stack]:
    """Start every component against the given (already migrated) databases."""
    stack = Stack(backend=backend, urls=urls)
    async with AsyncExitStack() as exits:
        for component in SERVICES:
            settings = settings_class(component)(
                database_url=urls[component], migrate_on_start=False, env="test"
            )
            stack.apps[component] = create_app(component, settings)
        upstream = httpx.AsyncClient(
            mounts={f"{base_url(c)}": httpx.ASGITransport(app=stack.apps[c]) for c in SERVICES}
        )
        await exits.enter_async_context(upstream)
        gateway_settings = settings_class("gateway")(
            database_url=urls["gateway"],
            migrate_on_start=False,
            env="test",
            **{f"{c}_url": base_url(c) for c in SERVICES},
        )
        stack.apps["gateway"] = create_app("gateway", gateway_settings, http_client=upstream)
        for component in COMPONENTS:
            app = stack.apps[component]
            await exits.enter_async_context(lifespan_of(app))
            stack.clients[component] = await exits.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url=base_url(component)
                )
            )
        yield stack
