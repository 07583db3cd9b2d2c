//! The message broker of the order events: RabbitMQ (AMQP 0-9-1) when the shop has an
//! `AMQP_URL`, an in-process broker with the same semantics otherwise — durable queues per
//! consumer group bound to a topic exchange, acknowledgements, redelivery of what was not
//! acknowledged, and a dead-letter queue per queue for what a consumer rejects.
//!
//! The topology is declared here, once, and idempotently by whoever starts first.

pub mod amqp;
pub mod embedded;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The consumer groups of the order events and the routing keys each one is bound with
/// (`*` is one word, as in RabbitMQ's topic exchanges).
pub const GROUPS: [(&str, &[&str]); 3] = [
    ("accounting", &["order.*"]),
    ("fraud-detection", &["order.placed"]),
    ("notification", &["order.placed"]),
];

/// One consumer group's queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub name: String,
    /// `messaging.consumer.group.name`: the service that consumes it.
    pub group: &'static str,
    pub bindings: &'static [&'static str],
    /// Its dead-letter queue.
    pub dead_letter: String,
}

/// The exchanges and queues of one shop, named after its namespace (`tracemart.orders`), so
/// shops sharing a broker keep to their own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// The topic exchange order events are published to (`messaging.destination.name`).
    pub exchange: String,
    /// Where a queue's rejected messages go: a direct exchange, routing by the queue's name.
    pub dead_letter_exchange: String,
    pub queues: Vec<Queue>,
}

impl Topology {
    pub fn new(namespace: &str) -> Self {
        let exchange = format!("{namespace}.orders");
        Self {
            dead_letter_exchange: format!("{exchange}.dead-letter"),
            queues: GROUPS
                .iter()
                .map(|(group, bindings)| Queue {
                    name: format!("{exchange}.{group}"),
                    group,
                    bindings,
                    dead_letter: format!("{exchange}.{group}.dead-letter"),
                })
                .collect(),
            exchange,
        }
    }

    /// The queue of a consumer group.
    pub fn queue_of(&self, group: &str) -> Option<&Queue> {
        self.queues.iter().find(|q| q.group == group)
    }
}

/// Whether `routing_key` matches a topic binding (`*` matches exactly one word, `#` any).
pub fn topic_matches(binding: &str, routing_key: &str) -> bool {
    fn go(b: &[&str], k: &[&str]) -> bool {
        match (b.first(), k.first()) {
            (None, None) => true,
            (Some(&"#"), _) => go(&b[1..], k) || (!k.is_empty() && go(b, &k[1..])),
            (Some(&"*"), Some(_)) => go(&b[1..], &k[1..]),
            (Some(w), Some(x)) if w == x => go(&b[1..], &k[1..]),
            _ => false,
        }
    }
    let b: Vec<&str> = binding.split('.').collect();
    let k: Vec<&str> = routing_key.split('.').collect();
    go(&b, &k)
}

/// One message, as published and as delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `messaging.message.id`: the event's id.
    pub id: String,
    /// The routing key (`order.placed`).
    pub routing_key: String,
    /// Trace context and baggage (`traceparent`, `baggage`), and any other string headers.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// When the event happened, Unix milliseconds.
    pub timestamp_ms: i64,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum BrokerError {
    #[error("the broker is unreachable: {0}")]
    Unavailable(String),
    #[error("the broker did not confirm the message: {0}")]
    NotConfirmed(String),
    #[error("no queue {0}")]
    UnknownQueue(String),
}

impl BrokerError {
    /// Low-cardinality `error.type`.
    pub fn error_type(&self) -> &'static str {
        match self {
            BrokerError::Unavailable(_) => "unavailable",
            BrokerError::NotConfirmed(_) => "not_confirmed",
            BrokerError::UnknownQueue(_) => "unknown_queue",
        }
    }
}

/// A delivered message, to acknowledge or reject.
pub struct Delivery {
    pub message: Message,
    /// The broker delivered it before and it was not acknowledged.
    pub redelivered: bool,
    /// The broker's delivery tag (`messaging.rabbitmq.message.delivery_tag`).
    pub tag: u64,
    acker: Acker,
}

enum Acker {
    Amqp(lapin::Acker),
    Embedded(embedded::Acker),
}

impl Delivery {
    /// Done with: the broker forgets it.
    pub async fn ack(self) -> Result<(), BrokerError> {
        match self.acker {
            Acker::Amqp(a) => amqp::ack(a).await,
            Acker::Embedded(a) => {
                a.ack();
                Ok(())
            }
        }
    }

    /// Not processed: back to the queue for another try (`requeue`), or to the dead-letter
    /// queue.
    pub async fn reject(self, requeue: bool) -> Result<(), BrokerError> {
        match self.acker {
            Acker::Amqp(a) => amqp::reject(a, requeue).await,
            Acker::Embedded(a) => {
                a.reject(requeue);
                Ok(())
            }
        }
    }
}

/// A consumer's stream of deliveries; dropping it returns what it holds unacknowledged.
pub enum Subscription {
    Amqp(Box<amqp::Subscription>),
    Embedded(embedded::Subscription),
}

impl Subscription {
    /// The next delivery; `None` when the connection to the broker is gone.
    pub async fn next(&mut self) -> Option<Delivery> {
        match self {
            Subscription::Amqp(s) => s.next().await,
            Subscription::Embedded(s) => Some(s.next().await),
        }
    }
}

/// One service's way to the broker.
#[derive(Clone)]
pub struct Broker {
    kind: Kind,
    topology: Arc<Topology>,
    /// The broker-outage scenario: while set, nothing reaches the broker.
    cut: Arc<AtomicBool>,
}

