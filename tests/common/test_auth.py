from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.common.auth import (
    Principal,
    TokenVerifier,
    api_key_matches,
    issue_api_key,
    parse_api_key,
)
from services.common.errors import Unauthorized
from services.indicator.settings import Settings
from tests.harness import token


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


JWKS_FETCHES: list[str] = []


@pytest.fixture(scope="module")
def jwks_url(rsa_key: rsa.RSAPrivateKey) -> Iterator[str]:
    """A real JWKS endpoint on loopback, as an OIDC provider (Keycloak, …) would serve."""
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "key-1", "use": "sig", "alg": "RS256"}]})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            JWKS_FETCHES.append(self.path)
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/jwks"
    server.shutdown()


def rs256_token(key: rsa.RSAPrivateKey, **claims: object) -> str:
    now = int(time.time())
    payload = {
        "sub": "u-1",
        "role": "admin",
        "jurisdictions": ["231100"],
        "iat": now,
        "exp": now + 300,
        **claims,
    }
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": "key-1"})


class TestJwks:
    async def test_a_token_signed_by_the_provider_is_accepted(
        self, rsa_key: rsa.RSAPrivateKey, jwks_url: str
    ) -> None:
        verifier = TokenVerifier(Settings(jwt_jwks_url=jwks_url, jwt_algorithms=["RS256"]))
        principal = await verifier.verify(rs256_token(rsa_key))
        assert principal == Principal(subject="u-1", role="admin", jurisdictions=("231100",))

    async def test_a_shared_secret_token_is_refused_when_jwks_is_configured(
        self, jwks_url: str
    ) -> None:
        verifier = TokenVerifier(Settings(jwt_jwks_url=jwks_url, jwt_algorithms=["RS256"]))
        with pytest.raises(Unauthorized):
            await verifier.verify(token("admin"))

    async def test_audience_and_issuer_are_checked_when_configured(
        self, rsa_key: rsa.RSAPrivateKey, jwks_url: str
    ) -> None:
        verifier = TokenVerifier(
            Settings(
                jwt_jwks_url=jwks_url,
                jwt_algorithms=["RS256"],
                jwt_audience="govperf",
                jwt_issuer="https://idp",
            )
        )
        good = rs256_token(rsa_key, aud="govperf", iss="https://idp")
        assert (await verifier.verify(good)).role == "admin"
        with pytest.raises(Unauthorized):
            await verifier.verify(rs256_token(rsa_key, aud="other", iss="https://idp"))

    async def test_the_key_set_is_fetched_once_not_per_request(
        self, rsa_key: rsa.RSAPrivateKey, jwks_url: str
    ) -> None:
        verifier = TokenVerifier(Settings(jwt_jwks_url=jwks_url, jwt_algorithms=["RS256"]))
        before = len(JWKS_FETCHES)
        for n in range(5):
            # A new token each time (other subjects), so only the key, not the token, is reused.
            principal = await verifier.verify(rs256_token(rsa_key, sub=f"u-{n}"))
            assert principal.subject == f"u-{n}"
        assert len(JWKS_FETCHES) - before == 1

    async def test_a_token_of_an_unknown_key_is_refused(self, jwks_url: str) -> None:
        verifier = TokenVerifier(Settings(jwt_jwks_url=jwks_url, jwt_algorithms=["RS256"]))
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(
            {"sub": "x", "role": "admin", "exp": int(time.time()) + 60},
            stranger,
            algorithm="RS256",
            headers={"kid": "key-2"},
        )
        before = len(JWKS_FETCHES)
        with pytest.raises(Unauthorized):
            await verifier.verify(forged)
        for _ in range(3):  # asked again at once: refused without asking the provider
            with pytest.raises(Unauthorized):
                await verifier.verify(forged)
        assert len(JWKS_FETCHES) - before <= 2  # PyJWKClient may refresh once for a miss

    async def test_a_kept_key_is_fetched_again_after_five_minutes(
        self, rsa_key: rsa.RSAPrivateKey, jwks_url: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        verifier = TokenVerifier(Settings(jwt_jwks_url=jwks_url, jwt_algorithms=["RS256"]))
        await verifier.verify(rs256_token(rsa_key, sub="first"))
        kept_at, key = verifier._jwks_keys["key-1"]
        verifier._jwks_keys["key-1"] = (kept_at - TokenVerifier.JWKS_KEY_SECONDS - 1, key)
        verifier._jwks.jwk_set_cache = None  # PyJWKClient's own copy of the set, too
        before = len(JWKS_FETCHES)
        assert (await verifier.verify(rs256_token(rsa_key, sub="second"))).subject == "second"
        assert len(JWKS_FETCHES) - before == 1


class TestRememberedTokens:
    async def test_an_expired_token_is_refused_even_after_it_was_accepted(self) -> None:
        verifier = TokenVerifier(Settings())
        short = token("admin", ttl_seconds=1)
        assert (await verifier.verify(short)).role == "admin"
        await asyncio.sleep(2.1)
        with pytest.raises(Unauthorized, match="expired"):
            await verifier.verify(short)

    async def test_a_token_with_a_bad_signature_is_never_taken_for_a_remembered_one(
        self,
    ) -> None:
        verifier = TokenVerifier(Settings())
        good = token("admin")
        await verifier.verify(good)
        head, payload, signature = good.split(".")
        with pytest.raises(Unauthorized):
            await verifier.verify(f"{head}.{payload}.{signature[:-4]}AAAA")


class TestClaims:
    async def test_department_tokens_must_name_the_department(self) -> None:
        verifier = TokenVerifier(Settings())
        forged = jwt.encode(
            {"sub": "x", "role": "department", "exp": time.time() + 60},
            Settings().jwt_secret.get_secret_value(),
            algorithm="HS256",
        )
        with pytest.raises(Unauthorized, match="department_id"):
            await verifier.verify(forged)

    async def test_unknown_roles_are_refused(self) -> None:
        forged = jwt.encode(
            {"sub": "x", "role": "mayor", "exp": time.time() + 60},
            Settings().jwt_secret.get_secret_value(),
            algorithm="HS256",
        )
        with pytest.raises(Unauthorized, match="role"):
            await TokenVerifier(Settings()).verify(forged)

    async def test_a_token_signed_with_another_secret_is_refused(self) -> None:
        forged = jwt.encode(
            {"sub": "x", "role": "admin", "exp": time.time() + 60},
            "another-secret-of-enough-length-0123456789",
            algorithm="HS256",
        )
        with pytest.raises(Unauthorized):
            await TokenVerifier(Settings()).verify(forged)


class TestApiKeys:
    def test_only_the_hash_is_kept_and_it_verifies_the_key(self) -> None:
        issued = issue_api_key()
        key_id, secret = parse_api_key(issued.plaintext)
        assert key_id == issued.key_id
        assert secret not in issued.secret_hash
        assert api_key_matches(secret, issued.secret_hash)
        assert not api_key_matches(secret + "x", issued.secret_hash)

    @pytest.mark.parametrize("bad", ["", "gpk_", "abc_def_ghi", "gpk_id", "gpk__secret"])
    def test_malformed_keys_are_refused(self, bad: str) -> None:
        with pytest.raises(Unauthorized):
            parse_api_key(bad)
