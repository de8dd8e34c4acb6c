"""Runs the five services as child processes on loopback: `make run`, the e2e tests, benchmarks.

`python -m shared.devstack run` starts them in the foreground with prefixed logs, prints the URLs
and a demo token, and stops them on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

import httpx

from .auth import issue_token
from .local_prometheus import LocalPrometheus
from .topics import SERVICES

PORTS = {
    "console": 8000,
    "intake": 8001,
    "triage": 8002,
    "sla": 8003,
    "problems": 8004,
    "reporting": 8005,
}
WITH_CONSOLE = (*SERVICES, "console")
ROOT = Path(__file__).resolve().parents[1]
SECRET_FILE = ROOT / ".local" / "jwt.secret"
REPLY_SECRET_FILE = ROOT / ".local" / "reply-token.secret"
CONSOLE_PASSWORD_FILE = ROOT / ".local" / "console-demo.password"
DEMO_FILE = ROOT / "deploy" / "local" / "demo.json"


def ensure_secret(path: Path = SECRET_FILE, size: int = 48) -> str:
    """A local secret (the HS256 key, the reply-token key), generated once and kept in the
    git-ignored .local folder."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(size)
    path.write_text(secret + "\n")
    path.chmod(0o600)
    return secret


class Stack:
    """The services as processes; logs go to files (log_dir) or to stdout with a prefix."""

    def __init__(
        self,
        env: Mapping[str, str],
        ports: Mapping[str, int] = PORTS,
        log_dir: Path | None = None,
        services: Iterable[str] = SERVICES,
    ) -> None:
        self.env = {**os.environ, **env}
        self.ports = dict(ports)
        self.log_dir = log_dir
        self.services = list(services)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def start(self, service: str) -> None:
        """Start a service; a name like `intake#2` starts another replica of intake."""
        module = service.split("#")[0]
        cmd = [
            sys.executable,
            "-m",
            "uvicorn",
            f"services.{module}.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.ports[service]),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        env = {**self.env, "HTTP_PORT": str(self.ports[service])}
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            out: IO[bytes] = (self.log_dir / f"{service.replace('#', '-')}.log").open("ab")
            self.procs[service] = subprocess.Popen(
                cmd, env=env, stdout=out, stderr=subprocess.STDOUT
            )
            return
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.procs[service] = proc
        threading.Thread(target=_prefix, args=(service, proc), daemon=True).start()

    def start_all(self) -> None:
        for service in self.services:
            self.start(service)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        pending = set(self.services)
        while pending:
            for service in sorted(pending):
                proc = self.procs[service]
                if proc.poll() is not None:
                    raise RuntimeError(f"{service} exited with {proc.returncode}")
                try:
                    if httpx.get(self.url(service) + "/readyz", timeout=2).status_code == 200:
                        pending.discard(service)
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                raise TimeoutError(f"not ready after {timeout}s: {sorted(pending)}")
            time.sleep(0.2)

    def kill(self, service: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[service]
        proc.send_signal(sig)
        proc.wait(timeout=30)

    def stop_all(self, timeout: float = 15.0) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + timeout
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _prefix(service: str, proc: subprocess.Popen[bytes]) -> None:
    assert proc.stdout is not None
    width = max(map(len, WITH_CONSOLE)) + 2
    for line in iter(proc.stdout.readline, b""):
        sys.stdout.write(f"{service:<{width}} | {line.decode(errors='replace')}")
        sys.stdout.flush()


def load_demo(stack: Stack, secret: str, path: Path = DEMO_FILE) -> dict[str, str]:
    """Load the demo organisations, contracts, agents and tickets through the public APIs.

    Loading twice changes nothing: existing records answer 409, and the demo tickets are only
    opened on an empty helpdesk. Returns a token per demo persona.
    """
    demo = json.loads(path.read_text())
    tokens = {p["sub"]: issue_token(secret, **p) for p in demo["personas"]}
    admin = {"Authorization": f"Bearer {tokens[demo['personas'][0]['sub']]}"}
    sections = [
        ("intake", "/v1/organizations", "organizations"),
        ("intake", "/v1/contracts", "contracts"),
        ("triage", "/v1/agents", "agents"),
    ]
    with httpx.Client(timeout=10, headers=admin) as http:
        for service, path_, key in sections:
            for record in demo[key]:
                response = http.post(stack.url(service) + path_, json=record)
                if response.status_code not in (201, 409):
                    raise RuntimeError(f"demo {key} {record.get('id')}: {response.text}")
        for queue in demo.get("queues", []):  # PUT: loading twice leaves them as they are
            response = http.put(f"{stack.url('triage')}/v1/queues/{queue['key']}", json=queue)
            if response.status_code != 200:
                raise RuntimeError(f"demo queue {queue['key']}: {response.text}")
        fresh = not http.get(stack.url("intake") + "/v1/tickets?limit=1").json()["items"]
        for ticket in demo["tickets"] if fresh else []:
            as_ = {"Authorization": f"Bearer {tokens[ticket['as']]}"}
            http.post(stack.url("intake") + "/v1/tickets", json=ticket["body"], headers=as_)
    print(
        f"demo: {len(demo['organizations'])} organisations, {len(demo['contracts'])} contracts, "
        f"{len(demo.get('queues', []))} queues, {len(demo['agents'])} agents; "
        "demo tickets " + ("opened" if fresh else "already there")
    )
    return tokens


def backend_urls(ports: Mapping[str, int]) -> dict[str, str]:
    """Where the console finds the five services (its HELPDESK_<SERVICE>_URL settings)."""
    return {f"HELPDESK_{s.upper()}_URL": f"http://127.0.0.1:{ports[s]}" for s in SERVICES}


def load_console_accounts(stack: Stack, password: str, path: Path = DEMO_FILE) -> list[str]:
    """The demo's console accounts (one per persona), added through the console's own command
    (this module imports no service); existing accounts are left as they are. Returns the
    usernames."""
    accounts = json.loads(path.read_text()).get("console_accounts", [])
    env = {**stack.env, "HELPDESK_CONSOLE_PASSWORD": password}
    for account in accounts:
        cmd = [sys.executable, "-m", "services.console.accounts", "add", account["username"]]
        for option in ("persona", "agent_id", "org", "email", "name", "language"):
            if account.get(option):
                cmd += [f"--{option.replace('_', '-')}", account[option]]
        done = subprocess.run(cmd + ["--exist-ok"], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"console account {account['username']}: {done.stderr.strip()}")
    return [a["username"] for a in accounts]


SMTP_SINK_PORT = 1025
MAIL_FOLDER = ROOT / ".local" / "mail"


def run() -> None:
    secret = ensure_secret()
    sink = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shared.smtp_sink",
            "--port",
            str(SMTP_SINK_PORT),
            "--dir",
            str(MAIL_FOLDER),
        ]
    )
    stack = Stack(
        {
            "HELPDESK_JWT_SECRET": secret,
            "HELPDESK_REPLY_TOKEN_SECRET": ensure_secret(REPLY_SECRET_FILE),
            "HELPDESK_SMTP_PORT": str(SMTP_SINK_PORT),
            **backend_urls(PORTS),
        },
        services=WITH_CONSOLE,
    )
    stack.start_all()
    prometheus = LocalPrometheus.start(stack.ports)
    try:
        stack.wait_ready(timeout=120)
        tokens = load_demo(stack, secret)
        password = ensure_secret(CONSOLE_PASSWORD_FILE, size=12)
        logins = load_console_accounts(stack, password)
        print("\nSwitchboard is up:")
        print(f"  console    {stack.url('console')}/  (sign in as {', '.join(logins)})")
        for service in SERVICES:
            print(f"  {service:<10} {stack.url(service)}/docs")
        if prometheus is not None and prometheus.wait_ready():
            print(f"  prometheus {prometheus.url}/alerts (the deploy/prometheus rules)")
        elif prometheus is not None:
            print(f"  prometheus did not start: see {prometheus.log}")
        print("  smtp in    127.0.0.1:2525 (mail to intake: new tickets and replies)")
        print(f"  smtp out   127.0.0.1:{SMTP_SINK_PORT} (a sink keeping our mail in .local/mail)")
        print(f"\nConsole logins: {', '.join(logins)}, each with the password {password}")
        print("  (kept in .local/console-demo.password; more: python -m services.console.accounts)")
        print("\nDemo tokens (12 h), one per persona of deploy/local/demo.json:")
        for n, (sub, token) in enumerate(tokens.items()):
            var = "TOKEN" if n == 0 else "TOKEN_" + re.sub(r"\W", "_", sub).upper()
            print(f"  export {var}={token}")
        print()
        print(
            'Try:  curl -s -X POST -H "Authorization: Bearer $TOKEN" -H \'Content-Type: '
            'application/json\' -d \'{"subject":"Printer offline","requester":{"email":'
            '"ann@customer.example"}}\' http://127.0.0.1:8001/v1/tickets\n'
        )
        print("Ctrl-C stops everything.", flush=True)
        # Blocked only now: children inherit the signal mask, and they must still hear SIGTERM.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except KeyboardInterrupt:
        pass
    finally:
        print("\nstopping services ...", flush=True)
        stack.stop_all()
        if prometheus is not None:
            prometheus.stop()
        sink.terminate()
        sink.wait(timeout=10)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["run"])
    parser.parse_args(argv)
    run()


if __name__ == "__main__":
    main()
