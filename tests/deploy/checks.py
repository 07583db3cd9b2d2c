"""What the deployment must agree on with the code, as functions that return problems.

Each check takes the output of `tracemart services --json` and rendered manifests (or a
collector configuration) and returns a list of human-readable problems; an empty list
means they agree. The pytest files run them on the real manifests and on broken copies.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts" / "lib"))
import collector  # noqa: E402  (scripts/lib/collector.py: the components otelcol-contrib has)

NAMESPACE = "ecommerce-demo"
CONFIG_MAP = "tracemart-config"
# Variables a tracemart container may get although the binary does not read them (yet): keep
# this list short and say why for each. Empty now that the scenario engine reads DEMO_MODE
# and DEMO_START_TIMESTAMP.
NOT_YET_READ: set[str] = set()
# Variables only the pod spec reads: the coralogix-agent overlay builds
# OTEL_EXPORTER_OTLP_ENDPOINT=http://$(NODE_IP):4317 from the node's address.
POD_SPEC_ONLY = {"NODE_IP"}
STORE_ENDPOINTS = {"postgresql": ("postgres", 5432), "redis": ("redis", 6379), "rabbitmq": ("rabbitmq", 5672)}
# store -> the variable with its URL (credentials included), and what to call the store.
STORE_URLS = {"postgresql": ("DATABASE_URL", "PostgreSQL"), "rabbitmq": ("AMQP_URL", "RabbitMQ")}
# The telemetry console (`tracemart console`): not a shop service, but it runs the shop's
# image, so its variables are checked against the binary too. Its ports are the binary's
# defaults (TRACEMART_CONSOLE_PORT, TRACEMART_OTLP_GRPC_PORT, TRACEMART_OTLP_HTTP_PORT).
CONSOLE = "console"
CONSOLE_PORTS = {"http": 8090, "otlp-grpc": 4317, "otlp-http": 4318}
CONSOLE_MAX_MIB_DEFAULT = 256
CONSOLE_EXPORTER = "otlphttp/console"
CONSOLE_OTLP_HTTP = "http://console:4318"
# The pod `scripts/validate.sh` runs `tracemart validate` in: it reads the console's API
# and the frontend.
VALIDATE_POD = "load-generator"
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"}

# Stable attribute name -> the old name Coralogix APM reads, copied by transform/semconv.
SEMCONV_COPIES = {
    "db.system.name": "db.system",
    "db.namespace": "db.name",
    "db.operation.name": "db.operation",
    "db.collection.name": "db.sql.table",
    "db.query.text": "db.statement",
    "http.request.method": "http.method",
    "http.response.status_code": "http.status_code",
    "url.full": "http.url",
    "server.address": "net.peer.name",
    "server.port": "net.peer.port",
}


# --- helpers ----------------------------------------------------------------------------


def index(docs: list[dict]) -> dict[tuple[str, str], dict]:
    return {(d["kind"], d["metadata"]["name"]): d for d in docs if d}


def pod_spec(doc: dict) -> dict:
    spec = doc["spec"]
    if doc["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def config_maps(docs: list[dict]) -> dict[str, dict]:
    return {d["metadata"]["name"]: d.get("data") or {} for d in docs if d and d["kind"] == "ConfigMap"}


def find_config_map(docs: list[dict], base_name: str) -> tuple[str, dict] | None:
    """The ConfigMap whose name is base_name, with or without kustomize's hash suffix."""
    for name, data in config_maps(docs).items():
        if name == base_name or re.fullmatch(re.escape(base_name) + r"-[a-z0-9]{10}", name):
            return name, data
    return None


def container_env_names(container: dict, docs: list[dict]) -> tuple[set[str], list[str]]:
    """Every variable name a container gets, and problems resolving where they come from."""
    names: set[str] = set()
    problems: list[str] = []
    cms = config_maps(docs)
    for item in container.get("env") or []:
        names.add(item["name"])
    for source in container.get("envFrom") or []:
        if "configMapRef" in source:
            ref = source["configMapRef"]["name"]
            if ref not in cms:
                problems.append(f"envFrom names ConfigMap {ref}, which the manifests do not define")
                continue
            prefix = source.get("prefix", "")
            names.update(prefix + key for key in cms[ref])
        else:
            problems.append(f"envFrom {source}: only ConfigMaps may supply whole environments")
    return names, problems


def probe_target(probe: dict | None) -> tuple[str, object] | None:
    if not probe or "httpGet" not in probe:
        return None
    return probe["httpGet"].get("path"), probe["httpGet"].get("port")


