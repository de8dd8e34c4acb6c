"""Dependencies point inward: no service imports another, shared imports no service,
domain modules do no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "app.py").exists())
IO_MODULES = (
    "pymongo",
    "aiokafka",
    "faststream",
    "fastapi",
    "httpx",
    "shared.db",
    "shared.bus",
    "shared.outbox",
    "shared.runtime",
    "asyncio",
)


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.add(base)
    return names


def test_the_six_services_exist() -> None:
    assert SERVICES == ["console", "intake", "problems", "reporting", "sla", "triage"]


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in (ROOT / "services" / service).rglob("*.py")
        for name in imports_of(path)
        if name.startswith("services.") and not name.startswith(f"services.{service}")
    }
    assert offenders == set()


def test_shared_imports_no_service() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in (ROOT / "shared").rglob("*.py")
        for name in imports_of(path)
        if name.startswith("services")
    }
    assert offenders == set()


@pytest.mark.parametrize("service", SERVICES)
def test_domain_rules_do_no_io(service: str) -> None:
    folder = ROOT / "services" / service
    modules = [folder / "domain.py"] if (folder / "domain.py").exists() else []
    modules += sorted((folder / "domain").glob("*.py"))
    assert modules, f"{service} has no domain module"
    offenders = {
        f"{m.name}: {n}" for m in modules for n in imports_of(m) if n.startswith(IO_MODULES)
    }
    assert offenders == set()


def test_the_rule_checker_sees_relative_imports() -> None:
    found = imports_of(ROOT / "services" / "sla" / "service" / "__init__.py")
    assert "services.sla.store" in found and "services.sla.domain" in found
