"""The deployment files, as far as they can be checked without a Docker engine: the compose
file parses, its services are healthchecked, and it names only images and commands that
exist (the Dockerfile builds the package whose CLI has those commands)."""

from __future__ import annotations

from pathlib import Path

import typer.main
import yaml

from cli.main import app

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _cli_has(argv: list[str]) -> bool:
    """Does ``gongji ARGV…`` reach a command of the CLI (the rest being its options)?"""
    command = typer.main.get_command(app)
    for word in argv:
        if not hasattr(command, "commands"):
            break
        command = command.commands.get(word)
        if command is None:
            return False
    return not hasattr(command, "commands")


def test_services_and_healthchecks():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "redis", "init", "api", "worker"}
    for name in ("postgres", "redis", "api"):
        assert services[name]["healthcheck"]["test"]
    for name in ("api", "worker"):
        environment = services[name]["environment"]
        assert environment["GONGJI_DATABASE_URL"].startswith("postgresql://")
        assert environment["GONGJI_REDIS_URL"].startswith("redis://redis:")
        assert {"GONGJI_API_KEYS", "GONGJI_POLICY_PARAMETERS"} <= set(environment)
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["init"]["condition"] == \
            "service_completed_successfully"
    assert services["init"]["command"] == ["gongji", "db", "init"]
    assert services["init"]["environment"] == services["api"]["environment"]


def test_commands_exist_and_the_image_is_built_here():
    services = COMPOSE["services"]
    assert services["api"]["build"] == "." and (ROOT / "Dockerfile").is_file()
    assert services["worker"]["image"] == services["init"]["image"] == services["api"]["image"]
    for name in ("init", "api", "worker"):
        command = services[name]["command"]
        assert command[0] == "gongji"
        assert _cli_has(command[1:])
    assert _cli_has(["serve"]) and _cli_has(["projections", "run"])
    assert not _cli_has(["no-such-command"])
    for image in (services["postgres"]["image"], services["redis"]["image"]):
        assert image.split(":")[0] in {"postgres", "redis"} and ":" in image


def test_the_dockerfile_installs_every_package_of_the_project():
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"]["find"]["include"]
    for package in packages:
        assert f"COPY {package.rstrip('*')} ./{package.rstrip('*')}" in DOCKERFILE
    assert "COPY pyproject.toml requirements.lock ./" in DOCKERFILE
    assert "RUN pip install -c requirements.lock ." in DOCKERFILE
    assert 'CMD ["gongji", "serve"' in DOCKERFILE
    assert "/v1/health" in DOCKERFILE


def test_the_lock_file_pins_every_dependency_and_ci_uses_it():
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [*project["dependencies"],
              *(d for extra in project["optional-dependencies"].values() for d in extra)]

    def name(requirement: str) -> str:
        return re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0].lower().replace("_", "-")

    pins = {name(line): line.split("==", 1)[1]
            for line in (ROOT / "requirements.lock").read_text().splitlines()
            if line and not line.startswith("#")}
    assert {name(r) for r in wanted} <= set(pins), "run .ci/lock"
    assert all(re.fullmatch(r"[0-9][0-9A-Za-z.+-]*", version) for version in pins.values())
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pip install -q -c requirements.lock -e '.[test]'" in ci
