"""Who is calling: JWT verification, the `Principal`, role checks and hashed API keys."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

import jwt
from fastapi import Depends, Request

from services.common.errors import Forbidden, Unauthorized
from services.common.settings import ComponentSettings

Role = Literal["public", "citizen_app", "department", "integration", "portal", "evaluator", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
# Roles whose principal acts for one department.
DEPARTMENT_BOUND = ("department", "integration")


@dataclass(frozen=True)
class Principal:
    """The caller as every route sees it, whether it came with a token or with nothing."""

    subject: str
    role: Role
    jurisdictions: tuple[str, ...] = ()
    department_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_anonymous(self) -> bool:
        return self.role == "public" and self.subject == "anonymous"

    def may_access(self, jurisdiction_code: str) -> bool:
        return jurisdiction_code in self.jurisdictions

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Principal:
        role = claims.get("role")
        if role not in ROLES:
            raise Unauthorized("The token carries no known role")
        jurisdictions = claims.get("jurisdictions")
        if jurisdictions is None:
            single = claims.get("jurisdiction")
            jurisdictions = [single] if single else []
        if not isinstance(jurisdictions, list) or not all(
            isinstance(j, str) for j in jurisdictions
        ):
            raise Unauthorized("The token's jurisdictions must be a list of division codes")
        scopes = claims.get("scopes", claims.get("scope", []))
        if isinstance(scopes, str):
            scopes = scopes.split()
        department_id = claims.get("department_id")
        if role in DEPARTMENT_BOUND and not department_id:
            raise Unauthorized(f"A {role} token must name its department_id")
        return cls(
            subject=str(claims.get("sub") or "unknown"),
            role=role,
            jurisdictions=tuple(jurisdictions),
            department_id=str(department_id) if department_id else None,
            scopes=frozenset(scopes),
        )


ANONYMOUS = Principal(subject="anonymous", role="public")


class TokenVerifier:
    """Verifies bearer tokens: HS256 with a shared secret, or RS256/ES256 through a JWKS URL.

    A client sends the same token with every request until it expires, so a verified token is
    remembered (briefly, and never past its expiry): the signature is checked once, not on
    every request. JWKS keys are kept in memory by `kid` for five minutes; only an unknown or
    expired `kid` fetches the set again (in a thread: PyJWKClient does blocking I/O), and a
    `kid` the provider did not have is refused without fetching for 30 s.
    """

    CACHE_SECONDS = 60.0
    CACHE_SIZE = 10_000
    JWKS_KEY_SECONDS = 300.0
    UNKNOWN_KID_SECONDS = 30.0

    def __init__(self, settings: ComponentSettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwt_jwks_url) if settings.jwt_jwks_url else None
        self._jwks_keys: dict[str, tuple[float, Any]] = {}
        self._unknown_kids: dict[str, float] = {}
        self._verified: dict[str, tuple[float, Principal]] = {}
        if self._jwks is not None:
            self._algorithms = [a for a in settings.jwt_algorithms if a != "HS256"] or [
                "RS256",
                "ES256",
            ]
        else:
            self._algorithms = ["HS256"]

    async def verify(self, token: str) -> Principal:
        now = time.time()
        remembered = self._verified.get(token)
        if remembered is not None and remembered[0] > now:
            return remembered[1]
        options: dict[str, Any] = {"require": ["exp", "sub"]}
        try:
            key: Any = (
                await self._signing_key(token)
                if self._jwks is not None
                else self.settings.jwt_secret.get_secret_value()
            )
            claims = jwt.decode(
                token,
                key,
                algorithms=self._algorithms,
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                options=options,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The token has expired") from exc
        except (jwt.PyJWTError, ValueError) as exc:
            raise Unauthorized(f"The token is not valid: {exc}") from exc
        principal = Principal.from_claims(claims)
        if len(self._verified) >= self.CACHE_SIZE:
            self._verified.clear()
        expires = float(claims["exp"]) if isinstance(claims.get("exp"), int | float) else now
        self._verified[token] = (min(expires, now + self.CACHE_SECONDS), principal)
        return principal

    async def _signing_key(self, token: str) -> Any:
        assert self._jwks is not None
        kid = jwt.get_unverified_header(token).get("kid")
        now = time.monotonic()
        known = self._jwks_keys.get(kid) if isinstance(kid, str) else None
        if known is not None and now - known[0] < self.JWKS_KEY_SECONDS:
            return known[1]
        if (
            isinstance(kid, str)
            and now - self._unknown_kids.get(kid, -1e9) < self.UNKNOWN_KID_SECONDS
        ):
            # Asked again for a key the provider did not have a moment ago: answer without
            # fetching, so unknown kids cannot make every request a round trip to the provider.
            raise jwt.PyJWKClientError(f'Unable to find a signing key that matches: "{kid}"')
        try:
            signing_key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientError:
            if isinstance(kid, str):
                self._unknown_kids[kid] = now
            raise
        if isinstance(kid, str):
            # Kept for a few minutes, then fetched again: a key the provider withdraws stops
            # being trusted within that time.
            self._jwks_keys[kid] = (now, signing_key.key)
        return signing_key.key


def mint_token(
    secret: str,
    *,
    role: str,
    subject: str | None = None,
    jurisdictions: list[str] | tuple[str, ...] = ("231100",),
    department_id: str | None = None,
    scopes: list[str] | tuple[str, ...] = (),
    ttl_seconds: int = 12 * 3600,
    audience: str | None = None,
    issuer: str | None = None,
) -> str:
    """An HS256 token for development, tests and the demo seed."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject or f"{role}:{department_id or 'dev'}",
        "role": role,
        "jurisdictions": list(jurisdictions),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    if department_id:
        claims["department_id"] = department_id
    if scopes:
        claims["scopes"] = list(scopes)
    if audience:
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, secret, algorithm="HS256")


