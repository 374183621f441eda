"""Rate limits at the gateway: per API client, per person, per address.

Each request to /graphql or /api counts against one key: an API key's client (its limit set
by the client's kind: portal, citizen app, integration), a person's bearer token subject, or
the caller's address when it presents neither. Every answer says where the caller stands in
the RateLimit header fields of draft-ietf-httpapi-ratelimit-headers
(`RateLimit-Policy: 600;w=60`, `RateLimit: limit=600, remaining=599, reset=42`); a refused
request is a 429 problem with `Retry-After` as well.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.errors import AppError
from services.common.ratelimit import Quota, RateLimiter, TooManyRequests

# Where the quota of a request waits for its answer (`request.state`).
STATE_KEY = "rate_limit"
AUTHORIZATION_KEY = "upstream_authorization"
LIMITED_PREFIXES = ("/graphql", "/api/")


@dataclass(frozen=True)
class Caller:
    kind: str  # an API key's role, "person" or "anonymous"
    key: str


def quota_headers(quota: Quota) -> dict[str, str]:
    return {
        "RateLimit-Policy": f"{quota.limit};w={quota.window_seconds}",
        "RateLimit": (
            f"limit={quota.limit}, remaining={quota.remaining}, reset={math.ceil(quota.reset)}"
        ),
    }


async def identify(request: Request, authorization: str | None) -> Caller:
    """Who counts for this request: the principal behind its Authorization (the token the
    gateway minted for an API key, or the caller's own), else its address."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token:
        # A token minted for an API key is known to the exchange; a caller's own is checked.
        principal = request.app.state.keys.principal_of(authorization)
        if principal is None:
            try:
                principal = await request.app.state.verifier.verify(token.strip())
            except AppError:
                principal = None  # the services refuse it; until then it counts as anonymous
        if principal is not None:
            if principal.subject.startswith("api-client:"):
                return Caller(principal.role, principal.subject)
            return Caller("person", f"sub:{principal.subject}")
    # Anything else (no credentials, a token that does not verify, a scheme the gateway does
    # not read) counts by address: changing the header does not buy a fresh count.
    address = request.client.host if request.client else "unknown"
    return Caller("anonymous", f"ip:{address}")


async def admitted(request: Request) -> None:
    """A dependency: the request counted before anything else looks at it."""
    await request.app.state.rate_limits.admit(request)


class GatewayRateLimits:
    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def admit(self, request: Request) -> str | None:
        """Count the request against its caller's limit (once, however often asked) and
        return the Authorization to send upstream; 429 when the limit is reached."""
        if hasattr(request.state, STATE_KEY):
            return getattr(request.state, AUTHORIZATION_KEY)
        authorization: str | None = await request.app.state.keys.authorization(request)
        setattr(request.state, AUTHORIZATION_KEY, authorization)
        caller = await identify(request, authorization)
        rule = request.app.state.settings.rate_limit_for(caller.kind)
        quota = await self.limiter.take(rule, "gateway", caller.kind, caller.key)
        setattr(request.state, STATE_KEY, quota)
        if quota.retry_after is not None:
            refused = TooManyRequests(
                f"Too many requests: at most {rule} for this caller; "
                f"retry in {math.ceil(quota.retry_after)} s",
                retry_after=quota.retry_after,
            )
            refused.headers.update(quota_headers(quota))
            raise refused
        return authorization


class RateLimitHeaders:
    """Adds the caller's RateLimit header fields to every answer of /graphql and /api,
    whatever answered it (the route, Strawberry, or an error handler)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(LIMITED_PREFIXES):
            await self.app(scope, receive, send)
            return

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                quota = scope.get("state", {}).get(STATE_KEY)
                if isinstance(quota, Quota):
                    headers = [
                        (name, value)
                        for name, value in message.get("headers", [])
                        if name.lower() not in (b"ratelimit", b"ratelimit-policy")
                    ]
                    headers.extend(
                        (name.lower().encode(), value.encode())
                        for name, value in quota_headers(quota).items()
                    )
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_quota)
