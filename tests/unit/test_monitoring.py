"""The operations view agrees with the code: every metric the alert rules and the dashboard query
is one the services export, promtool accepts the rules and both Prometheus configs, and the
rules' own unit tests (deploy/prometheus/alerts_test.yml) show each alert firing."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

from shared.devstack import PORTS
from shared.local_prometheus import scrape_config
from tests.unit.test_compose import metric_names

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "switchboard.json"
METRIC_MODULES = ["shared.metrics"] + [f"services.{service}.metrics" for service in sorted(PORTS)]
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
    "info": ("_info",),
}
# What the operations view is for: each of these is on the dashboard.
DASHBOARD_METRICS = {
    "helpdesk_triage_open_tickets",
    "helpdesk_triage_backlog_age_seconds",
    "helpdesk_sla_outcomes_total",
    "helpdesk_sla_clocks_at_risk",
    "helpdesk_events_in_total",
    "helpdesk_events_out_total",
    "helpdesk_consumer_lag",
    "helpdesk_events_dead_lettered_total",
}
ALERTS = {"ServiceDown", "ConsumerLagHigh", "EventsDeadLettered", "SlaBreachRateHigh"}


def exported_names() -> set[str]:
    """The sample names the services' registry exposes (a counter `x` as `x_total`, ...)."""
    for module in METRIC_MODULES:
        importlib.import_module(module)
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        if family.name.startswith("helpdesk_")
        for suffix in SUFFIXES[family.type]
    }


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[tuple[str, str]]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [(panel["title"], target["expr"]) for panel in panels for target in panel["targets"]]


def test_the_registry_exposes_the_operations_metrics() -> None:
    assert DASHBOARD_METRICS <= exported_names()


def test_every_helpdesk_metric_of_the_alert_rules_is_exported() -> None:
    exported = exported_names()
    for rule in alert_rules():
        used = {n for n in metric_names(rule["expr"]) if n.startswith("helpdesk_")}
        assert used <= exported, f"{rule['alert']} uses unknown {sorted(used - exported)}"


def test_every_helpdesk_metric_of_the_dashboard_is_exported() -> None:
    exported = exported_names()
    for title, expr in dashboard_expressions():
        used = {n for n in metric_names(expr) if n.startswith("helpdesk_")}
        assert used <= exported, f"panel {title!r} uses unknown {sorted(used - exported)}"


def test_the_dashboard_shows_each_operations_metric() -> None:
    shown = {name for _, expr in dashboard_expressions() for name in metric_names(expr)}
    assert DASHBOARD_METRICS <= shown, sorted(DASHBOARD_METRICS - shown)


def test_the_alert_rules_cover_breaches_lag_dead_letters_and_a_service_down() -> None:
    assert ALERTS <= {rule["alert"] for rule in alert_rules()}


def test_the_rule_tests_show_every_alert_firing_and_one_staying_silent() -> None:
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    cases = [case for test in tests for case in test["alert_rule_test"]]
    firing = {case["alertname"] for case in cases if case["exp_alerts"]}
    silent = {case["alertname"] for case in cases if not case["exp_alerts"]}
    assert firing == {rule["alert"] for rule in alert_rules()}
    assert silent, "no case shows an alert staying silent"


def test_make_run_scrapes_each_service_on_loopback_under_its_own_job_name() -> None:
    config = scrape_config(PORTS)
    jobs = {
        job["job_name"]: target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    assert jobs == {service: f"127.0.0.1:{port}" for service, port in PORTS.items()}
    assert config["rule_files"] == [str(PROMETHEUS / "alerts.yml")]


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("promtool is missing in CI: .ci/run installs Debian's prometheus package")
        pytest.skip(
            "promtool is not installed (Debian: apt-get install prometheus); fails with CI=true"
        )
    return path


def run_promtool(promtool: str, *args: str, cwd: Path = PROMETHEUS) -> str:
    done = subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"promtool {' '.join(args)}:\n{output}"
    return output


def test_promtool_accepts_the_alert_rules(promtool: str) -> None:
    output = run_promtool(promtool, "check", "rules", "alerts.yml")
    assert f"SUCCESS: {len(alert_rules())} rules found" in output


def test_promtool_accepts_the_compose_prometheus_config_and_its_rule_files(promtool: str) -> None:
    output = run_promtool(promtool, "check", "config", "prometheus.yml")
    assert "SUCCESS: 1 rule files found" in output


def test_promtool_accepts_the_config_make_run_writes(promtool: str, tmp_path: Path) -> None:
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps(scrape_config(PORTS)))
    output = run_promtool(promtool, "check", "config", str(config), cwd=tmp_path)
    assert "SUCCESS: 1 rule files found" in output


def test_the_alerts_fire_on_the_series_of_their_unit_tests(promtool: str) -> None:
    output = run_promtool(promtool, "test", "rules", "alerts_test.yml")
    assert "SUCCESS" in output
