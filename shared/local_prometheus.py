"""A Prometheus for `make run`: when a `prometheus` binary is installed (Debian's `prometheus`
package), one on 127.0.0.1 scraping the services running on this machine with the alert rules
of deploy/prometheus, its configuration, log and data in the git-ignored .local/prometheus."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / ".local" / "prometheus"
RULES = ROOT / "deploy" / "prometheus" / "alerts.yml"
PORT = 9090
PORT_VARIABLE = "HELPDESK_PROMETHEUS_PORT"


def scrape_config(
    ports: Mapping[str, int], rules: Path = RULES, interval: str = "15s"
) -> dict[str, Any]:
    """Each service scraped at 127.0.0.1 under its own job name, as deploy/prometheus does in
    docker-compose, so the same alert rules and dashboard apply."""
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": service,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
            }
            for service, port in ports.items()
        ],
    }


class LocalPrometheus:
    def __init__(self, proc: subprocess.Popen[bytes], port: int, folder: Path) -> None:
        self.proc = proc
        self.url = f"http://127.0.0.1:{port}"
        self.log = folder / "prometheus.log"

    @classmethod
    def start(
        cls, ports: Mapping[str, int], folder: Path = FOLDER, port: int | None = None
    ) -> LocalPrometheus | None:
        """Started in the background; None (and one line saying why) when not installed or
        turned off with HELPDESK_PROMETHEUS_PORT=0."""
        port = int(os.environ.get(PORT_VARIABLE, PORT)) if port is None else port
        binary = shutil.which("prometheus")
        if port == 0 or binary is None:
            why = f"{PORT_VARIABLE}=0" if port == 0 else "no prometheus binary installed"
            print(f"prometheus: not started ({why}); `docker compose up` has one with Grafana")
            return None
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "prometheus.yml"
        config.write_text(json.dumps(scrape_config(ports), indent=2) + "\n")  # JSON is YAML
        cmd = [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=15d",
        ]
        with (folder / "prometheus.log").open("ab") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        return cls(proc, port, folder)

    def wait_ready(self, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(self.url + "/-/ready", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return False

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
