"""The container and its configuration stay deployable without a Docker engine: the
Dockerfile is linted by hadolint and parsed by BuildKit's own parser (the `dockerfile`
package) to check what the image must be; compose.yaml parses and wires
postgres → migrate → gateway; the example env files name every variable the gateway
reads and are wrong only where an operator must put a real secret."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import dockerfile
import pytest
import yaml
from dotenv import dotenv_values

from nodedc_gateway.entrypoints.settings import PREFIX, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or "hadolint"
SECRET_NAMES = re.compile(r"(?i)token|pepper|password|secret|api_key|credential")
VARIABLES = sorted(PREFIX + field.name.upper() for field in attrs.fields(Settings))


def stages() -> list[list[dockerfile.Command]]:
    """The Dockerfile's instructions, split at each FROM."""
    found: list[list[dockerfile.Command]] = []
    for command in dockerfile.parse_file(str(ROOT / "Dockerfile")):
        if command.cmd == "FROM":
            found.append([])
        if found:
            found[-1].append(command)
    return found


def instructions(stage: list[dockerfile.Command], name: str) -> list[dockerfile.Command]:
    return [command for command in stage if command.cmd == name]


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(
        [HADOLINT, "--no-color", "--failure-threshold", "info", "Dockerfile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_image_is_built_in_one_stage_and_runs_slim_in_another() -> None:
    build, runtime = stages()
    assert build[0].value[-2:] == ("AS", "build")
    assert runtime[0].value[-2:] == ("AS", "runtime")
    assert "slim" in (ROOT / "Dockerfile").read_text().split("ARG PYTHON_IMAGE=", 1)[1]
    [copied] = instructions(runtime, "COPY")
    assert "--from=build" in copied.flags  # only the built virtualenv crosses over
    assert not instructions(runtime, "RUN") or all(
        "pip" not in run.original and "apt-get" not in run.original
        for run in instructions(runtime, "RUN")
    )


def test_the_runtime_is_not_root_and_serves_by_default() -> None:
    runtime = stages()[-1]
    [user] = instructions(runtime, "USER")
    assert user.value[0].split(":")[0] not in ("root", "0")
    position = runtime.index
    [entrypoint] = instructions(runtime, "ENTRYPOINT")
    [cmd] = instructions(runtime, "CMD")
    assert position(user) < position(entrypoint)
    assert entrypoint.json
    assert entrypoint.value == ("nodedc-gateway",)
    assert cmd.json
    assert cmd.value == ("serve",)


def test_migrations_are_a_separate_step() -> None:
    for stage in stages():
        for run in instructions(stage, "RUN"):
            assert "migrate" not in run.original


def test_the_healthcheck_asks_health_live() -> None:
    [healthcheck] = instructions(stages()[-1], "HEALTHCHECK")
    assert healthcheck.value[0] == "CMD"
    assert "/health/live" in healthcheck.original
    assert "--interval=" in healthcheck.original
    assert "--timeout=" in healthcheck.original


def test_no_secret_is_baked_into_the_image() -> None:
    for stage in stages():
        for command in stage:
            if command.cmd in ("ENV", "ARG", "LABEL"):
                names = command.value[0::2] if command.cmd != "ARG" else command.value
                for name in names:
                    assert not SECRET_NAMES.search(name.split("=", 1)[0]), command.original
            if command.cmd in ("COPY", "ADD"):
                assert not any(".env" in part for part in command.value), command.original
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[0] == "*" or ignored[1] == "*"  # an allow-list: nothing else is sent
    assert {"**/.env", "**/.env.*"} <= set(ignored)


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_runs_migrate_once_before_the_gateway() -> None:
    services = compose()["services"]
    postgres, migrate, gateway = services["postgres"], services["migrate"], services["gateway"]

    assert migrate["command"] == ["migrate"]
    assert migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert gateway["command"] == ["serve"]
    assert gateway["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert gateway["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in postgres
    # Both run the same image with the same configuration and database.
    for key in ("image", "build", "env_file", "environment"):
        assert migrate[key] == gateway[key]
    url = gateway["environment"][PREFIX + "DATABASE_URL"]
    assert url.startswith("postgresql+psycopg://gateway:${POSTGRES_PASSWORD:?")
    assert url.endswith("@postgres:5432/gateway")
    assert postgres["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    assert gateway["read_only"] is True
    assert gateway["cap_drop"] == ["ALL"]


def test_compose_holds_no_secret_value() -> None:
    for service in compose()["services"].values():
        environment = service.get("environment", {})
        for name, value in environment.items():
            if SECRET_NAMES.search(name):
                assert str(value).startswith("${"), name  # interpolated, never written here


def declared(path: Path) -> dict[str, bool]:
    """Gateway variables a file mentions: name -> set (True) or only documented (False)."""
    found: dict[str, bool] = {}
    for line in path.read_text().splitlines():
        match = re.match(rf"^(#\s*)?({PREFIX}[A-Z_]+)=", line)
        if match:
            found[match.group(2)] = found.get(match.group(2), False) or not match.group(1)
    return found


@pytest.mark.parametrize("name", [".env.example", ".env.staging.example"])
def test_an_example_env_file_names_every_variable(name: str) -> None:
    assert sorted(declared(ROOT / name)) == VARIABLES


def test_the_production_example_is_wrong_only_where_a_secret_goes() -> None:
    values = {k: v for k, v in dotenv_values(ROOT / ".env.example").items() if v is not None}
    values[PREFIX + "DATABASE_URL"] = (
        "postgresql+psycopg://gateway:pw-from-compose@postgres/gateway"
    )
    settings = load_settings({k: v for k, v in values.items() if k.startswith(PREFIX)})

    assert settings.env == "production"
    assert settings.problems() == [
        f"{PREFIX}{name} is a placeholder from an example file; generate a real secret"
        for name in ("INTERNAL_TOKEN", "TOKEN_PEPPER", "TASKER_TOKEN", "LAUNCHER_TOKEN")
    ]


def test_the_staging_example_is_wrong_only_where_a_secret_goes(tmp_path: Path) -> None:
    (tmp_path / ".env.staging").write_text((ROOT / ".env.staging.example").read_text())
    settings = load_settings({PREFIX + "ENV": "staging"}, directory=tmp_path)

    assert settings.env == "staging"
    assert settings.launcher_entitled_users == ("change-me-user-id-1", "change-me-user-id-2")
    assert settings.problems() == [
        f"{PREFIX}{name} is a placeholder from an example file; generate a real secret"
        for name in ("INTERNAL_TOKEN", "TOKEN_PEPPER", "PLANE_API_KEY")
    ] + [f"{PREFIX}DATABASE_URL carries a placeholder password; set the real one"]


def test_the_operations_guide_explains_every_variable() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text()
    missing = [name for name in VARIABLES if f"`{name.removeprefix(PREFIX)}`" not in guide]
    assert not missing
