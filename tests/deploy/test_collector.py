"""The collector configurations parse and have the pipelines Coralogix APM needs; the
collector Deployment of each overlay supplies what its configuration reads."""

from __future__ import annotations

import copy

import pytest
import yaml
from checks import check_collector, check_collector_deployment, find_config_map
from conftest import ROOT, render

DEPLOY = ROOT / "deploy"
CONFIGS = {
    "base": DEPLOY / "k8s" / "base" / "otel-collector-config.yaml",
    "coralogix": DEPLOY / "k8s" / "overlays" / "coralogix" / "otel-collector-config.yaml",
    "otlp": DEPLOY / "k8s" / "overlays" / "otlp" / "otel-collector-config.yaml",
    "compose": DEPLOY / "compose" / "otel-collector.yaml",
    "compose-coralogix": DEPLOY / "compose" / "otel-collector-coralogix.yaml",
}
KUBERNETES = {"base", "coralogix", "otlp"}
CORALOGIX = {"coralogix", "compose-coralogix"}


def load(name: str) -> dict:
    return yaml.safe_load(CONFIGS[name].read_text())


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_collector_configuration_is_complete(name):
    problems = check_collector(load(name), kubernetes=name in KUBERNETES, coralogix=name in CORALOGIX, console=True)
    assert problems == []


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_the_console_exporter_is_optional(name):
    """Removing otlphttp/console as the comments say leaves a complete configuration."""
    config = copy.deepcopy(load(name))
    del config["exporters"]["otlphttp/console"]
    for pipeline in config["service"]["pipelines"].values():
        pipeline["exporters"] = [e for e in pipeline["exporters"] if e != "otlphttp/console"]
    assert check_collector(config, kubernetes=name in KUBERNETES, coralogix=name in CORALOGIX) == []
    problems = check_collector(config, kubernetes=name in KUBERNETES, coralogix=name in CORALOGIX, console=True)
    assert any("no otlphttp/console exporter" in p for p in problems), problems


def test_every_configuration_copies_the_same_attributes():
    blocks = {name: load(name)["processors"]["transform/semconv"] for name in CONFIGS}
    assert all(block == blocks["base"] for block in blocks.values())
    k8s = {name: load(name)["processors"]["k8sattributes"] for name in ("base", "coralogix", "otlp")}
    assert all(block == k8s["base"] for block in k8s.values())


@pytest.mark.parametrize("overlay_name", ["k3s", "coralogix", "otlp"])
def test_collector_deployment_supplies_what_the_configuration_reads(overlay_name):
    docs = render(overlay_name)
    _, data = find_config_map(docs, "otel-collector-config")
    assert check_collector_deployment(data["config.yaml"], docs) == []


def test_overlay_ships_its_own_configuration():
    for overlay_name, config in (("coralogix", "coralogix"), ("otlp", "otlp"), ("k3s", "base")):
        _, data = find_config_map(render(overlay_name), "otel-collector-config")
        assert yaml.safe_load(data["config.yaml"]) == load(config), overlay_name


