"""docker-compose.yml, Prometheus config and Grafana dashboard agree with the code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from services.intake.app import IntakeSettings
from services.problems.app import ProblemsSettings
from services.reporting.app import ReportingSettings
from services.sla.app import SlaSettings
from services.triage.app import TriageSettings

ROOT = Path(__file__).resolve().parents[2]

SETTINGS: dict[str, type[BaseSettings]] = {
    "intake": IntakeSettings,
    "triage": TriageSettings,
    "sla": SlaSettings,
    "problems": ProblemsSettings,
    "reporting": ReportingSettings,
}
SERVICES = list(SETTINGS)

# The Dockerfile's own variable: which service the image runs.
DOCKERFILE_VARIABLES = {"SERVICE"}
REQUIRED_VARIABLES = {"KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI", "HELPDESK_JWT_SECRET"}


def load_yaml(relative: str) -> Any:
    return yaml.safe_load((ROOT / relative).read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    services: dict[str, Any] = load_yaml("docker-compose.yml")["services"]
    return services


def http_port(service: str) -> int:
    default = SETTINGS[service].model_fields["http_port"].default
    assert isinstance(default, int)
    return default


def environment(definition: dict[str, Any]) -> dict[str, str]:
    """A compose `environment`, given as a mapping or as a list of KEY=value."""
    env = definition.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def published_ports(definition: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(host ip, published port, container port) for each entry of a compose `ports`."""
    result = []
    for entry in definition.get("ports") or []:
        if isinstance(entry, dict):
            result.append((entry.get("host_ip", ""), int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) == 3:
            result.append((parts[0], int(parts[1]), int(parts[2])))
        elif len(parts) == 2:
            result.append(("", int(parts[0]), int(parts[1])))
        else:
            result.append(("", int(parts[0]), int(parts[0])))
    return result


def variables_read_by(settings: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads: each field's alias, else its name."""
    names: set[str] = set()
    for name, field in settings.model_fields.items():
        alias = field.validation_alias
        if alias is None:
            names.add(name.upper())
        elif isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
    return names


def test_the_settings_classes_give_five_different_ports() -> None:
    assert len({http_port(service) for service in SERVICES}) == len(SERVICES)


def test_kafka_and_mongodb_are_in_compose_with_healthchecks(compose: dict[str, Any]) -> None:
    for infra in ("kafka", "mongodb"):
        assert infra in compose, f"{infra} missing from docker-compose.yml"
        assert compose[infra].get("healthcheck", {}).get("test"), f"{infra} has no healthcheck"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_in_compose_and_waits_for_healthy_kafka_and_mongodb(
    compose: dict[str, Any], service: str
) -> None:
    assert service in compose, f"{service} missing from docker-compose.yml"
    depends_on = compose[service].get("depends_on")
    assert isinstance(depends_on, dict), f"{service}: depends_on needs conditions"
    for infra in ("kafka", "mongodb"):
        assert depends_on.get(infra, {}).get("condition") == "service_healthy", (service, infra)


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_is_built_from_the_one_dockerfile_and_names_itself(
    compose: dict[str, Any], service: str
) -> None:
    assert (ROOT / "Dockerfile").is_file()
    build = compose[service].get("build")
    if isinstance(build, dict):
        assert build.get("context", ".") == "." and build.get("dockerfile", "Dockerfile") == (
            "Dockerfile"
        ), f"{service}: build {build}"
    else:
        assert build == ".", f"{service}: build {build!r}"
    assert environment(compose[service]).get("SERVICE") == service


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_publishes_its_own_port_on_loopback(
    compose: dict[str, Any], service: str
) -> None:
    port = http_port(service)
    assert published_ports(compose[service]) == [("127.0.0.1", port, port)]


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_sets_http_port_to_its_settings_default(
    compose: dict[str, Any], service: str
) -> None:
    assert environment(compose[service]).get("HTTP_PORT") == str(http_port(service))


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_sets_only_variables_its_settings_read(
    compose: dict[str, Any], service: str
) -> None:
    known = variables_read_by(SETTINGS[service]) | DOCKERFILE_VARIABLES
    unknown = set(environment(compose[service])) - known
    assert not unknown, f"{service} sets variables no setting reads: {sorted(unknown)}"


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_sets_kafka_mongodb_and_the_jwt_secret(
    compose: dict[str, Any], service: str
) -> None:
    env = environment(compose[service])
    missing = {name for name in REQUIRED_VARIABLES if not env.get(name)}
    assert not missing, f"{service} does not set {sorted(missing)}"


def test_every_published_port_in_compose_is_bound_to_loopback(compose: dict[str, Any]) -> None:
    for name, definition in compose.items():
        for host_ip, published, _ in published_ports(definition):
            assert host_ip == "127.0.0.1", f"{name} publishes {published} on {host_ip or 'all'}"


def test_prometheus_scrapes_every_service_at_its_port() -> None:
    config = load_yaml("deploy/prometheus/prometheus.yml")
    scraped = {
        target
        for job in config["scrape_configs"]
        if job.get("metrics_path", "/metrics") == "/metrics"
        for static in job.get("static_configs", [])
        for target in static["targets"]
    }
    for service in SERVICES:
        assert f"{service}:{http_port(service)}" in scraped, f"{service} is not scraped"


def test_prometheus_loads_alert_rules_that_exist() -> None:
    config = load_yaml("deploy/prometheus/prometheus.yml")
    assert config["rule_files"], "no rule_files"
    for rule_file in config["rule_files"]:
        rules = load_yaml(f"deploy/prometheus/{rule_file}")
        assert all(rule["alert"] and rule["expr"] for g in rules["groups"] for rule in g["rules"])


# PromQL words that are not metric names.
PROMQL_KEYWORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "and",
    "or",
    "unless",
    "offset",
    "bool",
}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression (strings, label sets, ranges and functions left out)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', "", expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    words = re.findall(r"([A-Za-z_:][A-Za-z0-9_:]*)\s*(\(?)", expr)
    return {word for word, call in words if not call and word not in PROMQL_KEYWORDS}


def test_metric_names_finds_the_metrics_of_an_expression() -> None:
    expr = (
        "histogram_quantile(0.95, sum by (service, le) "
        '(rate(helpdesk_x_bucket{job="a"}[5m]))) / on (service) up'
    )
    assert metric_names(expr) == {"helpdesk_x_bucket", "up"}


def test_grafana_dashboard_panels_query_only_helpdesk_metrics_or_up() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/switchboard.json").read_text())
    assert dashboard["panels"], "the dashboard has no panels"
    for panel in dashboard["panels"]:
        expressions = [target["expr"] for target in panel.get("targets", [])]
        assert expressions, f"panel {panel['title']!r} has no queries"
        for expr in expressions:
            names = metric_names(expr)
            assert names, f"panel {panel['title']!r}: no metric in {expr!r}"
            wrong = {n for n in names if not (n.startswith("helpdesk_") or n == "up")}
            assert not wrong, f"panel {panel['title']!r} queries {sorted(wrong)}"


def mounts(definition: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path of a compose service's volumes (short or long syntax)."""
    found = {}
    for volume in definition.get("volumes") or []:
        if isinstance(volume, dict):
            found[volume["target"]] = str(volume.get("source", ""))
        else:
            source, target = str(volume).split(":")[:2]
            found[target] = source
    return found


def test_prometheus_in_compose_reads_the_config_and_rules_of_deploy_prometheus(
    compose: dict[str, Any],
) -> None:
    assert mounts(compose["prometheus"]).get("/etc/prometheus") == "./deploy/prometheus"


def test_grafana_in_compose_is_provisioned_with_prometheus_and_the_dashboard(
    compose: dict[str, Any],
) -> None:
    grafana = mounts(compose["grafana"])
    assert grafana.get("/etc/grafana/provisioning") == "./deploy/grafana/provisioning"
    providers = load_yaml("deploy/grafana/provisioning/dashboards/dashboards.yml")["providers"]
    assert "./deploy/grafana/dashboards" in {grafana.get(p["options"]["path"]) for p in providers}
    sources = load_yaml("deploy/grafana/provisioning/datasources/prometheus.yml")["datasources"]
    prometheus = {s["uid"]: s["url"] for s in sources if s["type"] == "prometheus"}
    assert set(prometheus.values()) == {"http://prometheus:9090"} and "prometheus" in compose
    dashboard = json.loads((ROOT / "deploy/grafana/dashboards/switchboard.json").read_text())
    used = {
        source["datasource"]["uid"]
        for panel in dashboard["panels"]
        for source in [panel, *panel.get("targets", [])]
    }
    assert used <= set(prometheus), f"panels use datasources {sorted(used - set(prometheus))}"
