"""The in-process stack: every service app and the gateway wired through ASGI transports."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import fastapi.dependencies.models
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
    router: AppRouter
    apps: dict[str, Any] = field(default_factory=dict)
    clients: dict[str, httpx.AsyncClient] = field(default_factory=dict)

    def client(self, component: str) -> httpx.AsyncClient:
        return self.clients[component]

    @property
    def gateway(self) -> httpx.AsyncClient:
        return self.clients["gateway"]


async def delivered(stack: Stack, component: str, *, timeout_seconds: float = 10.0) -> None:
    """Wait until `component` has sent every event it has announced so far (no delivery
    pending or in flight): what a sibling does with them has happened."""
    client = stack.client(component)
    deadline = time.monotonic() + timeout_seconds
    while True:
        waiting = 0
        for status in ("pending", "delivering"):
            listed = await client.get(
                "/v1/webhooks/deliveries", params={"status": status}, headers=auth()
            )
            assert listed.status_code == 200, listed.text
            waiting += len(listed.json()["items"])
        if not waiting:
            return
        assert time.monotonic() < deadline, f"{component}: {waiting} deliveries still waiting"
        await asyncio.sleep(0.02)


class AppRouter(httpx.AsyncBaseTransport):
    """Routes requests by origin to in-process apps; an unknown origin is unreachable."""

    def __init__(self) -> None:
        self.apps: dict[str, httpx.ASGITransport] = {}

    def mount(self, origin: str, app: Any) -> None:
        # A crash in the app comes back as a 500, as from a real server.
        self.apps[origin] = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    def unmount(self, origin: str) -> None:
        self.apps.pop(origin, None)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        origin = f"{request.url.scheme}://{request.url.netloc.decode()}"
        transport = self.apps.get(origin)
        if transport is None:
            raise httpx.ConnectError(f"nothing listens at {origin}", request=request)
        return await transport.handle_async_request(request)


def release_apps() -> None:
    """Let go of the apps of tests that have ended.

    FastAPI memoises, per callable, whether a route's endpoint or dependency is a coroutine
    or a generator (LRU caches of 4,096 entries). The endpoints an app defines inside its
    factory (health, GraphQL context, passthrough) are new callables for every app, so the
    caches keep hundreds of finished stacks alive: the process grows past a gigabyte and
    each full garbage collection walks all of it. Forgetting the answers costs nothing (an
    app asks again, once per callable)."""
    for value in vars(fastapi.dependencies.models).values():
        cache_clear = getattr(value, "cache_clear", None)
        if callable(cache_clear):
            cache_clear()


# Fast, compressed webhook timings so delivery, retries and leases play out within a test.
FAST_WEBHOOKS: dict[str, Any] = {
    "webhook_poll_seconds": 0.05,
    "webhook_retry_schedule": [0, 0.05, 0.05, 0.05],
    "webhook_lease_seconds": 2.0,
    "webhook_timeout_seconds": 5.0,
    # Test receivers standing in for third-party portals (mounted on the router).
    "webhook_allowed_hosts": ["portal.test"],
}


@asynccontextmanager
async def running_stack(
    backend: str,
    urls: dict[str, str],
    *,
    extra_mounts: dict[str, Any] | None = None,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """Start every component against the given (already migrated) databases.

    Calls between them (gateway → services, webhooks service → service) go through one
    httpx client routed to the apps; `extra_mounts` adds other receivers (a portal).
    """
    stack = Stack(backend=backend, urls=urls, router=AppRouter())
    common = {
        "migrate_on_start": False,
        "env": "test",
        **{f"{c}_url": base_url(c) for c in SERVICES},
        **FAST_WEBHOOKS,
        **overrides,
    }
    async with AsyncExitStack() as exits:
        upstream = await exits.enter_async_context(httpx.AsyncClient(transport=stack.router))
        for component in COMPONENTS:
            settings = settings_class(component)(database_url=urls[component], **common)
            stack.apps[component] = create_app(component, settings, http_client=upstream)
        for component in SERVICES:
            stack.router.mount(base_url(component), stack.apps[component])
        for origin, app in (extra_mounts or {}).items():
            stack.router.mount(origin, app)
        for component in COMPONENTS:
            app = stack.apps[component]
            await exits.enter_async_context(lifespan_of(app))
            # On the way out a stopped service is unreachable, as a real one is: a sibling
            # still delivering to it fails over to a retry at once, instead of waiting for
            # the stopped app's database until the dispatcher's grace runs out.
            exits.callback(stack.router.unmount, base_url(component))
            stack.clients[component] = await exits.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url=base_url(component)
                )
            )
        yield stack
