from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from govperf.cli import main
from services.common.migrate import head_revision
from services.common.settings import DEVELOPMENT_JWT_SECRET


class TestToken:
    def test_prints_only_a_token_usable_in_shell_substitution(self, tmp_path: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOVPERF_")}
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "govperf",
                "token",
                "--role",
                "department",
                "--department",
                "HH-EDU",
                "--jurisdiction",
                "231100",
                "--jurisdiction",
                "231200",
            ],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
            env=env,
        )
        token = result.stdout.strip()
        assert result.stdout.count("\n") == 1
        claims = jwt.decode(token, DEVELOPMENT_JWT_SECRET, algorithms=["HS256"])
        assert claims["role"] == "department"
        assert claims["department_id"] == "HH-EDU"
        assert claims["jurisdictions"] == ["231100", "231200"]

    def test_uses_the_configured_secret(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        monkeypatch.setenv("GOVPERF_JWT_SECRET", "s" * 40)
        assert main(["token", "--role", "admin"]) == 0
        claims = jwt.decode(capsys.readouterr().out.strip(), "s" * 40, algorithms=["HS256"])
        assert claims["jurisdictions"] == ["231100"]

    def test_department_roles_need_a_department(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["token", "--role", "integration"]) == 2
        assert "--department" in capsys.readouterr().err


class TestMigrate:
    def test_migrates_the_named_component_into_the_data_dir(
        self,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        monkeypatch.setenv("GOVPERF_DATA_DIR", str(tmp_path / "data"))
        assert main(["migrate", "evaluation"]) == 0
        assert f"evaluation: at {head_revision('evaluation')}" in capsys.readouterr().out
        assert (tmp_path / "data" / "evaluation.db").exists()
        assert not (tmp_path / "data" / "indicator.db").exists()

    def test_an_unknown_component_is_refused(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert main(["migrate", "payroll"]) == 2
        assert "unknown component" in capsys.readouterr().err
