"""Console accounts from the command line (the operator's path; no web form creates one):

    python -m services.console.accounts add USERNAME --persona agent --agent-id ann.first
    python -m services.console.accounts add carla --persona customer --org acme \\
        --email carla@acme.example
    python -m services.console.accounts password USERNAME

The password comes from HELPDESK_CONSOLE_PASSWORD, else it is asked for (never an argument:
the process list would show it). The database is the console's (MONGODB_URI,
HELPDESK_DB_PREFIX), as the running console reads it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

import httpx

from shared.clock import SystemClock
from shared.db import ensure_indexes, make_client
from shared.errors import DomainError

from . import service
from .app import ConsoleSettings
from .backends import Backends, BackendUrls
from .domain import LANGUAGES, Persona
from .store import INDEXES, MongoConsoleStore


def _password(confirm: bool = True) -> str:
    given = os.environ.get("HELPDESK_CONSOLE_PASSWORD")
    if given:
        return given
    first = getpass.getpass("password: ")
    if confirm and getpass.getpass("again: ") != first:
        raise SystemExit("the passwords differ")
    return first


async def _run(args: argparse.Namespace) -> int:
    settings = ConsoleSettings()
    client = make_client(settings)
    db = client[settings.database_name]
    try:
        await ensure_indexes(db, INDEXES)
        async with httpx.AsyncClient() as http:
            deps = service.ConsoleDeps(
                store=MongoConsoleStore(db),
                backends=Backends(BackendUrls("", "", "", "", ""), http),
                clock=SystemClock(),
                jwt_secret=settings.jwt_secret or "unused",
            )
            if args.command == "password":
                if await deps.store.get_account(args.username) is None:
                    print(f"no account {args.username}", file=sys.stderr)
                    return 1
                hashed = await service.hash_password(_password(), deps)
                await deps.store.set_password(args.username, hashed)
                print(f"password of {args.username} changed")
                return 0
            if args.exist_ok and await deps.store.get_account(args.username) is not None:
                print(f"account {args.username} exists")
                return 0
            try:
                account = await service.add_account(
                    username=args.username,
                    password=_password(),
                    persona=Persona(args.persona),
                    deps=deps,
                    name=args.name,
                    agent_id=args.agent_id,
                    organization_id=args.org,
                    email=args.email,
                    language=args.language,
                )
            except DomainError as exc:
                print(exc.detail, file=sys.stderr)
                return 1
            except ValueError as exc:  # the account's own rules (pydantic)
                print(str(exc), file=sys.stderr)
                return 1
            print(f"account {account.username} ({account.persona.value}) added")
            return 0
    finally:
        await client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add an account")
    add.add_argument("username")
    add.add_argument("--persona", choices=[p.value for p in Persona], required=True)
    add.add_argument("--name", default="")
    add.add_argument("--agent-id", help="staff: the triage agent id")
    add.add_argument("--org", help="customers: the intake organisation id")
    add.add_argument("--email", help="customers: the contact's address")
    add.add_argument("--language", choices=LANGUAGES, default="en")
    add.add_argument("--exist-ok", action="store_true", help="an existing account is fine")
    password = commands.add_parser("password", help="set an account's password")
    password.add_argument("username")
    return asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