async def resolve_principal(request: Request) -> Principal:
    """The caller of this request, cached on the request; anonymous when no token is sent."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization")
    if not header:
        principal = ANONYMOUS
    else:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Use 'Authorization: Bearer <token>'")
        principal = await request.app.state.verifier.verify(token.strip())
    request.state.principal = principal
    return principal


# The principal dependencies call each other directly rather than through `Depends`: each
# level of FastAPI's dependency tree costs more per request than the check it holds. What
# they need is said on them (`AUTH`), for the OpenAPI's problem responses.
AUTH = "govperf_auth"


async def _authenticated(request: Request) -> Principal:
    principal = await resolve_principal(request)
    if principal.is_anonymous:
        raise Unauthorized()
    return principal


def require_role(*roles: Role) -> Any:
    """A dependency admitting only authenticated principals with one of `roles`."""

    async def dependency(request: Request) -> Principal:
        principal = await _authenticated(request)
        if principal.role not in roles:
            raise Forbidden(f"Role '{principal.role}' may not do this; needs {', '.join(roles)}")
        return principal

    setattr(dependency, AUTH, "required")
    return dependency


setattr(resolve_principal, AUTH, "optional")
setattr(_authenticated, AUTH, "required")


OptionalPrincipal = Annotated[Principal, Depends(resolve_principal)]
CurrentPrincipal = Annotated[Principal, Depends(_authenticated)]
AdminOnly = Annotated[Principal, Depends(require_role("admin"))]


# --- API keys: the gateway issues them; only the hash is stored -------------------------

API_KEY_PREFIX = "gpk"


@dataclass(frozen=True)
class IssuedApiKey:
    key_id: str
    secret_hash: str
    plaintext: str  # shown once to the client, never stored


def hash_api_key_secret(secret: str) -> str:
    # The secret carries 256 random bits, so a fast hash is safe here (no dictionary to try).
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_api_key() -> IssuedApiKey:
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return IssuedApiKey(
        key_id=key_id,
        secret_hash=hash_api_key_secret(secret),
        plaintext=f"{API_KEY_PREFIX}_{key_id}_{secret}",
    )


def parse_api_key(plaintext: str) -> tuple[str, str]:
    """Split `gpk_<id>_<secret>` into (key id, secret), or raise Unauthorized."""
    prefix, _, rest = plaintext.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != API_KEY_PREFIX or not key_id or not secret:
        raise Unauthorized("Malformed API key")
    return key_id, secret


def api_key_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key_secret(secret), stored_hash)
