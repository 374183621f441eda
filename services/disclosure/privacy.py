"""What enters a published version is scrubbed: free text of phone numbers, ID-card numbers
and e-mail addresses (the kit's `scrub`), and data of every key that carries a respondent's
identity (`respondent*`, `device*`, `phone*`, `response_id`), at any depth."""

from __future__ import annotations

from typing import Any

from services.common.privacy import scrub

IDENTIFYING_PREFIXES = ("respondent", "device", "phone")
IDENTIFYING_KEYS = frozenset({"response_id", "response_ids"})


def identifying(key: str) -> bool:
    lowered = key.lower()
    return lowered in IDENTIFYING_KEYS or lowered.startswith(IDENTIFYING_PREFIXES)


def scrub_value(value: Any) -> Any:
    """`value` with every string scrubbed and identifying keys dropped, recursively."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(str(k)): scrub_value(v) for k, v in value.items() if not identifying(str(k))}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value


def scrub_text(value: str | None) -> str | None:
    return None if value is None else scrub(value)
