"""The OpenTelemetry Collector configurations, all from one pipeline definition.

scripts/gen-manifests.py writes them and checks them with --check:

  deploy/k8s/base/otel-collector-config.yaml             k3s and any cluster: printed (debug)
  deploy/k8s/overlays/coralogix/otel-collector-config.yaml  Coralogix, with the APM span metrics
  deploy/k8s/overlays/otlp/otel-collector-config.yaml    any OTLP/gRPC backend
  deploy/compose/otel-collector.yaml                     docker compose: printed (debug)

Every variant has the same receivers, processors and console copy; they differ in where
Kubernetes adds something (k8sattributes, kubeletstats, cluster and node names, store
passwords from mounted Secrets instead of variables) and in the exporter. Coralogix also gets
the span metrics its APM reads, computed the way Coralogix's otel-integration chart does.
Only the Python standard library is used.
"""

from __future__ import annotations

import copy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPONENTS = DEPLOY / "otelcol-contrib-components.txt"
KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")

# A copy of every signal for the console (deploy/k8s/base/console.yaml, compose's console).
# To go without it, set this to False and run scripts/gen-manifests.py.
CONSOLE = True
CONSOLE_EXPORTER = "otlphttp/console"

# The collector Deployment mounts these Secret keys as files (deploy/k8s/base/otel-collector.yaml).
SECRETS_DIR = "/etc/otelcol-secrets"

# Span metrics as Coralogix APM reads them (otel-integration chart, presets.spanMetrics).
SPAN_BUCKETS = ["1ms", "4ms", "10ms", "20ms", "50ms", "100ms", "200ms", "500ms", "1s", "2s", "5s"]
# Coralogix's database buckets end at 250ms; the slow-query scenario makes multi-second
# queries, so these go on to 10s.
DB_BUCKETS = ["100us", "1ms", "2ms", "2.5ms", "4ms", "6ms", "10ms", "100ms", "250ms", "500ms", "1s", "2s", "5s", "10s"]
DB_DIMENSIONS = ["db.namespace", "db.operation.name", "db.collection.name", "db.system"]
SPAN_DIMENSIONS = [
    "http.method",
    "cgx.transaction",
    "cgx.transaction.root",
    "http.response.status_code",
    "rpc.grpc.status_code",
    "service.version",
    "traffic.type",
    *DB_DIMENSIONS,
]
DB_COMPACT_DIMENSIONS = ["db.namespace", "db.system"]
# What the compact metrics keep of the resource: with span.kind and status.code (always
# dimensions) they become service_name, k8s_cluster_name, host_name, span_kind, status_code.
COMPACT_RESOURCE = ["service.name", "k8s.cluster.name", "host.name"]
CARDINALITY_LIMIT = 100000

# tracemart already sends both generations of names by default; this also covers
# OTEL_SEMCONV_STABILITY_OPT_IN=database (stable names only) and any other sender.
SEMCONV_COPIES = [
    ("db.system.name", "db.system", None),
    ("db.namespace", "db.name", None),
    ("db.operation.name", "db.operation", None),
    ("db.collection.name", "db.sql.table", None),
    ("db.query.text", "db.statement", None),
    ("http.request.method", "http.method", None),
    ("http.response.status_code", "http.status_code", None),
    ("url.full", "http.url", None),
    ("url.scheme", "http.scheme", None),
    ("user_agent.original", "http.user_agent", None),
    ("server.address", "net.peer.name", "SPAN_KIND_CLIENT"),
    ("server.port", "net.peer.port", "SPAN_KIND_CLIENT"),
    ("server.address", "net.host.name", "SPAN_KIND_SERVER"),
    ("server.port", "net.host.port", "SPAN_KIND_SERVER"),
]


def _semconv() -> dict:
    statements = []
    for new, old, kind in SEMCONV_COPIES:
        where = f"kind == {kind} and " if kind else ""
        statements.append(
            f'set(attributes["{old}"], attributes["{new}"]) where {where}'
            f'attributes["{old}"] == nil and attributes["{new}"] != nil'
        )
    return {"error_mode": "ignore", "trace_statements": [{"context": "span", "statements": statements}]}


