"""Wire types every feature of the indicator service shares: the shape of codes and
categories (departments', indicators' and systems' codes are external ids, as in DHIS2)."""

from __future__ import annotations

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
CATEGORY_PATTERN = r"^[a-z][a-z0-9_]*$"
