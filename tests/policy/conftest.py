"""One running stack per module and database, seeded once: the matrix and the isolation test
call a few hundred routes each and read the seed, so they share it instead of re-creating it
for every route."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.common.settings import COMPONENTS
from tests.common.events.receivers import Portal
from tests.harness import HARBIN, HEIHE, running_stack
from tests.policy.seed import PORTAL_ORIGIN, Seed, seed_city


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_urls(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """Migrated, empty databases of every component for one module."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        directory = tmp_path_factory.mktemp("policy")
        urls = {}
        for component in COMPONENTS:
            target = directory / f"{component}.db"
            shutil.copyfile(template / f"{component}.db", target)
            urls[component] = f"sqlite+aiosqlite:///{target}"
        return urls
    return request.getfixturevalue("postgres_urls")


@pytest.fixture(scope="module")
async def seed(
    module_database_urls: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Seed]:
    """Heihe and Harbin, each with one record of every kind, on a stack that runs for the
    whole module."""
    urls = module_database_urls
    backend = "sqlite" if urls["indicator"].startswith("sqlite") else "postgresql"
    reset = request.getfixturevalue("postgres_reset") if backend == "postgresql" else None
    with pytest.MonkeyPatch.context() as env:
        # As tests/conftest.py does per test: no developer GOVPERF_* settings, no ./var.
        for name in list(os.environ):
            if name.startswith("GOVPERF_"):
                env.delenv(name)
        env.setenv("GOVPERF_DATA_DIR", str(tmp_path_factory.mktemp("policy-var")))
        try:
            async with running_stack(
                backend, urls, extra_mounts={PORTAL_ORIGIN: Portal()}, log_level="WARNING"
            ) as stack:
                cities = {j: await seed_city(stack, j) for j in (HEIHE, HARBIN)}
                yield Seed(stack=stack, cities=cities)
        finally:
            if reset is not None:
                await asyncio.to_thread(reset.reset)