def _k8sattributes() -> dict:
    return {
        "auth_type": "serviceAccount",
        "passthrough": False,
        "filter": {"namespace": "${env:K8S_NAMESPACE}"},
        "extract": {
            "metadata": [
                "k8s.namespace.name",
                "k8s.pod.name",
                "k8s.pod.uid",
                "k8s.deployment.name",
                "k8s.statefulset.name",
                "k8s.node.name",
                "k8s.container.name",
            ]
        },
        "pod_association": [
            {"sources": [{"from": "resource_attribute", "name": "k8s.pod.ip"}]},
            {"sources": [{"from": "resource_attribute", "name": "k8s.pod.uid"}]},
            {"sources": [{"from": "connection"}]},
        ],
    }


def _password(kubernetes: bool, secret_dir: str, key: str) -> str:
    """A store's password: a mounted Secret key in Kubernetes, a variable in compose."""
    return f"${{file:{SECRETS_DIR}/{secret_dir}/{key}}}" if kubernetes else f"${{env:{key}}}"


def _store_receivers(kubernetes: bool) -> dict:
    redis: dict = {"endpoint": "redis:6379", "collection_interval": "30s"}
    if kubernetes:  # compose's Redis asks for no password
        redis["password"] = _password(True, "redis", "REDIS_PASSWORD")
    return {
        "postgresql": {
            "endpoint": "postgres:5432",
            "transport": "tcp",
            "username": "tracemart",
            "password": _password(kubernetes, "postgres", "POSTGRES_PASSWORD"),
            "databases": ["tracemart"],
            "collection_interval": "30s",
            "tls": {"insecure": True},
        },
        "redis": redis,
        # The management plugin's API (the -management image).
        "rabbitmq": {
            "endpoint": "http://rabbitmq:15672",
            "username": "tracemart",
            "password": _password(kubernetes, "rabbitmq", "RABBITMQ_PASSWORD"),
            "collection_interval": "30s",
        },
    }


def _spanmetrics(namespace: str, buckets: list[str], dimensions: list[str], exclude: list[str]) -> dict:
    connector: dict = {
        "namespace": namespace,
        "aggregation_cardinality_limit": CARDINALITY_LIMIT,
        "add_resource_attributes": True,
        "histogram": {"unit": "ms", "explicit": {"buckets": buckets}},
    }
    if dimensions:
        connector["dimensions"] = [{"name": d} for d in dimensions]
    connector.update(
        {
            "exclude_dimensions": exclude + ["collector.instance.id"],
            "metrics_flush_interval": "15s",
            "metrics_expiration": "5m",
        }
    )
    return connector


def _keep_resource() -> dict:
    return {"context": "resource", "statements": [f"keep_keys(attributes, {_list(COMPACT_RESOURCE)})"]}


def _list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def span_metrics() -> tuple[dict, dict, dict]:
    """Coralogix's span metrics: (processors, connectors, pipelines) beside the main ones.
    spanmetrics feeds the Service Catalog, spanmetrics/db the Database Catalog, and the two
    compact connectors the compact service and database metrics of the same pages."""
    processors = {
        # A trace's spans together, so the coralogix processor can name its transaction
        # (cgx.transaction, cgx.transaction.root) before the span metrics count it.
        "groupbytrace": {"wait_duration": "5s", "num_traces": 20000},
        "coralogix": {"transactions": {"enabled": True}},
        "filter/db_spanmetrics": {"error_mode": "ignore", "traces": {"span": ['attributes["db.system"] == nil']}},
        "filter/db_compact_spanmetrics": {
            "error_mode": "ignore",
            "traces": {
                "span": ['kind != SPAN_KIND_CLIENT or attributes["db.namespace"] == nil or attributes["db.system"] == nil']
            },
        },
        "transform/compact": {"error_mode": "ignore", "trace_statements": [_keep_resource()]},
        "transform/db_compact": {
            "error_mode": "ignore",
            "trace_statements": [
                _keep_resource(),
                {"context": "span", "statements": [f"keep_keys(attributes, {_list(DB_COMPACT_DIMENSIONS)})"]},
            ],
        },
    }
    connectors = {
        "spanmetrics": _spanmetrics("", SPAN_BUCKETS, SPAN_DIMENSIONS, []),
        "spanmetrics/db": _spanmetrics("db", DB_BUCKETS, DB_DIMENSIONS, []),
        "spanmetrics/compact": _spanmetrics("compact", SPAN_BUCKETS, [], ["span.name"]),
        "spanmetrics/db_compact": _spanmetrics("db_compact", DB_BUCKETS, DB_COMPACT_DIMENSIONS, ["span.name", "span.kind"]),
        "forward/db": {},
        "forward/compact": {},
        "forward/db_compact": {},
    }
    pipelines = {
        "traces/db": {
            "receivers": ["forward/db"],
            "processors": ["filter/db_spanmetrics", "batch"],
            "exporters": ["spanmetrics/db"],
        },
        "traces/compact": {
            "receivers": ["forward/compact"],
            "processors": ["transform/compact", "batch"],
            "exporters": ["spanmetrics/compact"],
        },
        "traces/db_compact": {
            "receivers": ["forward/db_compact"],
            "processors": ["filter/db_compact_spanmetrics", "transform/db_compact", "batch"],
            "exporters": ["spanmetrics/db_compact"],
        },
        "metrics/compact": {
            "receivers": ["spanmetrics/compact", "spanmetrics/db_compact"],
            "processors": ["memory_limiter", "batch"],
            "exporters": ["coralogix"],
        },
    }
    return processors, connectors, pipelines


