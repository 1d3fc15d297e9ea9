"""``gongji conformance run``: execute a FORMAT.md scenario and print its result document."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from conformance.inprocess import InProcessDriver
from conformance.runner import run
from conformance.scenario import ScenarioError, load
from ledger import open_ledger
from policies.parameters import ParameterError

app = typer.Typer(help="Run conformance scenarios (shared/conformance/FORMAT.md).",
                  no_args_is_help=True)


@app.command("run")
def run_scenario(
    file: Annotated[Path, typer.Argument(help="scenario JSON file", show_default=False)],
    api: Annotated[Optional[str], typer.Option(
        help="base URL of a running gongji server (e.g. http://127.0.0.1:8000); "
             "default: in process on a fresh temporary store")] = None,
    api_key: Annotated[Optional[str], typer.Option(
        envvar="GONGJI_API_KEY", help="API key with the agency role (with --api)")] = None,
) -> None:
    """Run every step of FILE in order and print one JSON document on stdout.

    Exit status 0 whatever the steps did (a refused step is a result); 2 when FILE is not
    a valid scenario or, with --api, the server's policy parameters differ from FILE's.
    Refused steps are explained on stderr.
    """
    try:
        scenario = load(file)
        if api:
            from conformance.http import HttpDriver, ServerMismatch

            try:
                driver = HttpDriver(api, api_key, scenario.policy_parameters)
            except ServerMismatch as error:
                typer.echo(f"gongji: {error}", err=True)
                raise typer.Exit(2) from None
            document = run(scenario, driver)
        else:
            with tempfile.TemporaryDirectory(prefix="gongji-conformance-") as tmp:
                ledger = open_ledger(str(Path(tmp) / "gongji.db"), scenario.policy_parameters)
                try:
                    document = run(scenario, InProcessDriver(ledger))
                finally:
                    ledger.close()
    except (ScenarioError, ParameterError) as error:
        where = "" if str(error).startswith(str(file)) else f"{file}: "
        typer.echo(f"gongji: {where}{error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(document, ensure_ascii=False, indent=2))
