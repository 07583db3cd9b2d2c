//! The event path as an APM sees it: which published messages every consumer group
//! processed, how long after their publishing, whether the messaging spans carry the
//! attributes the conventions ask for, and the queues' latest gauges.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use crate::store::{Store, StoredSpan, kind};

/// What every PRODUCER and CONSUMER span must carry.
pub const REQUIRED: &[&str] = &[
    "messaging.system",
    "messaging.destination.name",
    "messaging.operation.type",
    "messaging.operation.name",
    "messaging.message.id",
    "traffic.type",
];
/// What a CONSUMER span carries besides.
pub const REQUIRED_CONSUMER: &[&str] = &[
    "messaging.consumer.group.name",
    "messaging.destination.subscription.name",
];

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Messaging {
    /// Messages published (a PRODUCER span with a message id) longer ago than the grace time
    /// a consumer is given.
    pub published: u64,
    pub groups: Vec<GroupFlow>,
    pub spans: u64,
    pub spans_missing_attributes: u64,
    /// The attributes found missing, each once.
    pub missing: Vec<String>,
    pub gauges: Vec<Gauge>,
}

/// One consumer group's share of the published messages.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct GroupFlow {
    pub group: String,
    /// Of `published`, those it processed at least once (whatever the outcome).
    pub consumed: u64,
    /// Of `published`, those it has no CONSUMER span for.
    pub missing: u64,
    /// Of what it processed, the share whose last processing failed.
    pub failed: u64,
    /// From the end of the publish to the start of the (first) processing.
    pub p50_delay_ms: f64,
    pub max_delay_ms: f64,
}

/// The latest value of a watched gauge.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Gauge {
    pub service: String,
    pub name: String,
    /// The queue it is about, when it is about one.
    pub subscription: Option<String>,
    pub value: f64,
}

fn missing_attributes<'a>(s: &StoredSpan, out: &mut BTreeSet<&'a str>) -> bool {
    let mut missing = false;
    let consumer: &[&'a str] = if s.kind == kind::CONSUMER {
        REQUIRED_CONSUMER
    } else {
        &[]
    };
    for key in REQUIRED.iter().chain(consumer) {
        if s.attr(key).is_none_or(str::is_empty) {
            out.insert(key);
            missing = true;
        }
    }
    missing
}

/// The event path over the store: messages published before `grace_ns` ago are owed to
/// every consumer group seen (which groups must be seen is the caller's to judge).
pub fn messaging(store: &Store, now_ns: u64, grace_ns: u64) -> Messaging {
    // message id → when its publish ended
    let mut published: HashMap<&str, u64> = HashMap::new();
    // group → message id → (first processing start, last outcome failed, last start)
    let mut processed: BTreeMap<&str, HashMap<&str, (u64, bool, u64)>> = BTreeMap::new();
    let (mut spans, mut incomplete) = (0u64, 0u64);
    let mut missing = BTreeSet::new();
    for s in store.spans() {
        if s.attr("messaging.system").is_none() {
            continue;
        }
        match s.kind {
            kind::PRODUCER => {
                if let Some(id) = s.attr("messaging.message.id") {
                    published.insert(id, s.end_ns);
                }
            }
            kind::CONSUMER => {
                if let (Some(group), Some(id)) = (
                    s.attr("messaging.consumer.group.name"),
                    s.attr("messaging.message.id"),
                ) {
                    let e = processed
                        .entry(group)
                        .or_default()
                        .entry(id)
                        .or_insert((s.start_ns, s.error, s.start_ns));
                    e.0 = e.0.min(s.start_ns);
                    if s.start_ns >= e.2 {
                        (e.1, e.2) = (s.error, s.start_ns);
                    }
                }
            }
            _ => continue,
        }
        spans += 1;
        if missing_attributes(s, &mut missing) {
            incomplete += 1;
        }
    }
    let owed: Vec<(&str, u64)> = published
        .into_iter()
        .filter(|(_, end)| now_ns.saturating_sub(*end) >= grace_ns)
        .collect();
    let groups = processed
        .into_iter()
        .map(|(group, seen)| {
            let (mut consumed, mut failed) = (0, 0);
            let mut delays = Vec::new();
            for (id, end) in &owed {
                if let Some((first, last_failed, _)) = seen.get(id) {
                    consumed += 1;
                    failed += u64::from(*last_failed);
                    delays.push(first.saturating_sub(*end));
                }
            }
            delays.sort_unstable();
            let ms = |ns: u64| (ns as f64 / 10_000.0).round() / 100.0;
            GroupFlow {
                group: group.to_owned(),
                consumed,
                missing: owed.len() as u64 - consumed,
                failed,
                p50_delay_ms: delays.get(delays.len() / 2).copied().map_or(0.0, ms),
                max_delay_ms: delays.last().copied().map_or(0.0, ms),
            }
        })
        .collect();
    Messaging {
        published: owed.len() as u64,
        groups,
        spans,
        spans_missing_attributes: incomplete,
        missing: missing.into_iter().map(str::to_owned).collect(),
        gauges: store
            .gauges
            .iter()
            .map(|((service, name, subscription), value)| Gauge {
                service: service.to_string(),
                name: name.clone(),
                subscription: (!subscription.is_empty()).then(|| subscription.clone()),
                value: *value,
            })
            .collect(),
    }
}
