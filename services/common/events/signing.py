"""Standard Webhooks signatures: `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping

SECRET_PREFIX = "whsec_"


class InvalidSignature(Exception):
    """The request is not one a holder of the secret sent, or it is stale."""


def generate_secret(num_bytes: int = 32) -> str:
    """A new `whsec_…` secret (24–64 random bytes per the spec)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(num_bytes)).decode()


def derive_secret(seed: str, purpose: str) -> str:
    """A stable secret for `purpose`, derived from a deployment secret (HMAC as the KDF)."""
    key = hmac.new(seed.encode(), f"govperf-webhooks:{purpose}".encode(), hashlib.sha256)
    return SECRET_PREFIX + base64.b64encode(key.digest()).decode()


def _key(secret: str) -> bytes:
    raw = secret.removeprefix(SECRET_PREFIX)
    key = base64.b64decode(raw + "=" * (-len(raw) % 4))
    if not key:
        raise ValueError("empty webhook secret")
    return key


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def sign(secrets_: Iterable[str], message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: one signature per valid secret (key rotation)."""
    return " ".join(signature(s, message_id, timestamp, body) for s in secrets_)


def headers(
    secrets_: Iterable[str], message_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(secrets_, message_id, ts, body),
    }


def verify(
    secrets_: Iterable[str],
    request_headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance_seconds: int = 300,
    now: float | None = None,
) -> str:
    """Check the raw body against the headers; return the webhook id or raise."""
    message_id = request_headers.get("webhook-id")
    timestamp = request_headers.get("webhook-timestamp")
    presented = request_headers.get("webhook-signature")
    if not (message_id and timestamp and presented):
        raise InvalidSignature("missing webhook-id, webhook-timestamp or webhook-signature")
    try:
        ts = int(timestamp)
    except ValueError as exc:
        raise InvalidSignature("webhook-timestamp is not an integer") from exc
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_seconds:
        raise InvalidSignature("webhook-timestamp is outside the tolerance")
    candidates = {
        part.split(",", 1)[1].encode() for part in presented.split() if part.startswith("v1,")
    }
    for secret in secrets_:
        expected = signature(secret, message_id, ts, body).split(",", 1)[1].encode()
        if any(hmac.compare_digest(expected, c) for c in candidates):
            return message_id
    raise InvalidSignature("no signature matches")
