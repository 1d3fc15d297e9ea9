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
    assert set(services) == {"postgres", "redis", "api", "worker"}
    for name in ("postgres", "redis", "api"):
        assert services[name]["healthcheck"]["test"]
    for name in ("api", "worker"):
        environment = services[name]["environment"]
        assert environment["GONGJI_DATABASE_URL"].startswith("postgresql://")
        assert environment["GONGJI_REDIS_URL"].startswith("redis://redis:")
        assert {"GONGJI_API_KEYS", "GONGJI_POLICY_PARAMETERS"} <= set(environment)
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_commands_exist_and_the_image_is_built_here():
    services = COMPOSE["services"]
    assert services["api"]["build"] == "." and (ROOT / "Dockerfile").is_file()
    assert services["worker"]["image"] == services["api"]["image"]
    for name in ("api", "worker"):
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
    assert "RUN pip install ." in DOCKERFILE
    assert 'CMD ["gongji", "serve"' in DOCKERFILE
    assert "/v1/health" in DOCKERFILE