def _port_matches(value: object, container: dict, port: int) -> bool:
    if value == port:
        return True
    return any(p.get("name") == value and p.get("containerPort") == port for p in container.get("ports", []))


def allows(policies: list[dict], target: str, source_labels: dict, port: int) -> bool:
    """Whether some NetworkPolicy lets pods with source_labels reach target's pods on port."""
    for pol in policies:
        spec = pol["spec"]
        selector = (spec.get("podSelector") or {}).get("matchLabels") or {}
        if selector and selector.get("app.kubernetes.io/name") != target:
            continue
        if not selector:
            continue
        for rule in spec.get("ingress") or []:
            ports = [p.get("port") for p in rule.get("ports") or []]
            if ports and port not in ports:
                continue
            peers = rule.get("from")
            if peers is None:
                return True
            for peer in peers:
                wanted = (peer.get("podSelector") or {}).get("matchLabels")
                if wanted is not None and all(source_labels.get(k) == v for k, v in wanted.items()):
                    return True
    return False


# --- the shop's manifests against the binary --------------------------------------------


def check_manifests(services_doc: dict, docs: list[dict]) -> list[str]:
    problems: list[str] = []
    services = services_doc["services"]
    environment = set(services_doc["environment"])
    objects = index(docs)
    policies = [d for d in docs if d and d["kind"] == "NetworkPolicy"]
    names = {s["name"] for s in services}

    found = find_config_map(docs, CONFIG_MAP)
    if found is None:
        problems.append(f"no ConfigMap {CONFIG_MAP}")
        config: dict = {}
    else:
        config = found[1]

    for svc in services:
        name, port = svc["name"], svc["port"]
        where = f"service {name}"
        # The shared configuration: where each service listens and where its peers find it.
        want_url = f"http://{name}:{port}"
        if config.get(svc["url_var"]) != want_url:
            problems.append(
                f"{where}: ConfigMap {CONFIG_MAP} has {svc['url_var']}={config.get(svc['url_var'])!r},"
                f" the binary expects {want_url!r}"
            )
        if config.get(svc["port_var"]) not in (None, str(port)):
            problems.append(
                f"{where}: ConfigMap has {svc['port_var']}={config.get(svc['port_var'])!r}, the port is {port}"
            )

        dep = objects.get(("Deployment", name))
        if dep is None:
            problems.append(f"{where}: no Deployment named {name}")
            continue
        spec = pod_spec(dep)
        containers = [c for c in spec["containers"] if c["name"] == "tracemart"]
        if len(containers) != 1:
            problems.append(f"{where}: Deployment has no container named tracemart")
            continue
        c = containers[0]
        if c.get("args") != ["serve", name] and c.get("command", [])[-2:] != ["serve", name]:
            problems.append(f"{where}: container runs {c.get('command', [])} {c.get('args')}, not serve {name}")
        ports = [p.get("containerPort") for p in c.get("ports") or []]
        if ports != [port]:
            problems.append(f"{where}: containerPort {ports}, the binary listens on {port}")
        if probe_target(c.get("readinessProbe")) is None or probe_target(c["readinessProbe"])[0] != "/ready":
            problems.append(f"{where}: readinessProbe is not GET /ready")
        elif not _port_matches(probe_target(c["readinessProbe"])[1], c, port):
            problems.append(f"{where}: readinessProbe does not target port {port}")
        if probe_target(c.get("livenessProbe")) is None or probe_target(c["livenessProbe"])[0] != "/health":
            problems.append(f"{where}: livenessProbe is not GET /health")
        elif not _port_matches(probe_target(c["livenessProbe"])[1], c, port):
            problems.append(f"{where}: livenessProbe does not target port {port}")
        if spec.get("enableServiceLinks") is not False:
            problems.append(
                f"{where}: enableServiceLinks must be false (service links set <NAME>_PORT=tcp://…,"
                " which the binary reads as its port variables)"
            )

        env_names, env_problems = container_env_names(c, docs)
        problems.extend(f"{where}: {p}" for p in env_problems)
        if not c.get("envFrom") or not any(
            (e.get("configMapRef") or {}).get("name", "").startswith(CONFIG_MAP) for e in c["envFrom"]
        ):
            problems.append(f"{where}: does not take its environment from ConfigMap {CONFIG_MAP}")
        for var in sorted(env_names - environment - NOT_YET_READ - POD_SPEC_ONLY):
            problems.append(f"{where}: sets {var}, which the binary does not read")
        for callee in svc["calls"]:
            peer = next((s for s in services if s["name"] == callee), None)
            if peer and peer["url_var"] not in env_names:
                problems.append(f"{where}: calls {callee} but gets no {peer['url_var']}")
        for store, (url_var, title) in STORE_URLS.items():
            if store not in svc["stores"]:
                continue
            refs = [e for e in c.get("env") or [] if e["name"] == url_var]
            if not refs or "secretKeyRef" not in (refs[0].get("valueFrom") or {}):
                problems.append(f"{where}: uses {title} but {url_var} does not come from a Secret")
        if "REDIS_URL" not in env_names:
            problems.append(f"{where}: gets no REDIS_URL (carts, and the scenario state all services share)")
        for var, target, store_port in (("REDIS_URL", "redis", 6379), ("DATABASE_URL", "postgres", 5432), ("AMQP_URL", "rabbitmq", 5672)):
            if var in env_names and not allows(policies, target, dep["spec"]["template"]["metadata"]["labels"], store_port):
                problems.append(f"{where}: gets {var} but no NetworkPolicy lets it reach {target}:{store_port}")

        svc_obj = objects.get(("Service", name))
        if svc_obj is None:
            problems.append(f"{where}: no Service named {name}")
        else:
            sports = svc_obj["spec"].get("ports") or []
            if [p.get("port") for p in sports] != [port]:
                problems.append(f"{where}: Service port {[p.get('port') for p in sports]}, the binary listens on {port}")
            elif not _port_matches(sports[0].get("targetPort", port), c, port):
                problems.append(f"{where}: Service targetPort {sports[0].get('targetPort')} is not the container's {port}")
            if svc_obj["spec"].get("selector") != dep["spec"]["selector"].get("matchLabels"):
                problems.append(f"{where}: Service selector does not match the Deployment's pods")

        # NetworkPolicies must let the real call graph through.
        labels = dep["spec"]["template"]["metadata"]["labels"]
        for callee in svc["calls"]:
            peer = next((s for s in services if s["name"] == callee), None)
            if peer and not allows(policies, callee, labels, peer["port"]):
                problems.append(f"{where}: no NetworkPolicy lets it call {callee} on port {peer['port']}")
        for store in svc["stores"]:
            if store in STORE_ENDPOINTS:
                target, store_port = STORE_ENDPOINTS[store]
                if not allows(policies, target, labels, store_port):
                    problems.append(f"{where}: no NetworkPolicy lets it reach {target}:{store_port}")
        # Without a collector of ours (coralogix-agent) the services send to their node's agent.
        if ("Deployment", "otel-collector") in objects and not allows(policies, "otel-collector", labels, 4317):
            problems.append(f"{where}: no NetworkPolicy lets it send OTLP to otel-collector:4317")

    for (kind, name), doc in objects.items():
        if kind == "Deployment" and doc["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "service":
            if name not in names:
                problems.append(f"Deployment {name} runs a service the binary does not have")
        elif kind in WORKLOAD_KINDS and name not in names:
            # The other components that run the shop's binary (the console): only variables
            # it reads.
            for c in pod_spec(doc)["containers"]:
                if c["name"] != "tracemart":
                    continue
                env_names, env_problems = container_env_names(c, docs)
                problems.extend(f"{kind} {name}: {p}" for p in env_problems)
                for var in sorted(env_names - environment - NOT_YET_READ):
                    problems.append(f"{kind} {name}: sets {var}, which the binary does not read")
    return problems


def mebibytes(quantity: object) -> float:
    """A Kubernetes memory quantity in MiB (512Mi, 1Gi, 500M, 1073741824)."""
    text = str(quantity)
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024**2, "k": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text) / 2**20


