"""`--entities FILE`: the entity data the CLI's deciding commands decide with.

`policyc eval`, `explain`, `test`, `serve` and `diff --requests` read the entities a policy's
`entity` declarations describe from a file in Cedar's JSON entity format (a list of `uid`,
`attrs`, `parents`). The option is attached to those commands here (`attach`), and the file is
loaded into each policy the CLI loads (`install`), so the commands themselves only load policies
as they did. A file that breaks the declarations ends the command with one line naming the
entity and the attribute, and exit code 3, as an invalid request does; never a traceback.
(`policyc serve` hands the file to its `PolicyHolder`, which reloads it with the policy.)
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from policydsl.engine import DEFAULT_BACKEND
from policydsl.entity_data import EntityDataError
from policydsl.terminal import shown

if TYPE_CHECKING:
    from policydsl.engine import Policy

EXIT_BAD_DATA = 3  # the CLI's code for input that breaks the policy's schema
_KEY = "policydsl.entities"

HELP = {
    "eval": "Entity data (Cedar JSON: a list of uid, attrs, parents) the request's entity ids "
    "name; with --jobs, each worker decides with it.",
    "explain": "Entity data (Cedar JSON: a list of uid, attrs, parents) the request's entity ids "
    "name.",
    "test": "Entity data (Cedar JSON: a list of uid, attrs, parents) for the cases. A case file "
    'may name its own, relative to it: {"policy": ..., "entities": "people.json", "cases": '
    "[...]} (or a list of entities in place); in a .cases.jsonl file, on the first line with "
    '"policy". A file\'s own replaces this one.',
    "diff": "With --requests: entity data (Cedar JSON: a list of uid, attrs, parents) the "
    "recorded requests' entity ids name, validated against each version.",
    "serve": "Entity data (Cedar JSON: a list of uid, attrs, parents) the requests' entity ids "
    "name; reloaded with the policy (watched, SIGHUP, POST /v1/reload). Data that breaks the "
    "declarations is rejected and the entities in force keep serving.",
}


class EntityFileError(click.ClickException):
    """An --entities file that cannot be read or breaks the declarations: one line, exit 3."""

    exit_code = EXIT_BAD_DATA

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"policyc: {shown(self.message)}", err=True, file=file)


def _remember(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        ctx.meta[_KEY] = value


def attach(group: click.Group) -> None:
    """Give each deciding command of `group` the --entities option (before its --debug)."""
    for name, text in HELP.items():
        command = group.commands[name]
        option = click.Option(
            ["--entities"],
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            metavar="FILE",
            expose_value=False,
            callback=_remember,
            help=text,
        )
        names = [p.name for p in command.params]
        at = names.index("debug") if "debug" in names else len(names)
        command.params.insert(at, option)


def given() -> Path | None:
    """The --entities file of the command running, if one was given."""
    found = click.get_current_context().meta.get(_KEY)
    return found if isinstance(found, Path) else None


def held(backend: str | None, fail_closed: bool) -> dict[str, Any]:
    """`policyc serve`'s `PolicyHolder` keywords: these options', and the --entities file."""
    found: dict[str, Any] = {"backend": backend or DEFAULT_BACKEND, "fail_closed": fail_closed}
    path = given()
    return found if path is None else {**found, "entities": path}


def install(policy: Policy) -> Policy:
    """Load the --entities file, if one was given, into `policy`; returns the policy."""
    path = given()
    if path is not None:
        try:
            policy.load_entities_file(path)
        except EntityDataError as err:
            message = str(err) if str(path) in str(err) else f"{path}: {err}"
            raise EntityFileError(message) from None
    return policy
