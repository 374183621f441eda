"""Jurisdiction isolation, generated from the route tables: every route, both directions.

Heihe and Harbin each own one record of every kind. For every route whose policy entry
names a jurisdictional isolation, the admin of one city is sent against the other's
records: hidden records answer 404, writes into the other city 403, published records stay
readable, and lists leave the other city's unpublished records out. Nobody else of the
intruding city gets further than its admin.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests import factories
from tests.harness import HARBIN, HEIHE, auth
from tests.policy import calls
from tests.policy.policy import Entry, app_routes, load_policy
from tests.policy.seed import City, Seed

POLICY = load_policy()
DIRECTIONS = [
    pytest.param(HEIHE, HARBIN, id="harbin-in-heihe"),
    pytest.param(HARBIN, HEIHE, id="heihe-in-harbin"),
]
EXPECTED_STATUS = {"hidden": 404, "forbidden": 403}


def _cases() -> list[Any]:
    cases = []
    for component, routes in app_routes().items():
        for route in sorted(routes):
            entry = POLICY.entry(component, route)
            if entry is None or entry.isolation == "none":
                continue  # a missing entry fails the matrix; `none` has nothing to isolate
            marks = []
            if entry.isolation_xfail_reason:
                marks.append(pytest.mark.xfail(reason=entry.isolation_xfail_reason, strict=True))
            cases.append(pytest.param(component, route, id=f"{component} {route}", marks=marks))
    return cases


def _foreign_unpublished(entry: Entry, owner: City, body: Any) -> list[dict[str, Any]]:
    how = calls.recipe(entry.component, entry.route)
    return [
        item
        for item in how.items(body)
        if how.owned(item, owner) and item.get("status") not in calls.PUBLISHED
    ]


async def _check_list(seed: Seed, entry: Entry, owner: City, intruder: City) -> list[str]:
    client = seed.stack.client(entry.component)
    how = calls.recipe(entry.component, entry.route)
    lines = []
    own_call = await calls.build_call(entry, owner)
    own = await calls.send(client, own_call, owner.admin())
    if not [i for i in how.items(own.body) if how.owned(i, owner)]:
        lines.append(f"{entry.label}: {owner.jurisdiction}'s admin does not see its own records")
    # As the intruder lists it for itself, and asking for the owner's jurisdiction by name.
    for call in (
        await calls.build_call(entry, intruder),
        await calls.build_call(entry, owner),
    ):
        for query in (call.query, {**(call.query or {}), "jurisdiction": owner.jurisdiction}):
            answer = await calls.send(client, replace(call, query=query), intruder.admin())
            if answer.status >= 500:
                lines.append(f"{entry.label} {query}: got {answer}")
            leaked = _foreign_unpublished(entry, owner, answer.body)
            if leaked:
                ids = ", ".join(str(i.get("id", i.get("seq"))) for i in leaked[:3])
                lines.append(
                    f"{entry.label} {query}: {intruder.jurisdiction}'s admin lists "
                    f"{len(leaked)} of {owner.jurisdiction}'s records ({ids})"
                )
    return lines


async def _check_records(seed: Seed, entry: Entry, owner: City, intruder: City) -> list[str]:
    """The route's own record of the owner, then each other record its recipe names."""
    lines = await _check_record(seed, entry, owner, intruder)
    for key in calls.recipe(entry.component, entry.route).also:
        if entry.component in owner.per_service[key]:
            lines += await _check_record(seed, entry, owner, intruder, record=key)
    return lines


async def _check_record(
    seed: Seed, entry: Entry, owner: City, intruder: City, *, record: str | None = None
) -> list[str]:
    client = seed.stack.client(entry.component)
    call = await calls.build_call(entry, owner, record=record)
    what = f"{record} record" if record else "record"
    lines = []
    if entry.isolation == "public":
        how = calls.recipe(entry.component, entry.route)
        for principal in intruder.principals():
            answer = await calls.send(client, call, principal.headers)
            if not 200 <= answer.status < 300:
                lines.append(
                    f"{entry.label}: {owner.jurisdiction}'s published record should be "
                    f"readable by {intruder.jurisdiction}'s {principal.name}, got {answer}"
                )
        assert how.draft, f"{entry.label}: a public read needs the draft record in its recipe"
        call = await calls.build_call(entry, owner, record=how.draft)
        expected = 404
    else:
        expected = EXPECTED_STATUS[entry.isolation]
    refused = calls.recipe(entry.component, entry.route).refused
    for principal in intruder.principals():
        answer = await calls.send(client, call, principal.headers)
        turned_away = answer.status >= 300 or (refused is not None and refused(answer.body))
        if principal.kind == "admin" and answer.status != expected:
            lines.append(
                f"{entry.label}: {intruder.jurisdiction}'s admin on {owner.jurisdiction}'s "
                f"{what}: expected {expected}, got {answer}"
            )
        elif not turned_away or answer.status >= 500:
            lines.append(
                f"{entry.label}: {intruder.jurisdiction}'s {principal.name} on "
                f"{owner.jurisdiction}'s {what}: expected a refusal, got {answer}"
            )
    return lines


