"""Events the indicator service emits (catalog: docs/events.md).

- `indicator_system.published`: the full snapshot of a published version (tree, weights,
  targets, rules), for evaluation and disclosure.
- `measurements.imported`: one per import that changed anything, with its counts, the
  departments and periods it touched and the change-feed cursor after it.
- `measurement.verified` / `measurement.returned`: a value's key and status.
"""

from __future__ import annotations

SIBLING_SUBSCRIBERS: dict[str, tuple[str, ...]] = {
    "evaluation": (
        "indicator_system.published",
        "measurements.imported",
        "measurement.verified",
        "measurement.returned",
    ),
    "disclosure": ("indicator_system.published",),
}
