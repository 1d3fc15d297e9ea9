"""Entry point of the ``gongji`` console script."""

from __future__ import annotations

import typer

from cli import (
    audit, cipher, conformance, db, demo, export, institutions, jobs, people, projections,
    reports, serve, whatif,
)

app = typer.Typer(
    name="gongji",
    help="共济 gongji: event-sourced ledger of employee medical insurance personal accounts "
         "(职工医保个人账户) and ordinary outpatient pooling (普通门诊统筹).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(db.app, name="db")
app.add_typer(conformance.app, name="conformance")
app.add_typer(projections.app, name="projections")
app.add_typer(audit.app, name="audit")
app.add_typer(jobs.app, name="jobs")
app.add_typer(people.app, name="people")
app.add_typer(institutions.app, name="institutions")
app.add_typer(export.app, name="export")
app.add_typer(reports.app, name="reports")
app.add_typer(cipher.app, name="cipher")
app.command("demo")(demo.demo)
app.command("serve")(serve.serve)
app.command("what-if")(whatif.what_if_command)

if __name__ == "__main__":
    app()
