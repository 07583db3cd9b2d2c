//! Every standard attribute the shop sets is exported with the type the semantic conventions
//! give it, as an independent OTLP receiver decodes it (`tracing` would happily send a port as
//! the string "8018"): the shop runs journeys, order events and a failing call, exports OTLP/HTTP
//! protobuf to a plain decoder here, and every attribute in a convention namespace is checked
//! against the table below — one missing from the table fails too, so a new attribute gets a
//! declared type.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::*;
use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Type {
    Str,
    Int,
    Bool,
    Double,
}

/// The conventions' type of each attribute the shop sets on spans (and resources).
const TYPES: &[(&str, Type)] = &[
    ("http.request.method", Type::Str),
    ("http.request.method_original", Type::Str),
    ("http.response.status_code", Type::Int),
    ("http.route", Type::Str),
    ("url.path", Type::Str),
    ("url.query", Type::Str),
    ("url.scheme", Type::Str),
    ("url.full", Type::Str),
    ("url.template", Type::Str),
    ("server.address", Type::Str),
    ("server.port", Type::Int),
    ("client.address", Type::Str),
    ("network.peer.address", Type::Str),
    ("network.peer.port", Type::Int),
    ("network.protocol.version", Type::Str),
    ("user_agent.original", Type::Str),
    ("user_agent.synthetic.type", Type::Str),
    ("error.type", Type::Str),
    ("peer.service", Type::Str),
    ("service.peer.name", Type::Str),
    ("db.system.name", Type::Str),
    ("db.namespace", Type::Str),
    ("db.collection.name", Type::Str),
    ("db.operation.name", Type::Str),
    ("db.query.text", Type::Str),
    ("db.response.status_code", Type::Str),
    ("db.redis.database_index", Type::Int),
    ("db.system", Type::Str),
    ("db.name", Type::Str),
    ("db.operation", Type::Str),
    ("db.sql.table", Type::Str),
    ("db.statement", Type::Str),
    ("net.peer.name", Type::Str),
    ("net.peer.port", Type::Int),
    ("messaging.system", Type::Str),
    ("messaging.destination.name", Type::Str),
    ("messaging.destination.subscription.name", Type::Str),
    ("messaging.operation.type", Type::Str),
    ("messaging.operation.name", Type::Str),
    ("messaging.message.id", Type::Str),
    ("messaging.message.body.size", Type::Int),
    ("messaging.consumer.group.name", Type::Str),
    ("messaging.rabbitmq.destination.routing_key", Type::Str),
    ("messaging.rabbitmq.message.delivery_tag", Type::Int),
    ("service.name", Type::Str),
    ("service.namespace", Type::Str),
    ("service.version", Type::Str),
    ("service.instance.id", Type::Str),
    ("deployment.environment.name", Type::Str),
    ("telemetry.sdk.name", Type::Str),
    ("telemetry.sdk.language", Type::Str),
    ("telemetry.sdk.version", Type::Str),
    ("host.name", Type::Str),
    ("host.arch", Type::Str),
    ("os.type", Type::Str),
    ("process.pid", Type::Int),
    ("process.executable.name", Type::Str),
    ("process.runtime.name", Type::Str),
    ("session.id", Type::Str),
    ("k8s.pod.name", Type::Str),
    ("k8s.namespace.name", Type::Str),
    ("k8s.node.name", Type::Str),
    ("k8s.container.name", Type::Str),
];

/// The namespaces whose attributes the conventions define: every one of them must be in
/// [`TYPES`].
const NAMESPACES: &[&str] = &[
    "http.",
    "url.",
    "server.",
    "client.",
    "network.",
    "user_agent.",
    "db.",
    "net.",
    "messaging.",
    "service.",
    "telemetry.",
    "host.",
    "os.",
    "process.",
    "session.",
    "k8s.",
];

fn type_of(v: &Option<AnyValue>) -> Option<Type> {
    match v.as_ref()?.value.as_ref()? {
        Value::StringValue(_) => Some(Type::Str),
        Value::IntValue(_) => Some(Type::Int),
        Value::BoolValue(_) => Some(Type::Bool),
        Value::DoubleValue(_) => Some(Type::Double),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_standard_attribute_is_exported_with_its_conventions_type() {
    let (receiver, db) = exported_run(3).await;

    let mut seen: BTreeMap<String, BTreeSet<Type>> = BTreeMap::new();
    for s in receiver.spans() {
        for kv in s.resource.iter().chain(&s.span.attributes) {
            if let Some(t) = type_of(&kv.value) {
                seen.entry(kv.key.clone()).or_default().insert(t);
            }
        }
    }
    let want: BTreeMap<&str, Type> = TYPES.iter().copied().collect();
    let mut wrong = Vec::new();
    for (key, types) in &seen {
        if !NAMESPACES.iter().any(|n| key.starts_with(n)) {
            continue;
        }
        match want.get(key.as_str()) {
            Some(t) if types.len() == 1 && types.contains(t) => {}
            Some(t) => wrong.push(format!("{key}: {types:?}, the conventions say {t:?}")),
            None => wrong.push(format!("{key}: {types:?}, not in the table of types")),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    // The ones every such run has, seen at all (the table is not a list of wishes).
    for key in [
        "http.response.status_code",
        "server.port",
        "network.peer.port",
        "db.query.text",
        "messaging.message.body.size",
        "messaging.rabbitmq.message.delivery_tag",
        "process.pid",
        "user_agent.synthetic.type",
        "client.address",
    ] {
        assert!(
            seen.contains_key(key),
            "{key} was exported: {:?}",
            seen.keys()
        );
    }
    db.drop_now().await;
}
