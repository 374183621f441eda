"""docker-compose.yml, the Dockerfile and the Postgres init script, read as a deployer would.

No Docker engine is needed: the compose file is parsed with PyYAML, `${...}` is interpolated
here the way compose does it, and each component's environment is fed to its real settings
class, which proves the variable names are the ones the code reads.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from govperf.components import SERVICES, settings_class
from services.common.settings import COMPONENTS, DEFAULT_PORTS

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
INITDB_DIR = "/docker-entrypoint-initdb.d/"

# What a deployer exports before `docker compose up`.
DEPLOYER_ENV = {
    "GOVPERF_JWT_SECRET": "compose-test-secret-0123456789abcdefghijklmnop",
    "POSTGRES_PASSWORD": "compose-test-password",
}
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:[-?])(?P<arg>[^}]*))?\}")
READYZ = re.compile(r"http://127\.0\.0\.1:(?P<port>\d+)/readyz")


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def service(name: str) -> dict[str, Any]:
    return compose()["services"][name]


def environment(name: str) -> dict[str, str]:
    """A service's environment as written (before interpolation), values as strings."""
    return {key: str(value) for key, value in service(name).get("environment", {}).items()}


def interpolate(value: str, env: dict[str, str]) -> str:
    """`${VAR}`, `${VAR:-default}` and `${VAR:?message}` as compose resolves them."""

    def resolve(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if env.get(name):
            return env[name]
        if op == ":?":
            raise AssertionError(f"compose would refuse to start: {name}: {arg}")
        return arg if op == ":-" else ""

    return INTERPOLATION.sub(resolve, value)


def resolved_environment(name: str) -> dict[str, str]:
    return {key: interpolate(value, DEPLOYER_ENV) for key, value in environment(name).items()}


def listening_port(name: str) -> int:
    return int(environment(name)[f"GOVPERF_{name.upper()}_PORT"])


def expected_database_url(name: str) -> str:
    password = DEPLOYER_ENV["POSTGRES_PASSWORD"]
    return f"postgresql+asyncpg://govperf:{password}@postgres:5432/{name}"


def init_script() -> Path:
    mounts = [
        volume.split(":")
        for volume in service("postgres").get("volumes", [])
        if INITDB_DIR in volume
    ]
    assert len(mounts) == 1, "postgres should mount one init script into docker-entrypoint"
    return (ROOT / mounts[0][0]).resolve()


def use_compose_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> None:
    """The process environment a container of `name` would see, and nothing else GOVPERF_."""
    for key in list(os.environ):
        if key.startswith("GOVPERF_"):
            monkeypatch.delenv(key)
    for key, value in resolved_environment(name).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GOVPERF_DATA_DIR", str(tmp_path))


components = pytest.mark.parametrize("name", COMPONENTS)


class TestServices:
    def test_every_component_and_postgres_is_a_service(self) -> None:
        assert set(compose()["services"]) >= {*COMPONENTS, "postgres"}

    def test_no_obsolete_version_key(self) -> None:
        assert "version" not in compose()

    @components
    def test_all_components_share_one_image_built_from_the_repo(self, name: str) -> None:
        assert service(name)["build"] == "."
        assert service(name)["image"] == service("gateway")["image"]


class TestCommands:
    @components
    def test_command_serves_that_component(self, name: str) -> None:
        assert service(name)["command"] == ["govperf", "serve", name]


class TestDatabases:
    @components
    def test_database_url_is_its_own_postgres_database(self, name: str) -> None:
        url = make_url(resolved_environment(name)[f"GOVPERF_{name.upper()}_DATABASE_URL"])
        assert url.drivername == "postgresql+asyncpg"
        assert url.host == "postgres"
        assert url.database == name
        assert url.password == DEPLOYER_ENV["POSTGRES_PASSWORD"]

    def test_database_names_are_distinct(self) -> None:
        names = [
            make_url(resolved_environment(c)[f"GOVPERF_{c.upper()}_DATABASE_URL"]).database
            for c in COMPONENTS
        ]
        assert len(set(names)) == len(COMPONENTS)


class TestProductionEnvironment:
    @components
    def test_env_is_production(self, name: str) -> None:
        assert environment(name)["GOVPERF_ENV"] == "production"

    @components
    def test_jwt_secret_is_required_from_the_deployer(self, name: str) -> None:
        assert re.fullmatch(
            r"\$\{GOVPERF_JWT_SECRET:\?.+\}", environment(name)["GOVPERF_JWT_SECRET"]
        )

    @components
    def test_listens_on_all_interfaces(self, name: str) -> None:
        assert environment(name)["GOVPERF_HOST"] == "0.0.0.0"

    def test_missing_secret_stops_compose(self) -> None:
        with pytest.raises(AssertionError, match="GOVPERF_JWT_SECRET"):
            interpolate(environment("gateway")["GOVPERF_JWT_SECRET"], {})


class TestPorts:
    def test_listening_ports_are_unique(self) -> None:
        ports = [listening_port(c) for c in COMPONENTS]
        assert len(set(ports)) == len(COMPONENTS)

    @components
    def test_listening_port_is_the_default(self, name: str) -> None:
        assert listening_port(name) == DEFAULT_PORTS[name]

    def test_only_the_gateway_is_published(self) -> None:
        published = {c: service(c).get("ports") for c in COMPONENTS if service(c).get("ports")}
        assert published == {"gateway": [f"8000:{listening_port('gateway')}"]}


class TestServiceUrls:
    @components
    @pytest.mark.parametrize("upstream", SERVICES)
    def test_every_component_finds_each_service_by_compose_name_and_port(
        self, name: str, upstream: str
    ) -> None:
        # The gateway's upstreams and the webhook targets between services.
        url = environment(name)[f"GOVPERF_{upstream.upper()}_URL"]
        assert url == f"http://{upstream}:{listening_port(upstream)}"


class TestHealth:
    @components
    def test_healthcheck_probes_readyz_on_its_own_port(self, name: str) -> None:
        probe = " ".join(service(name)["healthcheck"]["test"])
        match = READYZ.search(probe)
        assert match, probe
        assert int(match["port"]) == listening_port(name)

    @components
    def test_waits_for_healthy_postgres(self, name: str) -> None:
        assert service(name)["depends_on"]["postgres"] == {"condition": "service_healthy"}

    def test_gateway_waits_for_healthy_services(self) -> None:
        depends_on = service("gateway")["depends_on"]
        assert {s: depends_on.get(s) for s in SERVICES} == {
            s: {"condition": "service_healthy"} for s in SERVICES
        }

    def test_postgres_has_a_healthcheck(self) -> None:
        assert "pg_isready" in " ".join(service("postgres")["healthcheck"]["test"])

    @components
    def test_restarts_unless_stopped(self, name: str) -> None:
        assert service(name)["restart"] == "unless-stopped"


class TestPostgresInitScript:
    def test_script_exists_and_is_executable(self) -> None:
        script = init_script()
        assert script.is_file()
        assert os.access(script, os.X_OK)

    @components
    def test_script_creates_the_component_database(self, name: str) -> None:
        assert re.search(rf"\b{name}\b", init_script().read_text(encoding="utf-8"))


class TestDockerfile:
    def test_default_command_runs_govperf(self) -> None:
        instructions = [
            line.split(maxsplit=1)
            for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
            if line.startswith(("CMD ", "ENTRYPOINT "))
        ]
        assert instructions, "Dockerfile has no CMD or ENTRYPOINT"
        _, last = instructions[-1]
        assert json.loads(last)[0] == "govperf"


class TestSettingsFromComposeEnvironment:
    @components
    def test_settings_validate_with_the_compose_environment(
        self, name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        use_compose_environment(monkeypatch, tmp_path, name)

        settings = settings_class(name)()

        assert settings.env == "production"
        assert settings.host == "0.0.0.0"
        assert settings.port == DEFAULT_PORTS[name]
        assert settings.database_url == expected_database_url(name)
        assert settings.jwt_secret.get_secret_value() == DEPLOYER_ENV["GOVPERF_JWT_SECRET"]

    def test_gateway_settings_reach_the_services_by_compose_name(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        use_compose_environment(monkeypatch, tmp_path, "gateway")

        settings = settings_class("gateway")()

        assert settings.service_urls() == {s: f"http://{s}:{DEFAULT_PORTS[s]}" for s in SERVICES}
