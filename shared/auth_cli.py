"""Issue an HS256 token for the demo: python -m shared.auth_cli --sub alice --roles agent."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from .auth import Role, issue_token


def read_secret(path: Path) -> str:
    secret = os.environ.get("HELPDESK_JWT_SECRET") or (
        path.read_text().strip() if path.exists() else ""
    )
    if not secret:
        raise SystemExit(f"no HELPDESK_JWT_SECRET and no {path}: run `make run` once")
    return secret


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sub", default="demo-supervisor")
    parser.add_argument("--roles", default="agent,supervisor,admin")
    parser.add_argument("--org", default=None)
    parser.add_argument("--name", default="Demo Supervisor")
    parser.add_argument("--email", default=None)
    parser.add_argument("--ttl", type=int, default=12 * 3600, help="seconds")
    parser.add_argument("--secret-file", type=Path, default=Path(".local/jwt.secret"))
    args = parser.parse_args(argv)
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    unknown = set(roles) - {r.value for r in Role}
    if unknown:
        parser.error(f"unknown roles {sorted(unknown)}")
    token = issue_token(
        read_secret(args.secret_file),
        sub=args.sub,
        roles=roles,
        org=args.org,
        name=args.name,
        email=args.email,
        ttl_seconds=args.ttl,
    )
    print(token)


if __name__ == "__main__":
    main()