async def _check_passthrough(seed: Seed, entry: Entry, owner: City, intruder: City) -> list[str]:
    """Through the gateway, the intruder gets what the service itself answers."""
    lines = []
    for component, route in calls.recipe(entry.component, entry.route).via:
        upstream = POLICY.entry(component, route)
        assert upstream is not None, (component, route)
        call = await calls.build_call(upstream, owner)
        direct = await calls.send(seed.stack.client(component), call, intruder.admin())
        through = await calls.send(
            seed.stack.gateway, call, intruder.admin(), prefix=f"/api/{component}"
        )
        if (direct.status, direct.code) != (through.status, through.code):
            lines.append(
                f"{entry.label} → {component} {route}: the service answers {direct}, "
                f"the gateway {through}"
            )
    return lines


@pytest.mark.parametrize(("owner", "intruder"), DIRECTIONS)
@pytest.mark.parametrize(("component", "route"), _cases())
async def test_another_jurisdiction_is_kept_out(
    seed: Seed, component: str, route: str, owner: str, intruder: str
) -> None:
    entry = POLICY.entry(component, route)
    assert entry is not None
    theirs, mine = seed.cities[owner], seed.cities[intruder]
    if entry.isolation == "filtered":
        lines = await _check_list(seed, entry, theirs, mine)
    elif entry.isolation == "upstream":
        lines = await _check_passthrough(seed, entry, theirs, mine)
    else:
        lines = await _check_records(seed, entry, theirs, mine)
    assert not lines, "\n" + "\n".join(lines)


# Records whose state only their own jurisdiction changes, and where to read them.
READABLE = {
    "department": ("indicator", "/v1/departments/{id}"),
    "department_b": ("indicator", "/v1/departments/{id}"),
    "published_system": ("indicator", "/v1/indicator-systems/{id}"),
    "draft_system": ("indicator", "/v1/indicator-systems/{id}"),
    "measurement": ("indicator", "/v1/measurements/{id}"),
    "verified_measurement": ("indicator", "/v1/measurements/{id}"),
    "cycle": ("evaluation", "/v1/cycles/{id}"),
    "draft_publication": ("disclosure", "/v1/publications/{id}"),
    "published_publication": ("disclosure", "/v1/publications/{id}"),
    "feedback": ("feedback", "/v1/citizen-feedback/{id}"),
}


# What a creation answers with once and no read shows again: a subscription's secret, the
# citizen's feedback token.
SHOWN_ONCE = ("secret", "token")


@pytest.mark.parametrize(("owner", "intruder"), DIRECTIONS)
async def test_nothing_they_tried_changed_a_record(seed: Seed, owner: str, intruder: str) -> None:
    """After every refused write of both directions, each record reads as it was seeded."""
    city = seed.cities[owner]
    changed = []
    reads = [(key, *READABLE[key], city.records[key]) for key in READABLE]
    reads += [
        (f"subscription of {service}", service, "/v1/webhooks/subscriptions/{id}", record)
        for service, record in city.per_service["subscription"].items()
    ]
    for key, component, template, seeded in reads:
        response = await seed.stack.client(component).get(
            template.format(id=seeded["id"]), headers=city.admin()
        )
        now = response.json()
        if any(now.get(f) != value for f, value in seeded.items() if f not in SHOWN_ONCE):
            changed.append(f"{key}: seeded {seeded}, now {now}")
    assert not changed, "\n".join(changed)


class TestProvincialAdmin:
    async def test_an_admin_of_both_jurisdictions_reaches_both(self, seed: Seed) -> None:
        both = auth(jurisdictions=(HEIHE, HARBIN))
        indicator = seed.stack.client("indicator")
        listing = await indicator.get("/v1/departments", params={"limit": 200}, headers=both)
        assert {d["jurisdiction_code"] for d in listing.json()["items"]} == {HEIHE, HARBIN}
        for jurisdiction in (HEIHE, HARBIN):
            department = await factories.create_department(
                indicator, jurisdiction=jurisdiction, code="PROV", category="economic"
            )
            response = await indicator.patch(
                f"/v1/departments/{department['id']}", json={"name_en": "renamed"}, headers=both
            )
            assert response.status_code == 200, response.text
            assert response.json()["name_en"] == "renamed"