def config(*, kubernetes: bool, exporters: dict, coralogix: bool = False) -> dict:
    """The one pipeline: OTLP from the services and the stores' own metrics in; Kubernetes
    attributes, cluster and node names and the old attribute names added; out to
    `exporters` and the console."""
    receivers: dict = {
        "otlp": {
            "protocols": {
                "grpc": {"endpoint": "0.0.0.0:4317"},
                # A page may also export straight here (the storefront itself posts to its own
                # origin, the frontend, which forwards): CORS for the storefront's origin.
                "http": {
                    "endpoint": "0.0.0.0:4318",
                    "cors": {
                        "allowed_origins": ["${env:STOREFRONT_ORIGIN}"],
                        "allowed_headers": ["content-type", "content-encoding"],
                        "max_age": 7200,
                    },
                },
            }
        },
        **_store_receivers(kubernetes),
    }
    processors: dict = {
        "memory_limiter": {"check_interval": "1s", "limit_percentage": 80, "spike_limit_percentage": 25},
    }
    enrich: list[str] = []
    if kubernetes:
        # The node's kubelet: node, pod and container metrics (RBAC nodes/stats). The
        # collector is one Deployment, so this is the node it runs on.
        receivers["kubeletstats"] = {
            "auth_type": "serviceAccount",
            "endpoint": "https://${env:K8S_NODE_IP}:10250",
            "insecure_skip_verify": True,
            "collection_interval": "30s",
            "metric_groups": ["node", "pod", "container"],
        }
        processors["k8sattributes"] = _k8sattributes()
        # host.name is the node a pod runs on (what Coralogix's infrastructure views key by).
        processors["transform/host"] = {
            "error_mode": "ignore",
            **{
                f"{signal}_statements": [
                    {
                        "context": "resource",
                        "statements": [
                            'set(attributes["host.name"], attributes["k8s.node.name"]) where attributes["k8s.node.name"] != nil'
                        ],
                    }
                ]
                for signal in ("trace", "metric", "log")
            },
        }
        # The cluster's name (K8S_CLUSTER_NAME in otel-collector.env), and the collector's own
        # node for what has none (its receivers' metrics).
        processors["resource/cluster"] = {
            "attributes": [
                {"key": "k8s.cluster.name", "value": "${env:K8S_CLUSTER_NAME}", "action": "upsert"},
                {"key": "host.name", "value": "${env:K8S_NODE_NAME}", "action": "insert"},
            ]
        }
        enrich = ["k8sattributes", "transform/host", "resource/cluster"]
    processors["transform/semconv"] = _semconv()
    processors["batch"] = {"send_batch_size": 1024, "timeout": "1s"}

    exporters = copy.deepcopy(exporters)
    out = list(exporters)
    if CONSOLE:
        exporters[CONSOLE_EXPORTER] = {"endpoint": "http://console:4318", "compression": "gzip"}
        out.append(CONSOLE_EXPORTER)
    metrics_in = ["otlp", "postgresql", "redis", "rabbitmq"] + (["kubeletstats"] if kubernetes else [])
    traces = {
        "receivers": ["otlp"],
        "processors": ["memory_limiter", *enrich, "transform/semconv", "batch"],
        "exporters": list(out),
    }
    pipelines: dict = {
        "traces": traces,
        "metrics": {"receivers": metrics_in, "processors": ["memory_limiter", *enrich, "batch"], "exporters": list(out)},
        "logs": {"receivers": ["otlp"], "processors": ["memory_limiter", *enrich, "batch"], "exporters": list(out)},
    }
    doc: dict = {
        "extensions": {"health_check": {"endpoint": "0.0.0.0:13133"}},
        "receivers": receivers,
        "processors": processors,
        "exporters": exporters,
    }
    if coralogix:
        extra_processors, connectors, extra_pipelines = span_metrics()
        processors.update(extra_processors)
        # Span metrics see every span (no sampling here), after the transactions are named.
        traces["processors"].insert(traces["processors"].index("batch"), "groupbytrace")
        traces["processors"].insert(traces["processors"].index("batch"), "coralogix")
        traces["exporters"][1:1] = ["spanmetrics", "forward/db", "forward/compact", "forward/db_compact"]
        pipelines["metrics"]["receivers"] += ["spanmetrics", "spanmetrics/db"]
        pipelines.update(extra_pipelines)
        doc["connectors"] = connectors
    doc["service"] = {"extensions": ["health_check"], "pipelines": pipelines}
    return doc