def test_services_send_to_the_collector():
    docs = render("coralogix")
    _, settings = find_config_map(docs, "tracemart-config")
    assert settings["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
    svc = next(d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == "otel-collector")
    assert 4317 in [p["port"] for p in svc["spec"]["ports"]]


# --- a broken configuration is caught -----------------------------------------------------


def test_missing_copy_and_connector_are_caught():
    config = copy.deepcopy(load("coralogix"))
    statements = config["processors"]["transform/semconv"]["trace_statements"][0]["statements"]
    config["processors"]["transform/semconv"]["trace_statements"][0]["statements"] = [
        s for s in statements if '"db.system"' not in s
    ]
    config["service"]["pipelines"]["traces"]["exporters"].remove("spanmetrics")
    problems = check_collector(config, coralogix=True)
    assert any("db.system.name to db.system" in p for p in problems), problems
    assert any("spanmetrics" in p for p in problems), problems


def test_undefined_component_and_literal_key_are_caught():
    config = copy.deepcopy(load("coralogix"))
    config["service"]["pipelines"]["logs"]["processors"].append("resourcedetection")
    config["exporters"]["coralogix"]["private_key"] = "cxtp_literal"
    problems = check_collector(config, coralogix=True)
    assert any("resourcedetection is not defined" in p for p in problems), problems
    assert any("private_key" in p for p in problems), problems


def test_a_pipeline_without_the_console_and_a_wrong_endpoint_are_caught():
    config = copy.deepcopy(load("otlp"))
    config["service"]["pipelines"]["logs"]["exporters"].remove("otlphttp/console")
    config["exporters"]["otlphttp/console"]["endpoint"] = "http://console:8090"
    problems = check_collector(config, console=True)
    assert any("pipeline logs: does not export to otlphttp/console" in p for p in problems), problems
    assert any("otlphttp/console: endpoint 'http://console:8090'" in p for p in problems), problems


def test_a_variable_the_deployment_does_not_set_is_caught():
    docs = render("coralogix")
    text = (CONFIGS["coralogix"]).read_text().replace("${env:CORALOGIX_DOMAIN}", "${env:CX_DOMAIN}")
    problems = check_collector_deployment(text, docs)
    assert any("CX_DOMAIN" in p for p in problems), problems


def test_a_component_the_release_lacks_is_caught():
    config = copy.deepcopy(load("otlp"))
    config["processors"]["spanmetricsprocessor"] = {}
    config["service"]["pipelines"]["traces"]["processors"].insert(1, "spanmetricsprocessor")
    problems = check_collector(config)
    assert any("processor spanmetricsprocessor: otelcol-contrib has no such component" in p for p in problems), problems


def test_a_connector_fed_but_never_read_is_caught():
    config = copy.deepcopy(load("coralogix"))
    config["service"]["pipelines"]["metrics/compact"]["receivers"].remove("spanmetrics/db_compact")
    problems = check_collector(config, coralogix=True)
    assert any("connector spanmetrics/db_compact must be an exporter of one pipeline and a receiver of another" in p for p in problems), problems


def test_missing_compact_and_database_span_metrics_are_caught():
    config = copy.deepcopy(load("coralogix"))
    connectors = config["connectors"]
    connectors["spanmetrics/db"]["histogram"]["explicit"]["buckets"] = ["1ms", "250ms"]
    connectors["spanmetrics/db_compact"]["dimensions"] = [{"name": "db.system"}]
    connectors["spanmetrics"]["dimensions"] = [d for d in connectors["spanmetrics"]["dimensions"] if d["name"] != "cgx.transaction"]
    config["processors"]["transform/compact"]["trace_statements"][0]["statements"] = ['keep_keys(attributes, ["service.name"])']
    config["service"]["pipelines"]["traces"]["processors"].remove("groupbytrace")
    problems = check_collector(config, coralogix=True)
    for expected in (
        "spanmetrics/db: the buckets end below 5s",
        "spanmetrics/db_compact must have the dimensions db.namespace and db.system only",
        "spanmetrics lacks the dimensions cgx.transaction",
        "spanmetrics/compact: the resource must be cut to host.name, k8s.cluster.name, service.name",
        "pipeline traces: no groupbytrace processor",
    ):
        assert any(expected in p for p in problems), (expected, problems)


def test_the_coralogix_agent_overlay_deploys_no_collector():
    docs = render("coralogix-agent")
    names = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert not [n for n in names if "otel-collector" in n[1]], names
    services = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["labels"].get("app.kubernetes.io/component") == "service"]
    assert services
    for dep in services:
        env = dep["spec"]["template"]["spec"]["containers"][0]["env"]
        names = [e["name"] for e in env]
        assert names.index("NODE_IP") < names.index("OTEL_EXPORTER_OTLP_ENDPOINT"), dep["metadata"]["name"]
        node_ip = next(e for e in env if e["name"] == "NODE_IP")
        assert node_ip["valueFrom"]["fieldRef"]["fieldPath"] == "status.hostIP"
        assert next(e for e in env if e["name"] == "OTEL_EXPORTER_OTLP_ENDPOINT")["value"] == "http://$(NODE_IP):4317"


def test_compose_with_coralogix_computes_the_same_span_metrics_as_the_overlay():
    """Every path that reaches Coralogix computes the span metrics APM v2 reads."""
    compose, overlay = load("compose-coralogix"), load("coralogix")
    assert compose["connectors"] == overlay["connectors"]
    for name in ("traces/db", "traces/compact", "traces/db_compact"):
        assert compose["service"]["pipelines"][name] == overlay["service"]["pipelines"][name]
    assert compose["exporters"]["coralogix"]["private_key"] == "${env:CORALOGIX_PRIVATE_KEY}"
