"""The authorization matrix: every route of every component, called as every principal.

policy/authorization.yaml declares who may call what. Each route of the apps' route tables
is called with Heihe's records as each kind of principal (department-bound ones for their
own department A and for another department B), and each answer must agree with the
declaration. A failure lists one line per disagreement.
"""

from __future__ import annotations

import pytest

from govperf.components import COMPONENTS
from tests.harness import HEIHE
from tests.policy import calls
from tests.policy.policy import Entry, app_routes, build_app, coverage_problems, load_policy
from tests.policy.seed import City, Principal, Seed

POLICY = load_policy()


def _cases() -> list[object]:
    cases = []
    for component, routes in app_routes().items():
        for route in sorted(routes):
            entry = POLICY.entry(component, route)
            marks = []
            if entry is not None and entry.xfail_reason:
                marks.append(pytest.mark.xfail(reason=entry.xfail_reason, strict=True))
            cases.append(pytest.param(component, route, id=f"{component} {route}", marks=marks))
    return cases


def _in_passing_order(principals: list[Principal], entry: Entry) -> list[Principal]:
    # Refusals first: a write that is let through may use up the record the others try.
    return sorted(principals, key=lambda p: calls.passes(entry.access[p.kind], p))


async def _check_route(seed: Seed, city: City, entry: Entry, label: str) -> list[str]:
    client = seed.stack.client(entry.component)
    lines = []
    for principal in _in_passing_order(city.principals(), entry):
        value = entry.access[principal.kind]
        call = await calls.build_call(entry, city, fresh=calls.passes(value, principal))
        answer = await calls.send(client, call, principal.headers)
        expected = calls.access_mismatch(value, principal, answer)
        if expected:
            lines.append(f"{label} as {principal.name}: expected {expected}, got {answer}")
    return lines


async def _check_drafts(seed: Seed, city: City, entry: Entry) -> list[str]:
    """Unpublished records are the office's: other principals find them absent."""
    how = calls.recipe(entry.component, entry.route)
    assert how.draft, f"{entry.label}: drafts: admin needs a recipe naming the draft record"
    draft_id = str(city.records[how.draft]["id"])
    client = seed.stack.client(entry.component)
    lines = []
    for principal in city.principals():
        call = await calls.build_call(entry, city, record=how.draft)
        answer = await calls.send(client, call, principal.headers)
        if "{" in entry.path:
            seen = 200 <= answer.status < 300
        else:
            seen = draft_id in {str(i.get("id")) for i in how.items(answer.body)}
        if principal.kind == "admin" and not seen:
            lines.append(f"{entry.label} as admin: expected to read its draft, got {answer}")
        if principal.kind != "admin" and seen:
            lines.append(
                f"{entry.label} as {principal.name}: expected the draft hidden, got {answer}"
            )
    return lines


async def _check_passthrough(seed: Seed, city: City, entry: Entry) -> list[str]:
    """Through the gateway, each sampled service route answers as its own entry says."""
    how = calls.recipe(entry.component, entry.route)
    assert how.via, f"{entry.label}: name the service routes to try through the passthrough"
    lines = []
    for component, route in how.via:
        upstream = POLICY.entry(component, route)
        assert upstream is not None and upstream.method == entry.method, (component, route)
        for principal in _in_passing_order(city.principals(), upstream):
            value = upstream.access[principal.kind]
            call = await calls.build_call(upstream, city, fresh=calls.passes(value, principal))
            answer = await calls.send(
                seed.stack.gateway, call, principal.headers, prefix=f"/api/{component}"
            )
            expected = calls.access_mismatch(value, principal, answer)
            if expected:
                lines.append(
                    f"{entry.label} → {component} {route} as {principal.name}: "
                    f"expected {expected}, got {answer}"
                )
    return lines


class TestPolicyFile:
    @pytest.mark.parametrize("component", COMPONENTS)
    def test_every_route_has_an_entry_and_every_entry_a_route(self, component: str) -> None:
        problems = coverage_problems(component, build_app(component), POLICY)
        assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("component", "route"), _cases())
async def test_route_answers_every_principal_as_declared(
    seed: Seed, component: str, route: str
) -> None:
    entry = POLICY.entry(component, route)
    assert entry is not None, f"{component} {route}: no policy entry in policy/authorization.yaml"
    city = seed.cities[HEIHE]
    if set(entry.access.values()) == {"upstream"}:
        lines = await _check_passthrough(seed, city, entry)
    else:
        lines = await _check_route(seed, city, entry, entry.label)
    if entry.drafts_admin_only:
        lines += await _check_drafts(seed, city, entry)
    assert not lines, "\n" + "\n".join(lines)
