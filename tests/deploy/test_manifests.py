"""The manifests agree with the binary: every service deployed, on the port it listens on,
with only the environment variables it reads; and a disagreement is caught."""

from __future__ import annotations

import importlib.util

import yaml
from checks import check_compose, check_console, check_manifests, check_workloads, find_config_map, index, pod_spec
from conftest import OVERLAYS, ROOT, render


def test_every_overlay_is_rendered():
    assert {"k3s", "coralogix", "otlp"} <= set(OVERLAYS)


def test_manifests_match_the_binary(services_doc, overlay):
    assert check_manifests(services_doc, render(overlay)) == []


def test_workloads_are_locked_down(overlay):
    assert check_workloads(render(overlay)) == []


def test_compose_matches_the_binary(services_doc):
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    assert check_compose(services_doc, compose) == []


def test_generated_files_are_current(services_doc):
    spec = importlib.util.spec_from_file_location("gen_manifests", ROOT / "scripts" / "gen-manifests.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    stale = [
        str(path.relative_to(ROOT))
        for path, text in gen.render(services_doc).items()
        if not path.exists() or path.read_text() != text
    ]
    assert stale == [], "run scripts/gen-manifests.py and commit the result"


def test_the_console_is_deployed_with_the_shop(services_doc, overlay):
    assert check_console(services_doc, render(overlay)) == []


def test_k3s_never_pulls_the_shop_image():
    shop_image = 0
    for doc in render("k3s"):
        if doc["kind"] == "Deployment" and pod_spec(doc)["containers"][0]["image"].startswith("tracemart:"):
            shop_image += 1
            assert pod_spec(doc)["containers"][0]["imagePullPolicy"] == "Never", doc["metadata"]["name"]
    assert shop_image > 12  # the services and the console


# --- a disagreement is caught -------------------------------------------------------------


def test_a_service_without_a_deployment_is_caught(services_copy):
    services_copy["services"].append(
        {"name": "wishlist", "port": 8022, "port_var": "WISHLIST_PORT", "url_var": "WISHLIST_SERVICE_URL", "calls": [], "stores": []}
    )
    problems = check_manifests(services_copy, render("k3s"))
    assert any("wishlist: no Deployment" in p for p in problems), problems


def test_a_deployment_without_a_service_in_the_binary_is_caught(services_copy):
    gone = services_copy["services"].pop()
    for svc in services_copy["services"]:
        svc["calls"] = [c for c in svc["calls"] if c != gone["name"]]
    problems = check_manifests(services_copy, render("k3s"))
    assert any(f"Deployment {gone['name']} runs a service the binary does not have" in p for p in problems), problems


def test_a_changed_port_is_caught(services_copy):
    services_copy["services"][1]["port"] += 100
    name = services_copy["services"][1]["name"]
    problems = check_manifests(services_copy, render("k3s"))
    assert any(f"service {name}: containerPort" in p for p in problems), problems
    assert any(f"service {name}: Service port" in p for p in problems), problems


def test_a_port_changed_in_the_manifests_is_caught(services_doc):
    docs = render("coralogix")
    dep = index(docs)[("Deployment", "cart")]
    pod_spec(dep)["containers"][0]["ports"][0]["containerPort"] = 9999
    problems = check_manifests(services_doc, docs)
    assert any("service cart: containerPort [9999]" in p for p in problems), problems


def test_a_variable_the_binary_does_not_read_is_caught(services_copy):
    services_copy["environment"].remove("LOAD_RATE")
    problems = check_manifests(services_copy, render("k3s"))
    assert any("sets LOAD_RATE, which the binary does not read" in p for p in problems), problems


def test_a_renamed_url_variable_is_caught(services_copy):
    svc = next(s for s in services_copy["services"] if s["name"] == "payment")
    services_copy["environment"].remove("PAYMENT_SERVICE_URL")
    svc["url_var"] = "PAYMENTS_URL"
    services_copy["environment"].append("PAYMENTS_URL")
    problems = check_manifests(services_copy, render("k3s"))
    assert any("PAYMENTS_URL" in p for p in problems), problems
    assert any("sets PAYMENT_SERVICE_URL" in p for p in problems), problems


def test_a_new_call_blocked_by_network_policy_is_caught(services_copy):
    svc = next(s for s in services_copy["services"] if s["name"] == "payment")
    svc["calls"].append("currency")
    problems = check_manifests(services_copy, render("k3s"))
    assert any("payment: no NetworkPolicy lets it call currency" in p for p in problems), problems


def test_a_new_store_user_is_caught(services_copy):
    svc = next(s for s in services_copy["services"] if s["name"] == "ad")
    svc["stores"].append("postgresql")
    problems = check_manifests(services_copy, render("k3s"))
    assert any("ad: uses PostgreSQL but DATABASE_URL does not come from a Secret" in p for p in problems), problems
    assert any("ad: no NetworkPolicy lets it reach postgres:5432" in p for p in problems), problems


def test_a_new_broker_user_is_caught(services_copy):
    svc = next(s for s in services_copy["services"] if s["name"] == "shipping")
    svc["stores"].append("rabbitmq")
    problems = check_manifests(services_copy, render("k3s"))
    assert any("shipping: uses RabbitMQ but AMQP_URL does not come from a Secret" in p for p in problems), problems
    assert any("shipping: no NetworkPolicy lets it reach rabbitmq:5672" in p for p in problems), problems
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    assert any("compose shipping: uses RabbitMQ but gets no AMQP_URL" in p for p in check_compose(services_copy, compose))


