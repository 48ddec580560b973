"""`policyc lsp`, the command: starts the language server (`lsp_server`), or says in one line
which extra to install when pygls is missing. Apart from `cli`, which registers it, so that the
CLI stays within its size and pygls is imported only when the command runs."""

from __future__ import annotations

from typing import IO, Any

import click

MISSING = "policyc lsp needs the language server extra: pip install 'policydsl[lsp]'"


class MissingExtra(click.ClickException):
    """One line on stderr, as the CLI reports an expected failure, and exit code 1."""

    exit_code = 1

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"policyc: {self.format_message()}", err=True)


@click.command("lsp")
@click.option(
    "--stdio",
    is_flag=True,
    help="Talk over stdin and stdout (the only transport; accepted for clients that pass it).",
)
def lsp(stdio: bool) -> None:
    """Run the language server over stdin and stdout (needs the `lsp` extra).

    Diagnostics as `policyc check` gives them, hover, go to definition, references, completion,
    document symbols, formatting and quick fixes, for the folder of each open `.policy` file.
    """
    try:
        from policydsl.lsp_server import serve
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in ("pygls", "lsprotocol", "cattrs"):
            raise
        raise MissingExtra(MISSING) from None
    serve()
