"""The authorization policy file and the apps' route tables, read the same way everywhere.

`route_keys(app)` flattens an app's routes (FastAPI nests included routers) into
"METHOD /path" keys; `coverage_problems` is the check that names every route without a
policy entry and every entry without a route.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount, WebSocketRoute

from govperf.components import COMPONENTS, SERVICES, create_app, settings_class

POLICY_FILE = Path(__file__).resolve().parents[2] / "policy" / "authorization.yaml"
PRINCIPAL_KINDS = (
    "anonymous",
    "citizen_app",
    "department",
    "integration",
    "portal",
    "evaluator",
    "admin",
)
ACCESS_VALUES = {"allow", "deny", "own", "upstream"}
ISOLATION_VALUES = {"hidden", "forbidden", "public", "filtered", "none", "upstream"}
ENTRY_FIELDS = {"access", "isolation", "drafts", "xfail_reason", "isolation_xfail_reason"}


class PolicyError(ValueError):
    """The policy file itself is malformed."""


@dataclass(frozen=True)
class Entry:
    component: str
    route: str  # "METHOD /path/template"
    access: dict[str, str]  # principal kind -> allow / deny / own / upstream
    isolation: str
    drafts_admin_only: bool = False
    xfail_reason: str | None = None
    isolation_xfail_reason: str | None = None

    @property
    def method(self) -> str:
        return self.route.split(" ", 1)[0]

    @property
    def path(self) -> str:
        return self.route.split(" ", 1)[1]

    @property
    def label(self) -> str:
        return f"{self.component} {self.route}"


@dataclass
class Policy:
    entries: dict[str, dict[str, Entry]] = field(default_factory=dict)  # component -> route

    def entry(self, component: str, route: str) -> Entry | None:
        return self.entries.get(component, {}).get(route)


def _entry(
    component: str, route: str, raw: Any, rules: dict[str, dict[str, str]], where: str
) -> Entry:
    if not isinstance(raw, dict):
        raise PolicyError(f"{where}: '{route}' must be a mapping")
    method, _, path = route.partition(" ")
    if not method.isupper() or not path.startswith("/"):
        raise PolicyError(f"{where}: '{route}' is not 'METHOD /path'")
    unknown = set(raw) - ENTRY_FIELDS - set(PRINCIPAL_KINDS)
    if unknown:
        raise PolicyError(f"{where}: '{route}' has unknown fields {sorted(unknown)}")
    rule = raw.get("access")
    if rule not in rules:
        raise PolicyError(f"{where}: '{route}' names no known access rule ({rule!r})")
    access = {**rules[rule], **{k: raw[k] for k in PRINCIPAL_KINDS if k in raw}}
    for kind, value in access.items():
        if value not in ACCESS_VALUES:
            raise PolicyError(f"{where}: '{route}' gives {kind} the unknown value {value!r}")
    isolation = raw.get("isolation")
    if isolation not in ISOLATION_VALUES:
        raise PolicyError(f"{where}: '{route}' has no valid isolation ({isolation!r})")
    drafts = raw.get("drafts")
    if drafts not in (None, "admin"):
        raise PolicyError(f"{where}: '{route}' drafts must be 'admin' ({drafts!r})")
    return Entry(
        component=component,
        route=route,
        access=access,
        isolation=isolation,
        drafts_admin_only=drafts == "admin",
        xfail_reason=raw.get("xfail_reason"),
        isolation_xfail_reason=raw.get("isolation_xfail_reason"),
    )


def parse_policy(document: dict[str, Any]) -> Policy:
    """The policy from the parsed YAML document; malformed entries raise `PolicyError`."""
    rules = document.get("access") or {}
    for name, rule in rules.items():
        if not isinstance(rule, dict) or set(rule) != set(PRINCIPAL_KINDS):
            raise PolicyError(f"access rule '{name}' must give a value to every principal kind")
    policy = Policy(entries={c: {} for c in COMPONENTS})
    sections: list[tuple[str, Iterable[str], dict[str, Any]]] = [
        ("every_component", COMPONENTS, document.get("every_component") or {}),
        ("every_service", SERVICES, document.get("every_service") or {}),
    ]
    components = document.get("components") or {}
    unknown = set(components) - set(COMPONENTS)
    if unknown:
        raise PolicyError(f"components: unknown components {sorted(unknown)}")
    sections += [(f"components.{c}", (c,), routes or {}) for c, routes in components.items()]
    for where, targets, routes in sections:
        shared = not where.startswith("components.")
        for route, raw in routes.items():
            for component in targets:
                # A component's own section may replace a shared entry (one service's
                # exception); anything else declared twice is a mistake.
                if route in policy.entries[component] and shared:
                    raise PolicyError(f"{where}: '{route}' is declared twice for {component}")
                policy.entries[component][route] = _entry(component, route, raw, rules, where)
    return policy


@cache
def load_policy(path: Path = POLICY_FILE) -> Policy:
    return parse_policy(yaml.safe_load(path.read_text(encoding="utf-8")))


def route_keys(app: Any) -> set[str]:
    """Every "METHOD /path" an app answers, included routers flattened; HEAD is left out
    where GET is there (Starlette adds it), websockets are "WEBSOCKET /path", a mounted
    app is "MOUNT /path"."""
    keys: set[str] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        path = context.path
        if isinstance(route, WebSocketRoute) or type(route).__name__ == "APIWebSocketRoute":
            keys.add(f"WEBSOCKET {path}")
        elif isinstance(route, Mount):
            keys.add(f"MOUNT {path}")
        else:
            methods = set(context.methods or ())
            if "GET" in methods:
                methods.discard("HEAD")
            keys.update(f"{method} {path}" for method in methods)
    return keys


def coverage_problems(component: str, app: Any, policy: Policy) -> list[str]:
    """One line per route of `app` without a policy entry and per entry without a route."""
    routes = route_keys(app)
    declared = set(policy.entries.get(component, {}))
    return [
        *(f"{component} {r}: no policy entry" for r in sorted(routes - declared)),
        *(
            f"{component} {r}: policy entry for a route that does not exist"
            for r in sorted(declared - routes)
        ),
    ]


def build_app(component: str, **overrides: Any) -> Any:
    """The component's app, not started: enough to read its route table."""
    settings = settings_class(component)(
        **{"database_url": "sqlite+aiosqlite:///:memory:", "env": "test", **overrides}
    )
    return create_app(component, settings)


@cache
def app_routes() -> dict[str, frozenset[str]]:
    """The route table of every component, as the apps build it."""
    return {c: frozenset(route_keys(build_app(c))) for c in COMPONENTS}