def test_service_links_are_caught(services_doc):
    docs = render("k3s")
    pod_spec(index(docs)[("Deployment", "cart")])["enableServiceLinks"] = True
    assert any("enableServiceLinks" in p for p in check_manifests(services_doc, docs))


def test_an_inline_secret_and_a_root_container_are_caught():
    docs = render("k3s")
    dep = index(docs)[("Deployment", "checkout")]
    container = pod_spec(dep)["containers"][0]
    container["env"] = [{"name": "DATABASE_URL", "value": "postgres://u:p@postgres/db"}]
    container["securityContext"]["readOnlyRootFilesystem"] = False
    problems = check_workloads(docs)
    assert any("DATABASE_URL is set inline" in p for p in problems), problems
    assert any("readOnlyRootFilesystem" in p for p in problems), problems


def test_compose_drift_is_caught(services_copy):
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services_copy["services"][0]["port"] = 1
    del compose["services"]["payment"]
    problems = check_compose(services_copy, compose)
    assert any("no service payment" in p for p in problems), problems
    assert any("does not check port 1" in p for p in problems), problems


def test_console_drift_is_caught(services_doc):
    docs = render("coralogix")
    objects = index(docs)
    container = pod_spec(objects[("Deployment", "console")])["containers"][0]
    container["env"].append({"name": "TRACEMART_CONSOLE_PORTS", "value": "8090"})
    container["resources"]["limits"]["memory"] = "256Mi"
    container["livenessProbe"]["httpGet"]["path"] = "/health"
    container["args"] = ["serve", "console"]
    frontend = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "allow-frontend")
    for rule in frontend["spec"]["ingress"]:
        rule["from"] = [p for p in rule["from"] if p["podSelector"]["matchLabels"]["app.kubernetes.io/name"] != "console"]
    console_policy = next(d for d in docs if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "allow-console")
    console_policy["spec"]["ingress"] = console_policy["spec"]["ingress"][:1]
    problems = check_manifests(services_doc, docs)
    assert any("Deployment console: sets TRACEMART_CONSOLE_PORTS, which the binary does not read" in p for p in problems), problems
    problems = check_console(services_doc, docs)
    assert any("memory limit 256Mi" in p for p in problems), problems
    assert any("livenessProbe is not GET /api/stats" in p for p in problems), problems
    assert any("not `tracemart console`" in p for p in problems), problems
    assert any("no NetworkPolicy lets it call frontend on port 8018" in p for p in problems), problems
    assert any("no NetworkPolicy lets load-generator (scripts/validate.sh) read console:8090" in p for p in problems), problems


def test_console_pointed_elsewhere_is_caught(services_copy):
    docs = render("k3s")
    frontend = next(s for s in services_copy["services"] if s["name"] == "frontend")
    frontend["port"] = 8118
    config = find_config_map(docs, "otel-collector-config")[1]
    config["config.yaml"] = config["config.yaml"].replace("http://console:4318", "http://console:4319")
    problems = check_console(services_copy, docs)
    assert any("TRACEMART_URL='http://frontend:8018' is not the URL of a shop service" in p for p in problems), problems
    assert any("sends to http://console:4319" in p for p in problems), problems
    without = [d for d in docs if (d["kind"], d["metadata"]["name"]) != ("Deployment", "console")]
    assert check_console(services_copy, without) == ["no Deployment console"]


def test_compose_console_drift_is_caught(services_doc):
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    console = compose["services"]["console"]
    console["environment"]["LOAD_GENERATOR_URL"] = "http://frontend:8018"
    console["environment"]["CONSOLE_URL"] = "http://console:8090"
    console["healthcheck"]["test"][-1] = "8090"
    problems = check_compose(services_doc, compose)
    assert any("compose console: LOAD_GENERATOR_URL" in p for p in problems), problems
    assert any("compose console: sets CONSOLE_URL" in p for p in problems), problems
    assert any("compose console: healthcheck" in p for p in problems), problems
    del compose["services"]["console"]
    assert "compose: no console" in check_compose(services_doc, compose)


def referenced_secrets(docs):
    """(secret, key, optional) for every Secret key the rendered manifests read."""
    refs = set()
    for doc in docs:
        if doc["kind"] not in ("Deployment", "StatefulSet"):
            continue
        spec = pod_spec(doc)
        for c in spec["containers"]:
            for e in c.get("env") or []:
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref:
                    refs.add((ref["name"], ref["key"], bool(ref.get("optional"))))
        for v in spec.get("volumes") or []:
            if "secret" in v:
                for item in v["secret"].get("items") or []:
                    refs.add((v["secret"]["secretName"], item["key"], bool(v["secret"].get("optional"))))
    return refs


def test_required_secrets_list_matches_the_manifests(overlay):
    listed = set()
    for line in (ROOT / "deploy" / "required-secrets.tsv").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        scope, secret, key, may_be_empty = line.split("\t")[:4]
        if scope in ("*", overlay):
            listed.add((secret, key, may_be_empty == "optional"))
    assert referenced_secrets(render(overlay)) == listed


def test_config_map_is_found_with_its_hash_suffix():
    name, data = find_config_map(render("k3s"), "tracemart-config")
    assert name.startswith("tracemart-config-") and data["DEPLOYMENT_ENVIRONMENT"] == "k3s"