#[derive(Clone)]
enum Kind {
    Rabbitmq(amqp::AmqpBroker),
    Embedded(embedded::EmbeddedBroker),
}

impl Broker {
    /// RabbitMQ at `url` (its connection opened on first use, and again after a loss), or the
    /// process's embedded broker.
    pub fn new(
        url: Option<&str>,
        namespace: &str,
        embedded: &embedded::EmbeddedBroker,
    ) -> Result<Self, String> {
        let topology = Arc::new(Topology::new(namespace));
        let kind = match url {
            Some(url) => Kind::Rabbitmq(amqp::AmqpBroker::new(url, topology.clone())?),
            None => Kind::Embedded(embedded.clone()),
        };
        Ok(Self {
            kind,
            topology,
            cut: Arc::default(),
        })
    }

    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// `messaging.system`.
    pub fn system(&self) -> &'static str {
        match self.kind {
            Kind::Rabbitmq(_) => "rabbitmq",
            Kind::Embedded(_) => "tracemart_embedded",
        }
    }

    /// `server.address` and `server.port` of the broker, for RabbitMQ.
    pub fn server(&self) -> Option<(String, u16)> {
        match &self.kind {
            Kind::Rabbitmq(b) => Some(b.server()),
            Kind::Embedded(_) => None,
        }
    }

    /// For start-up messages: the URL without its password.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Rabbitmq(b) => format!("RabbitMQ {}", b.describe()),
            Kind::Embedded(_) => "the embedded broker".to_owned(),
        }
    }

    /// The broker-outage scenario's switch: while cut, every operation fails as with an
    /// unreachable broker, and an open connection is closed (its consumers' unacknowledged
    /// messages go back to their queues).
    pub async fn set_cut(&self, cut: bool) {
        let was = self.cut.swap(cut, Ordering::SeqCst);
        if cut && !was {
            match &self.kind {
                Kind::Rabbitmq(b) => b.disconnect().await,
                Kind::Embedded(b) => b.set_cut(true),
            }
        } else if !cut
            && was
            && let Kind::Embedded(b) = &self.kind
        {
            b.set_cut(false);
        }
    }

    fn check_cut(&self) -> Result<(), BrokerError> {
        if self.cut.load(Ordering::SeqCst) {
            Err(BrokerError::Unavailable(
                "connection refused (broker-outage scenario)".to_owned(),
            ))
        } else {
            Ok(())
        }
    }

    /// Declares the exchanges, the queues and their bindings (idempotent).
    pub async fn declare(&self) -> Result<(), BrokerError> {
        self.check_cut()?;
        match &self.kind {
            Kind::Rabbitmq(b) => b.declare().await,
            Kind::Embedded(b) => {
                b.declare(&self.topology);
                Ok(())
            }
        }
    }

    /// Publishes to the topology's exchange; `Ok` once the broker has it (publisher confirm).
    pub async fn publish(&self, message: &Message) -> Result<(), BrokerError> {
        self.check_cut()?;
        match &self.kind {
            Kind::Rabbitmq(b) => b.publish(message).await,
            Kind::Embedded(b) => b.publish(message),
        }
    }

    /// Consumes `queue`, at most `prefetch` messages unacknowledged at once.
    pub async fn subscribe(
        &self,
        queue: &Queue,
        prefetch: u16,
    ) -> Result<Subscription, BrokerError> {
        self.check_cut()?;
        match &self.kind {
            Kind::Rabbitmq(b) => Ok(Subscription::Amqp(Box::new(
                b.subscribe(queue, prefetch).await?,
            ))),
            Kind::Embedded(b) => Ok(Subscription::Embedded(b.subscribe(&queue.name, prefetch)?)),
        }
    }

    /// Deletes this shop's exchanges and queues, messages and all: for a throw-away namespace
    /// (the tests' own) on a shared broker. The embedded broker goes with its process.
    pub async fn remove(&self) -> Result<(), BrokerError> {
        match &self.kind {
            Kind::Rabbitmq(b) => b.remove().await,
            Kind::Embedded(_) => Ok(()),
        }
    }

    /// Messages ready in a queue.
    pub async fn depth(&self, queue: &str) -> Result<u64, BrokerError> {
        self.check_cut()?;
        match &self.kind {
            Kind::Rabbitmq(b) => b.depth(queue).await,
            Kind::Embedded(b) => b.depth(queue),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_bindings_match_like_rabbitmq() {
        assert!(topic_matches("order.*", "order.placed"));
        assert!(topic_matches("order.placed", "order.placed"));
        assert!(!topic_matches("order.placed", "order.cancelled"));
        assert!(!topic_matches("order.*", "order.placed.eu"));
        assert!(topic_matches("order.#", "order.placed.eu"));
        assert!(topic_matches("#", "anything.at.all"));
        assert!(!topic_matches("order.*", "payment.refunded"));
    }

    #[test]
    fn every_queue_has_its_own_dead_letter_queue_in_its_namespace() {
        let t = Topology::new("tracemart");
        assert_eq!(t.exchange, "tracemart.orders");
        for (i, q) in t.queues.iter().enumerate() {
            assert_eq!(t.queue_of(q.group), Some(q));
            assert!(q.name.starts_with("tracemart.orders."));
            assert!(q.dead_letter.starts_with(&q.name));
            assert!(t.queues[..i].iter().all(|o| o.name != q.name));
        }
        assert_ne!(Topology::new("other").exchange, t.exchange);
    }
}