CORALOGIX_EXPORTER = {
    "coralogix": {
        "domain": "${env:CORALOGIX_DOMAIN}",
        "private_key": f"${{file:{SECRETS_DIR}/coralogix/PRIVATE_KEY}}",
        "application_name": "${env:CX_APPLICATION_NAME}",
        "subsystem_name": "${env:CX_SUBSYSTEM_NAME}",
        # Each service's own resource attributes win over the two names above.
        "application_name_attributes": ["cx.application.name", "service.namespace"],
        "subsystem_name_attributes": ["cx.subsystem.name", "service.name"],
        "timeout": "30s",
    }
}
# Compose has no Secret files: the send-your-data key comes from the environment.
CORALOGIX_COMPOSE_EXPORTER = {
    "coralogix": {**CORALOGIX_EXPORTER["coralogix"], "private_key": "${env:CORALOGIX_PRIVATE_KEY}"}
}
OTLP_EXPORTER = {
    "otlp/backend": {
        "endpoint": "${env:OTLP_BACKEND_ENDPOINT}",
        "tls": {"insecure": "${env:OTLP_BACKEND_INSECURE}"},
        "headers": {"authorization": f"${{file:{SECRETS_DIR}/otlp-backend/authorization}}"},
        "compression": "gzip",
    }
}
DEBUG_EXPORTER = {"debug": {"verbosity": "basic"}}

_CONSOLE_NOTE = (
    "# A copy of every signal goes to the console (otlphttp/console); CONSOLE in\n"
    "# scripts/lib/collector.py turns it off.\n"
)
# path -> (what the header says, the configuration)
VARIANTS = {
    DEPLOY / "k8s" / "base" / "otel-collector-config.yaml": (
        "# The base (and the k3s overlay): everything printed by the debug exporter\n"
        "# (`kubectl -n ecommerce-demo logs deploy/otel-collector`).\n",
        dict(kubernetes=True, exporters=DEBUG_EXPORTER),
    ),
    DEPLOY / "k8s" / "overlays" / "coralogix" / "otel-collector-config.yaml": (
        "# Coralogix (overlay coralogix): the coralogix exporter, domain and names from the\n"
        "# environment, the send-your-data key from the Secret coralogix-keys mounted as a file;\n"
        "# the span metrics of APM computed as Coralogix's otel-integration chart does\n"
        "# (spanmetrics, spanmetrics/db, spanmetrics/compact, spanmetrics/db_compact), after\n"
        "# groupbytrace and the coralogix processor have named the transactions.\n",
        dict(kubernetes=True, exporters=CORALOGIX_EXPORTER, coralogix=True),
    ),
    DEPLOY / "k8s" / "overlays" / "otlp" / "otel-collector-config.yaml": (
        "# Any OTLP backend (overlay otlp): OTLP/gRPC to OTLP_BACKEND_ENDPOINT (otlp-backend.env),\n"
        "# the authorization header from the Secret otlp-backend (may be empty), mounted as a file.\n",
        dict(kubernetes=True, exporters=OTLP_EXPORTER),
    ),
    DEPLOY / "compose" / "otel-collector.yaml": (
        "# docker compose (deploy/compose.yaml): everything printed by the debug exporter\n"
        "# (`docker compose -f deploy/compose.yaml logs otel-collector`); no Kubernetes\n"
        "# attributes, the stores' passwords from the collector's environment.\n",
        dict(kubernetes=False, exporters=DEBUG_EXPORTER),
    ),
    DEPLOY / "compose" / "otel-collector-coralogix.yaml": (
        "# docker compose with Coralogix (deploy/compose.coralogix.yaml on top of\n"
        "# deploy/compose.yaml): the coralogix exporter, the key and domain from the environment,\n"
        "# and the span metrics of APM exactly as the coralogix overlay computes them.\n",
        dict(kubernetes=False, exporters=CORALOGIX_COMPOSE_EXPORTER, coralogix=True),
    ),
}


