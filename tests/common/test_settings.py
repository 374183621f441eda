from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.settings import Settings as GatewaySettings
from services.common.settings import DEVELOPMENT_JWT_SECRET
from services.indicator.settings import Settings as IndicatorSettings


class TestProductionGuard:
    def test_production_refuses_the_development_secret(self) -> None:
        with pytest.raises(ValidationError, match="refuses the development JWT secret"):
            IndicatorSettings(env="production")

    def test_production_refuses_a_short_secret(self) -> None:
        with pytest.raises(ValidationError):
            IndicatorSettings(env="production", jwt_secret="short")

    def test_production_accepts_a_real_secret(self) -> None:
        assert IndicatorSettings(env="production", jwt_secret="x" * 40).env == "production"

    def test_a_jwks_url_does_not_excuse_the_development_secret(self) -> None:
        # The secret also seeds the webhook secrets between the services.
        with pytest.raises(ValidationError):
            IndicatorSettings(env="production", jwt_jwks_url="https://idp.example/jwks")

    def test_development_uses_the_development_secret(self) -> None:
        assert IndicatorSettings().jwt_secret.get_secret_value() == DEVELOPMENT_JWT_SECRET


class TestEnvironment:
    def test_component_variables_override_shared_ones(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("GOVPERF_JWT_SECRET", "shared-secret-" + "x" * 30)
        monkeypatch.setenv("GOVPERF_LOG_LEVEL", "WARNING")
        monkeypatch.setenv("GOVPERF_INDICATOR_LOG_LEVEL", "DEBUG")
        monkeypatch.setenv("GOVPERF_INDICATOR_PORT", "9101")
        indicator = IndicatorSettings()
        gateway = GatewaySettings()
        assert indicator.jwt_secret.get_secret_value().startswith("shared-secret-")
        assert gateway.jwt_secret.get_secret_value().startswith("shared-secret-")
        assert (indicator.log_level, gateway.log_level) == ("DEBUG", "WARNING")
        assert (indicator.port, gateway.port) == (9101, 8000)

    def test_sqlite_files_go_to_the_data_dir(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setenv("GOVPERF_DATA_DIR", str(tmp_path / "data"))
        assert IndicatorSettings().database_url == (
            f"sqlite+aiosqlite:///{tmp_path / 'data' / 'indicator.db'}"
        )

    def test_without_a_data_dir_files_go_to_var_of_the_working_directory(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.delenv("GOVPERF_DATA_DIR")
        monkeypatch.chdir(tmp_path)
        assert IndicatorSettings().database_url.endswith(f"{tmp_path}/var/indicator.db")

    def test_default_ports(self) -> None:
        assert GatewaySettings().service_urls() == {
            "indicator": "http://127.0.0.1:8001",
            "evaluation": "http://127.0.0.1:8002",
            "disclosure": "http://127.0.0.1:8003",
            "feedback": "http://127.0.0.1:8004",
        }