def env_value(item: dict, docs: list[dict]) -> str | None:
    """The value an env entry resolves to: inline, or a key of a ConfigMap in the manifests."""
    if "value" in item:
        return str(item["value"])
    ref = (item.get("valueFrom") or {}).get("configMapKeyRef")
    if ref:
        return config_maps(docs).get(ref["name"], {}).get(ref["key"])
    return None


def check_console(services_doc: dict, docs: list[dict]) -> list[str]:
    """The console: its command, ports, probes, memory, where its panels point, the
    NetworkPolicies of its traffic, and the collector exporting to it."""
    problems: list[str] = []
    objects = index(docs)
    policies = [d for d in docs if d and d["kind"] == "NetworkPolicy"]
    by_name = {s["name"]: s for s in services_doc["services"]}
    urls = {f"http://{s['name']}:{s['port']}": s for s in services_doc["services"]}
    dep = objects.get(("Deployment", CONSOLE))
    if dep is None:
        return ["no Deployment console"]
    where = "console"
    if dep["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "service":
        problems.append(f"{where}: labelled a shop service (app.kubernetes.io/component=service)")
    spec = pod_spec(dep)
    containers = [c for c in spec["containers"] if c["name"] == "tracemart"]
    if len(containers) != 1:
        return problems + [f"{where}: Deployment has no container named tracemart"]
    c = containers[0]
    if c.get("args") != [CONSOLE] and (c.get("command") or [])[-1:] != [CONSOLE]:
        problems.append(f"{where}: container runs {c.get('command', [])} {c.get('args')}, not `tracemart console`")
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
    if ports != CONSOLE_PORTS:
        problems.append(f"{where}: container ports {ports}, the console listens on {CONSOLE_PORTS}")
    for probe in ("readinessProbe", "livenessProbe"):
        target = probe_target(c.get(probe))
        if target is None or target[0] != "/api/stats":
            problems.append(f"{where}: {probe} is not GET /api/stats (the console has no /health)")
        elif not _port_matches(target[1], c, CONSOLE_PORTS["http"]):
            problems.append(f"{where}: {probe} does not target port {CONSOLE_PORTS['http']}")
    if spec.get("enableServiceLinks") is not False:
        problems.append(f"{where}: enableServiceLinks must be false")

    env = {e["name"]: e for e in c.get("env") or []}
    max_mib = env_value(env["TRACEMART_CONSOLE_MAX_MIB"], docs) if "TRACEMART_CONSOLE_MAX_MIB" in env else None
    max_mib = float(max_mib) if max_mib else CONSOLE_MAX_MIB_DEFAULT
    limit = ((c.get("resources") or {}).get("limits") or {}).get("memory")
    if limit is None or mebibytes(limit) <= max_mib * 1.5:
        problems.append(f"{where}: memory limit {limit} leaves no room above the store's {max_mib:g} MiB")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    for var, wanted in (("TRACEMART_URL", None), ("LOAD_GENERATOR_URL", "load-generator")):
        if var not in env:
            problems.append(f"{where}: gets no {var} (its {'scenario' if wanted is None else 'load'} panel)")
            continue
        if not (env[var].get("valueFrom") or {}).get("configMapKeyRef"):
            problems.append(f"{where}: {var} does not come from ConfigMap {CONFIG_MAP}")
        value = env_value(env[var], docs)
        svc = urls.get(value or "")
        if svc is None or (wanted and svc["name"] != wanted):
            problems.append(f"{where}: {var}={value!r} is not the URL of {wanted or 'a shop service'}")
            continue
        if not allows(policies, svc["name"], labels, svc["port"]):
            problems.append(f"{where}: no NetworkPolicy lets it call {svc['name']} on port {svc['port']}")

    collector = objects.get(("Deployment", "otel-collector"))
    if collector is not None:
        source = collector["spec"]["template"]["metadata"]["labels"]
        for port in (CONSOLE_PORTS["otlp-grpc"], CONSOLE_PORTS["otlp-http"]):
            if not allows(policies, CONSOLE, source, port):
                problems.append(f"{where}: no NetworkPolicy lets the collector send OTLP to console:{port}")
    runner = objects.get(("Deployment", VALIDATE_POD))
    if runner is not None and VALIDATE_POD in by_name:
        source = runner["spec"]["template"]["metadata"]["labels"]
        if not allows(policies, CONSOLE, source, CONSOLE_PORTS["http"]):
            problems.append(f"{where}: no NetworkPolicy lets {VALIDATE_POD} (scripts/validate.sh) read console:{CONSOLE_PORTS['http']}")

    svc_obj = objects.get(("Service", CONSOLE))
    if svc_obj is None:
        problems.append(f"{where}: no Service named console")
    else:
        sports = {p.get("port"): p.get("targetPort", p.get("port")) for p in svc_obj["spec"].get("ports") or []}
        for name, port in CONSOLE_PORTS.items():
            if port not in sports:
                problems.append(f"{where}: Service has no port {port} ({name})")
            elif not _port_matches(sports[port], c, port):
                problems.append(f"{where}: Service port {port} targets {sports[port]}, not the container's {port}")
        if svc_obj["spec"].get("selector") != dep["spec"]["selector"].get("matchLabels"):
            problems.append(f"{where}: Service selector does not match the Deployment's pods")

    found = find_config_map(docs, "otel-collector-config")
    if found is not None and "config.yaml" in found[1]:
        exporters = (yaml.safe_load(found[1]["config.yaml"]) or {}).get("exporters") or {}
        exp = exporters.get(CONSOLE_EXPORTER)
        if exp is not None and exp.get("endpoint") != CONSOLE_OTLP_HTTP:
            problems.append(f"{where}: the collector's {CONSOLE_EXPORTER} sends to {exp.get('endpoint')}, not {CONSOLE_OTLP_HTTP}")
    return problems


def check_workloads(docs: list[dict]) -> list[str]:
    """Security and resource rules every workload follows, whatever it runs."""
    problems: list[str] = []
    for doc in docs:
        if not doc:
            continue
        kind, name = doc["kind"], doc["metadata"]["name"]
        if kind == "Secret":
            problems.append(f"Secret {name} is in the manifests: secrets are created in the cluster only")
        if kind != "Namespace" and doc["metadata"].get("namespace") not in (NAMESPACE, None):
            problems.append(f"{kind} {name} is in namespace {doc['metadata'].get('namespace')}")
        if kind not in WORKLOAD_KINDS:
            continue
        where = f"{kind} {name}"
        spec = pod_spec(doc)
        psc = spec.get("securityContext") or {}
        if psc.get("runAsNonRoot") is not True:
            problems.append(f"{where}: pod securityContext lacks runAsNonRoot: true")
        if (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: pod securityContext lacks seccompProfile RuntimeDefault")
        for c in spec.get("initContainers", []) + spec["containers"]:
            cw = f"{where} container {c['name']}"
            sc = c.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{cw}: allowPrivilegeEscalation is not false")
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{cw}: readOnlyRootFilesystem is not true")
            if sc.get("privileged"):
                problems.append(f"{cw}: privileged")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                problems.append(f"{cw}: capabilities do not drop ALL")
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                for what in ("cpu", "memory"):
                    if what not in (res.get(part) or {}):
                        problems.append(f"{cw}: no {what} {part[:-1]}")
            if c in spec["containers"]:
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe not in c:
                        problems.append(f"{cw}: no {probe}")
            for e in c.get("env") or []:
                secret_like = re.search(r"PASSWORD|SECRET|TOKEN|PRIVATE_KEY|DATABASE_URL", e["name"])
                if secret_like and not e["name"].endswith("_FILE") and "value" in e:
                    problems.append(f"{cw}: {e['name']} is set inline; it must come from a Secret")
    return problems


def check_compose(services_doc: dict, compose: dict) -> list[str]:
    problems: list[str] = []
    environment = set(services_doc["environment"])
    entries = compose.get("services") or {}
    for svc in services_doc["services"]:
        name, port = svc["name"], svc["port"]
        entry = entries.get(name)
        if entry is None:
            problems.append(f"compose: no service {name}")
            continue
        if entry.get("command") != ["serve", name]:
            problems.append(f"compose {name}: command {entry.get('command')}, not serve {name}")
        env = entry.get("environment") or {}
        for var in sorted(set(env) - environment - NOT_YET_READ):
            problems.append(f"compose {name}: sets {var}, which the binary does not read")
        for callee in svc["calls"]:
            peer = next(s for s in services_doc["services"] if s["name"] == callee)
            if env.get(peer["url_var"]) != f"http://{callee}:{peer['port']}":
                problems.append(f"compose {name}: {peer['url_var']} is {env.get(peer['url_var'])!r}")
        test = (entry.get("healthcheck") or {}).get("test") or []
        if test[-1:] != [str(port)]:
            problems.append(f"compose {name}: healthcheck {test} does not check port {port}")
        for store, (url_var, title) in STORE_URLS.items():
            if store in svc["stores"] and url_var not in env:
                problems.append(f"compose {name}: uses {title} but gets no {url_var}")
        if "REDIS_URL" not in env:
            problems.append(f"compose {name}: gets no REDIS_URL (carts, and the scenario state all services share)")

    console = entries.get(CONSOLE)
    if console is None:
        problems.append("compose: no console")
        return problems
    if console.get("command") != [CONSOLE]:
        problems.append(f"compose console: command {console.get('command')}, not console")
    env = console.get("environment") or {}
    for var in sorted(set(env) - environment - NOT_YET_READ):
        problems.append(f"compose console: sets {var}, which the binary does not read")
    urls = {f"http://{s['name']}:{s['port']}": s["name"] for s in services_doc["services"]}
    if env.get("TRACEMART_URL") not in urls:
        problems.append(f"compose console: TRACEMART_URL is {env.get('TRACEMART_URL')!r}, not a shop service")
    if urls.get(env.get("LOAD_GENERATOR_URL")) != "load-generator":
        problems.append(f"compose console: LOAD_GENERATOR_URL is {env.get('LOAD_GENERATOR_URL')!r}")
    test = (console.get("healthcheck") or {}).get("test") or []
    if not test or not str(test[-1]).endswith(f":{CONSOLE_PORTS['http']}/api/stats"):
        problems.append(f"compose console: healthcheck {test} does not check /api/stats on {CONSOLE_PORTS['http']}")
    if console.get("read_only") is not True:
        problems.append("compose console: not read_only")
    return problems


# --- the collector configuration --------------------------------------------------------

KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")


def _signal(pipeline_id: str) -> str:
    return pipeline_id.split("/")[0]


# What Coralogix APM reads, as its otel-integration chart computes it.
CORALOGIX_SPAN_DIMENSIONS = {
    "cgx.transaction",
    "cgx.transaction.root",
    "db.namespace",
    "db.system",
    "db.operation.name",
    "db.collection.name",
}
COMPACT_RESOURCE = {"service.name", "k8s.cluster.name", "host.name"}
# The slow-query scenario makes multi-second queries.
DB_BUCKETS_REACH_S = 5.0


def _seconds(bucket: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", str(bucket))
    if not match:
        return 0.0
    return float(match[1]) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[match[2]]


def _fed_through(pipelines: dict, connector: str) -> list[str]:
    """The processors of the pipelines that export to connector."""
    return [proc for p in pipelines.values() if connector in (p.get("exporters") or []) for proc in p.get("processors") or []]


def check_coralogix_span_metrics(config: dict) -> list[str]:
    """The span metrics of Coralogix APM: the Service Catalog (spanmetrics), the Database
    Catalog (spanmetrics/db), the compact service and database metrics, the transactions."""
    problems: list[str] = []
    connectors = config.get("connectors") or {}
    processors = config.get("processors") or {}
    pipelines = (config.get("service") or {}).get("pipelines") or {}
    traces = (pipelines.get("traces") or {}).get("processors") or []

    def dims(name: str) -> set:
        return {d.get("name") for d in (connectors.get(name) or {}).get("dimensions") or []}

    for name in ("spanmetrics", "spanmetrics/db", "spanmetrics/compact", "spanmetrics/db_compact"):
        conn = connectors.get(name)
        if conn is None:
            problems.append(f"no {name} connector")
            continue
        histogram = conn.get("histogram") or {}
        if histogram.get("unit") != "ms":
            problems.append(f"{name}: histogram.unit must be ms")
        if conn.get("add_resource_attributes") is not True:
            problems.append(f"{name}: add_resource_attributes must be true")
        if "collector.instance.id" not in (conn.get("exclude_dimensions") or []):
            problems.append(f"{name}: must exclude collector.instance.id")
        if not conn.get("aggregation_cardinality_limit"):
            problems.append(f"{name}: no aggregation_cardinality_limit")
        if not ((histogram.get("explicit") or {}).get("buckets")):
            problems.append(f"{name}: no explicit histogram buckets")
        if not any(name in (p.get("receivers") or []) and "coralogix" in (p.get("exporters") or []) for p in pipelines.values()):
            problems.append(f"the metrics from {name} are not exported to coralogix")
    missing = CORALOGIX_SPAN_DIMENSIONS - dims("spanmetrics")
    if missing:
        problems.append(f"spanmetrics lacks the dimensions {', '.join(sorted(missing))}")
    for name, namespace in (("spanmetrics/compact", "compact"), ("spanmetrics/db_compact", "db_compact")):
        conn = connectors.get(name) or {}
        if conn and conn.get("namespace") != namespace:
            problems.append(f"{name}: namespace {conn.get('namespace')!r}, Coralogix reads {namespace!r}")
        if conn and "span.name" not in (conn.get("exclude_dimensions") or []):
            problems.append(f"{name}: must exclude span.name")
        statements = " ".join(
            st
            for proc in _fed_through(pipelines, name)
            for block in (processors.get(proc) or {}).get("trace_statements") or []
            if block.get("context") == "resource"
            for st in block.get("statements") or []
        )
        kept = set(re.findall(r'"([^"]+)"', statements)) if "keep_keys(attributes" in statements else set()
        if kept != COMPACT_RESOURCE:
            problems.append(f"{name}: the resource must be cut to {', '.join(sorted(COMPACT_RESOURCE))} before it (kept: {sorted(kept)})")
    if dims("spanmetrics/db_compact") != {"db.namespace", "db.system"}:
        problems.append("spanmetrics/db_compact must have the dimensions db.namespace and db.system only")
    for name in ("spanmetrics/db", "spanmetrics/db_compact"):
        buckets = (((connectors.get(name) or {}).get("histogram") or {}).get("explicit") or {}).get("buckets") or []
        if buckets and max(_seconds(b) for b in buckets) < DB_BUCKETS_REACH_S:
            problems.append(f"{name}: the buckets end below {DB_BUCKETS_REACH_S:g}s (slow queries take seconds)")
    for proc in ("groupbytrace", "coralogix"):
        if proc not in traces:
            problems.append(f"pipeline traces: no {proc} processor (transactions, before the span metrics)")
    if ((processors.get("coralogix") or {}).get("transactions") or {}).get("enabled") is not True:
        problems.append("coralogix processor: transactions must be enabled")
    return problems


def check_collector(config: dict, *, kubernetes: bool = True, coralogix: bool = False, console: bool = False) -> list[str]:
    """console: the configuration must send a copy of every signal to the console (optional
    in general; when the exporter is there it must be complete either way)."""
    problems: list[str] = collector.unknown_components(config, collector.known_components())
    defined = {kind: set((config.get(kind) or {}).keys()) for kind in KINDS}
    pipelines = (config.get("service") or {}).get("pipelines") or {}
    if not pipelines:
        return ["no service.pipelines"]
    used: dict[str, set] = defaultdict(set)
    for ext in (config.get("service") or {}).get("extensions") or []:
        used["extensions"].add(ext)
        if ext not in defined["extensions"]:
            problems.append(f"extension {ext} is used but not defined")

    connector_in: dict[str, set] = defaultdict(set)  # connector -> signals it is exported to from
    connector_out: dict[str, set] = defaultdict(set)  # connector -> signals it feeds
    for pid, pipe in pipelines.items():
        if _signal(pid) not in ("traces", "metrics", "logs"):
            problems.append(f"pipeline {pid}: unknown signal")
        for role, kinds in (("receivers", ("receivers", "connectors")), ("processors", ("processors",)), ("exporters", ("exporters", "connectors"))):
            items = pipe.get(role) or []
            if role != "processors" and not items:
                problems.append(f"pipeline {pid}: no {role}")
            for item in items:
                kind = next((k for k in kinds if item in defined[k]), None)
                if kind is None:
                    problems.append(f"pipeline {pid}: {role[:-1]} {item} is not defined")
                    continue
                used[kind].add(item)
                if kind == "connectors":
                    (connector_out if role == "receivers" else connector_in)[item].add(_signal(pid))
    for kind in KINDS:
        for item in sorted(defined[kind] - used[kind]):
            problems.append(f"{kind[:-1]} {item} is defined but used by no pipeline")
    for conn in defined["connectors"]:
        if not connector_in[conn] or not connector_out[conn]:
            problems.append(f"connector {conn} must be an exporter of one pipeline and a receiver of another")
        if conn.split("/")[0] == "spanmetrics" and (connector_in[conn] != {"traces"} or connector_out[conn] != {"metrics"}):
            problems.append(f"connector {conn} must turn traces into metrics")

    otlp = (config.get("receivers") or {}).get("otlp") or {}
    protocols = otlp.get("protocols") or {}
    if (protocols.get("grpc") or {}).get("endpoint") != "0.0.0.0:4317":
        problems.append("otlp receiver: gRPC must listen on 0.0.0.0:4317")
    if (protocols.get("http") or {}).get("endpoint") != "0.0.0.0:4318":
        problems.append("otlp receiver: HTTP must listen on 0.0.0.0:4318")
    for signal in ("traces", "metrics", "logs"):
        pipe = pipelines.get(signal)
        if not pipe or "otlp" not in (pipe.get("receivers") or []):
            problems.append(f"pipeline {signal}: must receive otlp")
            continue
        procs = pipe.get("processors") or []
        if procs[:1] != ["memory_limiter"]:
            problems.append(f"pipeline {signal}: memory_limiter must come first")
        if "batch" not in procs:
            problems.append(f"pipeline {signal}: no batch processor")
        if kubernetes and "k8sattributes" not in procs:
            problems.append(f"pipeline {signal}: no k8sattributes processor")
    traces = pipelines.get("traces") or {}
    if "transform/semconv" not in (traces.get("processors") or []):
        problems.append("pipeline traces: no transform/semconv (stable -> old attribute names)")
    statements = " ".join(
        s
        for block in ((config.get("processors") or {}).get("transform/semconv") or {}).get("trace_statements") or []
        for s in block.get("statements") or []
    )
    for new, old in SEMCONV_COPIES.items():
        if f'set(attributes["{old}"], attributes["{new}"])' not in statements:
            problems.append(f"transform/semconv does not copy {new} to {old}")

    exp = (config.get("exporters") or {}).get(CONSOLE_EXPORTER)
    if exp is None:
        if console:
            problems.append(f"no {CONSOLE_EXPORTER} exporter (a copy of everything for the console)")
    else:
        if (exp or {}).get("endpoint") != CONSOLE_OTLP_HTTP:
            problems.append(f"{CONSOLE_EXPORTER}: endpoint {(exp or {}).get('endpoint')!r}, the console is {CONSOLE_OTLP_HTTP}")
        for signal in ("traces", "metrics", "logs"):
            if CONSOLE_EXPORTER not in ((pipelines.get(signal) or {}).get("exporters") or []):
                problems.append(f"pipeline {signal}: does not export to {CONSOLE_EXPORTER}")

    if coralogix:
        exp = (config.get("exporters") or {}).get("coralogix")
        if exp is None:
            problems.append("no coralogix exporter")
        else:
            for key in ("domain", "private_key", "application_name", "subsystem_name"):
                value = str(exp.get(key) or "")
                if not value.startswith("${"):
                    problems.append(f"coralogix exporter: {key} must come from configuration (${{env:…}} or ${{file:…}}), got {value!r}")
            # In Kubernetes the key is a mounted Secret, never an environment variable
            # (compose has no Secrets: there it is the environment's).
            if kubernetes and not str(exp.get("private_key", "")).startswith("${file:"):
                problems.append("coralogix exporter: private_key must be read from the mounted Secret (${file:…})")
        for signal in ("traces", "metrics", "logs"):
            if "coralogix" not in ((pipelines.get(signal) or {}).get("exporters") or []):
                problems.append(f"pipeline {signal}: does not export to coralogix")
        connectors = config.get("connectors") or {}
        if "spanmetrics" not in connectors or "spanmetrics" not in (traces.get("exporters") or []):
            problems.append("the traces pipeline must feed the spanmetrics connector (APM service catalogue)")
        db = connectors.get("spanmetrics/db") or {}
        dims = {d.get("name") for d in db.get("dimensions") or []}
        if not {"db.system", "db.namespace", "db.operation.name", "db.collection.name"} <= dims:
            problems.append("spanmetrics/db must have the db.system, db.namespace, db.operation.name, db.collection.name dimensions")
        feeds_db = [pid for pid, p in pipelines.items() if "spanmetrics/db" in (p.get("exporters") or [])]
        if not feeds_db:
            problems.append("no pipeline feeds spanmetrics/db (APM Databases view)")
        if "probabilistic_sampler" in (traces.get("processors") or []) or "tail_sampling" in (traces.get("processors") or []):
            problems.append("span metrics must be computed before any sampling")
        problems.extend(check_coralogix_span_metrics(config))
    if kubernetes:
        cluster = [
            a
            for name, proc in (config.get("processors") or {}).items()
            if name.split("/")[0] == "resource"
            for a in (proc or {}).get("attributes") or []
            if a.get("key") == "k8s.cluster.name"
        ]
        if not cluster or not str(cluster[0].get("value", "")).startswith("${env:"):
            problems.append("no resource processor sets k8s.cluster.name from the environment")
    return problems


def config_references(config_text: str) -> tuple[set[str], set[str]]:
    """The ${env:NAME} variables and ${file:PATH} files a collector configuration reads."""
    envs = set(re.findall(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}", config_text))
    files = set(re.findall(r"\$\{file:([^}]+)\}", config_text))
    return envs, files


def check_collector_deployment(config_text: str, docs: list[dict]) -> list[str]:
    """The collector Deployment supplies every variable and file its configuration reads."""
    problems: list[str] = []
    dep = index(docs).get(("Deployment", "otel-collector"))
    if dep is None:
        return ["no Deployment otel-collector"]
    spec = pod_spec(dep)
    container = spec["containers"][0]
    names, env_problems = container_env_names(container, docs)
    problems.extend(env_problems)
    envs, files = config_references(config_text)
    for var in sorted(envs - names):
        problems.append(f"collector configuration reads ${{env:{var}}}, which its Deployment does not set")
    mounts = {m["mountPath"].rstrip("/"): m["name"] for m in container.get("volumeMounts") or []}
    volumes = {v["name"]: v for v in spec.get("volumes") or []}
    for path in sorted(files):
        mount = next((m for m in mounts if path.startswith(m + "/")), None)
        if mount is None:
            problems.append(f"collector configuration reads {path}, which no volume provides")
            continue
        vol = volumes.get(mounts[mount]) or {}
        if "secret" not in vol:
            problems.append(f"{path} should come from a Secret volume")
    config_volume = next((v for v in spec.get("volumes") or [] if "configMap" in v), None)
    if config_volume is None or find_config_map(docs, "otel-collector-config") is None:
        problems.append("the collector's configuration ConfigMap is missing")
    return problems
