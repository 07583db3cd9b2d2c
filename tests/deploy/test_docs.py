"""docs/deployment.md, checked step by step against the files it describes: the paths it names
exist, the variables it says a file sets are set there, the collector tables name the
connectors and dimensions the Coralogix pipeline really has, the pinned collector image and the
number of services are the ones deployed, and the databases the Coralogix checklist promises are
the names the services report."""

from __future__ import annotations

import json
import re

import yaml
from conftest import ROOT

DOC = (ROOT / "docs" / "deployment.md").read_text()
CORALOGIX_CONFIG = ROOT / "deploy" / "k8s" / "overlays" / "coralogix" / "otel-collector-config.yaml"
NUMBERS = {"twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16}


def connectors() -> dict:
    return yaml.safe_load(CORALOGIX_CONFIG.read_text())["connectors"]


def test_every_path_the_doc_names_exists():
    named = set(re.findall(r"`((?:deploy|scripts|tests|crates)/[^`\s]+)`", DOC))
    assert len(named) > 10, named
    missing = [p for p in sorted(named) if not any(c in p for c in "<*{") and not (ROOT / p.rstrip("/.,")).exists()]
    assert missing == []


def test_every_variable_the_doc_puts_in_a_file_is_set_there():
    pairs = set(re.findall(r"`([A-Z][A-Z0-9_]+)` in\s+`(deploy/[^`]+)`", DOC))
    pairs |= {(v, f) for f, v in re.findall(r"`(deploy/[^`]+\.env)`\s*\(`([A-Z][A-Z0-9_]+)`", DOC)}
    assert ("K8S_CLUSTER_NAME", "deploy/k8s/base/otel-collector.env") in pairs, pairs
    for variable, path in sorted(pairs):
        text = (ROOT / path).read_text()
        assert re.search(rf"^{variable}=", text, re.M), f"{path} sets no {variable}"


def _rows(header: str) -> list[list[str]]:
    """The rows of the first table after a line starting with `header`."""
    at = DOC.index(header)
    rows = []
    for line in (line.strip() for line in DOC[at:].splitlines()):
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows[2:]  # the header and the separator


def _names(cell: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", cell))


def test_the_span_metrics_table_is_the_pipeline():
    have = connectors()
    rows = {next(iter(_names(r[0]))): r for r in _rows("| connector | metrics | dimensions | fills |")}
    span_metrics = sorted(n for n in have if n.startswith("spanmetrics"))
    assert sorted(rows) == span_metrics
    for name, (_, _, dimensions, _) in rows.items():
        c = have[name]
        configured = [d["name"] for d in c.get("dimensions", [])]
        compact = name.endswith("compact")
        if compact:
            resource = yaml.safe_load(CORALOGIX_CONFIG.read_text())["processors"]["transform/compact"]
            keep = re.findall(r'"([^"]+)"', resource["trace_statements"][0]["statements"][0])
            configured += keep + [d for d in ("span.kind", "status.code") if d not in c["exclude_dimensions"]]
        as_labels = {d.replace(".", "_") for d in configured} | set(configured)
        named = _names(dimensions)
        assert named <= as_labels, f"{name}: the doc names {sorted(named - as_labels)}, not dimensions of it"
        for d in configured:
            if d.endswith("status_code") and "the status codes" in dimensions:
                continue
            assert d in named or d.replace(".", "_") in named, f"{name}: {d} is a dimension the doc leaves out"


def test_the_welcome_check_names_the_compact_connectors():
    rows = _rows("| page | what you should see | made of |")
    welcome = next(r for r in rows if "welcome check" in r[0])
    assert _names(welcome[2]) == {"spanmetrics/compact", "spanmetrics/db_compact"}
    for row in rows:
        for name in _names(row[2]):
            if name.startswith("spanmetrics"):
                assert name in connectors(), name


def test_the_databases_the_checklist_promises_are_the_names_reported():
    rows = _rows("| page | what you should see | made of |")
    databases = next(r for r in rows if "Databases" in r[0])[1]
    assert "database `tracemart`" in databases and "database `cart`" in databases
    config = yaml.safe_load(CORALOGIX_CONFIG.read_text())
    assert config["receivers"]["postgresql"]["databases"] == ["tracemart"]
    # The services' DATABASE_URL names the same database (preflight writes the Secret).
    preflight = (ROOT / "scripts" / "preflight.sh").read_text()
    assert re.search(r"DATABASE_URL=postgres://[^\s\"]+@postgres:5432/tracemart\"", preflight)
    cart = (ROOT / "crates" / "shop" / "src" / "services" / "cart" / "store.rs").read_text()
    assert 'const KEYSPACE: &str = "cart";' in cart


def test_the_pinned_image_and_the_number_of_services_are_the_deployed_ones():
    pinned = re.findall(r"otel/opentelemetry-collector-contrib:([0-9.]+)", DOC)
    manifest = (ROOT / "deploy" / "k8s" / "base" / "otel-collector.yaml").read_text()
    deployed = re.findall(r"otel/opentelemetry-collector-contrib:([0-9.]+)", manifest)
    assert pinned and deployed and set(pinned) == set(deployed)
    services = json.loads((ROOT / "deploy" / "services.json").read_text())["services"]
    counts = {NUMBERS[w] for w in re.findall(r"the (\w+) services", DOC) if w in NUMBERS}
    assert counts == {len(services)}, f"the doc counts {counts}, {len(services)} are deployed"