def configurations() -> dict[Path, tuple[str, dict]]:
    """path -> (header comment, configuration) for every variant."""
    header = (
        "# Generated by scripts/gen-manifests.py (the pipeline is in scripts/lib/collector.py):\n"
        "# do not edit. OpenTelemetry Collector configuration.\n"
    )
    return {path: (header + what + _CONSOLE_NOTE, config(**options)) for path, (what, options) in VARIANTS.items()}


# What each span-metrics connector groups by, for the test that checks the shop's spans carry
# it (crates/shop/tests/integration/span_metrics.rs reads deploy/span-metrics-dimensions.json).
DIMENSIONS_CONTRACT = DEPLOY / "span-metrics-dimensions.json"
# Which spans each connector sees: the filters of its pipeline, in words the test knows.
APPLIES_TO = {
    "spanmetrics": "every span",
    "spanmetrics/db": "db.system set",
    "spanmetrics/compact": "every span",
    "spanmetrics/db_compact": "client with db.namespace and db.system",
}
# Dimensions the collector sets itself, before the connectors: not the services' to send.
COLLECTOR_ADDED = {
    "cgx.transaction": "coralogix processor",
    "cgx.transaction.root": "coralogix processor",
    "k8s.cluster.name": "resource/cluster processor",
}


def dimensions_contract() -> dict:
    """connector -> the spans it sees, its span dimensions and the resource attributes it
    keeps, from the Coralogix pipeline itself; with the attributes the collector adds or
    copies (transform/semconv) before they are counted."""
    doc = config(kubernetes=True, exporters=CORALOGIX_EXPORTER, coralogix=True)
    connectors = {}
    for name, c in sorted(doc["connectors"].items()):
        if not name.startswith("spanmetrics"):
            continue
        if name not in APPLIES_TO:
            raise SystemExit(f"{name}: say in APPLIES_TO which spans it sees")
        compact = name.endswith("compact")
        connectors[name] = {
            "applies_to": APPLIES_TO[name],
            "span_dimensions": [d["name"] for d in c.get("dimensions", [])],
            # What every span-metrics connector groups by, less what this one excludes.
            "always": [d for d in ("span.name", "span.kind", "status.code") if d not in c["exclude_dimensions"]],
            # service.name always; the compact ones keep only these of the resource.
            "resource": COMPACT_RESOURCE if compact else ["service.name"],
        }
    return {
        "_comment": "Generated by scripts/gen-manifests.py from scripts/lib/collector.py: do not edit.",
        "connectors": connectors,
        "collector_added": COLLECTOR_ADDED,
        "copies": [{"from": new, "to": old, "kind": kind} for new, old, kind in SEMCONV_COPIES],
    }


# --- checks -----------------------------------------------------------------------------


def known_components(path: Path = COMPONENTS) -> dict[str, set[str]]:
    """kind (receivers, ...) -> the component types the pinned otelcol-contrib has."""
    known: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            kind, name = line.split()
            known[kind + "s"].add(name)
    return known


def unknown_components(doc: dict, known: dict[str, set[str]]) -> list[str]:
    """Components of doc whose type (the part before '/') the release does not have."""
    problems = []
    for kind in KINDS:
        for name in doc.get(kind) or {}:
            if name.split("/")[0] not in known[kind]:
                problems.append(f"{kind[:-1]} {name}: otelcol-contrib has no such component ({COMPONENTS.name})")
    return problems
