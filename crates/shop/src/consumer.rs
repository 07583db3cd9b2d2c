//! The runtime of a consumer of order events, one per consuming service: subscribes to its
//! group's queue (again after the broker is lost), processes each delivery in a CONSUMER span
//! that continues the publisher's trace, acknowledges what succeeded, retries what failed and
//! dead-letters what failed [`MAX_ATTEMPTS`] times, so one bad message never blocks the
//! queue. What a redelivery changes is the handler's business: every handler is idempotent.
//!
//! The scenarios of the event path act here: consumer-lag and poison-message on the target
//! consumer, broker-outage on every service that reaches the broker.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use opentelemetry::KeyValue;
use telemetry::MessagingClient;
use telemetry::messaging::{Incoming, MessagingFailure};
use tokio::sync::watch;

use crate::broker::{Broker, Delivery, Message, Queue};
use crate::scenario::catalogue::{CONSUMER_LAG_PER_LEVEL, POISON_SHARE_PER_LEVEL};
use crate::scenario::{Faults, Scenario};

/// Tries of one message before it goes to the dead-letter queue.
pub const MAX_ATTEMPTS: u32 = 3;
/// Deliveries one consumer holds unacknowledged at once.
const PREFETCH: u16 = 16;
/// How often the queue's depth is read for its gauge, and the broker-outage switch checked.
const TICK: Duration = Duration::from_millis(500);

/// Why a message was not processed.
#[derive(Debug, thiserror::Error)]
pub enum ConsumeError {
    /// It can never be processed (not an event of this shop): dead-lettered at once.
    #[error("invalid event: {0}")]
    Invalid(String),
    /// This try failed; another may not.
    #[error("{message}")]
    Failed {
        error_type: &'static str,
        message: String,
    },
    /// It was processed, and the outcome is a failure no retry changes (a mailbox that
    /// bounces): acknowledged, its span an error.
    #[error("{message}")]
    Final {
        error_type: &'static str,
        message: String,
    },
}

impl ConsumeError {
    pub fn failed(error_type: &'static str, message: impl std::fmt::Display) -> Self {
        ConsumeError::Failed {
            error_type,
            message: message.to_string(),
        }
    }
}

impl MessagingFailure for ConsumeError {
    fn error_type(&self) -> &'static str {
        match self {
            ConsumeError::Invalid(_) => "invalid_event",
            ConsumeError::Failed { error_type, .. } | ConsumeError::Final { error_type, .. } => {
                error_type
            }
        }
    }
}

/// What a consumer does with one message.
pub type Handler =
    Arc<dyn Fn(Message) -> BoxFuture<'static, Result<(), ConsumeError>> + Send + Sync>;

/// What the consumer reports, for its gauges and for the tests.
#[derive(Default)]
pub struct ConsumerStats {
    /// Messages ready in its queue at the last look.
    pub depth: AtomicU64,
    /// Milliseconds between the last processed message's event and its processing.
    pub lag_ms: AtomicI64,
    pub processed: AtomicU64,
    pub dead_lettered: AtomicU64,
}

/// Whether the broker-outage scenario is on, wherever it acts: no service reaches the broker.
pub fn broker_cut(faults: &Faults) -> bool {
    faults.activation(Scenario::BrokerOutage).is_some()
}

/// A service that consumes order events: `router` served on its database `sql`, and its
/// group's consumer handing every message to `handle` with the service's `state`.
pub fn consuming_service<S, F, Fut>(
    ctx: &crate::service::ServiceContext,
    sql: &crate::store::SqlDatabase,
    router: axum::Router,
    state: Arc<S>,
    handle: F,
) -> anyhow::Result<crate::service::Service>
where
    S: Send + Sync + 'static,
    F: Fn(Arc<S>, Message) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), ConsumeError>> + Send + 'static,
{
    let consumer = Consumer::of(ctx, Arc::new(move |m| Box::pin(handle(state.clone(), m))))?;
    Ok(
        crate::service::Service::on_database(router, sql, ctx.shutdown.clone())
            .with_background(consumer.run(ctx.shutdown.clone())),
    )
}

/// One consumer of a group's queue.
pub struct Consumer {
    pub broker: Broker,
    pub queue: Queue,
    pub messaging: MessagingClient,
    pub faults: Faults,
    pub handler: Handler,
    pub stats: Arc<ConsumerStats>,
}

impl Consumer {
    /// The consumer of `ctx`'s service: its group's queue, handled by `handler`, its gauges
    /// registered.
    pub fn of(ctx: &crate::service::ServiceContext, handler: Handler) -> anyhow::Result<Self> {
        let queue = ctx
            .broker
            .topology()
            .queue_of(ctx.name.as_str())
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("{} consumes no queue", ctx.name))?;
        let consumer = Self {
            messaging: MessagingClient::new(
                ctx.telemetry.clone(),
                ctx.broker.system(),
                ctx.broker.server(),
            ),
            broker: ctx.broker.clone(),
            queue,
            faults: ctx.faults.clone(),
            handler,
            stats: Arc::default(),
        };
        consumer.register_metrics();
        Ok(consumer)
    }

    /// Registers the queue-depth and lag gauges.
    pub fn register_metrics(&self) {
        if !self.messaging.telemetry().metrics_read() {
            return;
        }
        let meter = self.messaging.telemetry().meter();
        let attrs = vec![
            KeyValue::new("messaging.system", self.broker.system()),
            KeyValue::new(
                "messaging.destination.subscription.name",
                self.queue.name.clone(),
            ),
            KeyValue::new("messaging.consumer.group.name", self.queue.group),
        ];
        let (stats, a) = (self.stats.clone(), attrs.clone());
        meter
            .u64_observable_gauge("tracemart.messaging.queue.depth")
            .with_unit("{message}")
            .with_description("Messages ready in the consumer group's queue.")
            .with_callback(move |o| o.observe(stats.depth.load(Ordering::Relaxed), &a))
            .build();
        let stats = self.stats.clone();
        meter
            .f64_observable_gauge("tracemart.messaging.consumer.lag")
            .with_unit("s")
            .with_description(
                "Time from an order event to its processing, for the last message processed.",
            )
            .with_callback(move |o| {
                o.observe(stats.lag_ms.load(Ordering::Relaxed) as f64 / 1000.0, &attrs)
            })
            .build();
    }

    /// Consumes until shutdown.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut attempts: HashMap<String, u32> = HashMap::new();
        let mut warned = false;
        loop {
            if *shutdown.borrow() {
                return;
            }
            self.broker.set_cut(broker_cut(&self.faults)).await;
            let subscribed = match self.broker.declare().await {
                Ok(()) => self.broker.subscribe(&self.queue, PREFETCH).await,
                Err(e) => Err(e),
            };
            let mut subscription = match subscribed {
                Ok(s) => {
                    if warned {
                        tracing::info!(event.name = "messaging.consumer.resumed", messaging.destination.subscription.name = %self.queue.name, "consuming again");
                        warned = false;
                    }
                    s
                }
                Err(e) => {
                    if !warned {
                        tracing::warn!(event.name = "messaging.consumer.waiting", messaging.destination.subscription.name = %self.queue.name, error = %e, "cannot consume; retrying every 2 s");
                        warned = true;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                        _ = shutdown.wait_for(|s| *s) => return,
                    }
                }
            };
            let mut tick = tokio::time::interval(TICK);
            loop {
                tokio::select! {
                    // The guard `wait_for` answers must not live across the arms' awaits.
                    () = async { let _ = shutdown.wait_for(|s| *s).await; } => return,
                    _ = tick.tick() => {
                        if broker_cut(&self.faults) {
                            break;
                        }
                        if let Ok(d) = self.broker.depth(&self.queue.name).await {
                            self.stats.depth.store(d, Ordering::Relaxed);
                        }
                    }
                    delivery = subscription.next() => match delivery {
                        Some(d) => self.handle(d, &mut attempts).await,
                        None => break,
                    },
                }
            }
        }
    }

    async fn handle(&self, delivery: Delivery, attempts: &mut HashMap<String, u32>) {
        let message = delivery.message.clone();
        let incoming = Incoming {
            destination: &self.broker.topology().exchange,
            subscription: &self.queue.name,
            consumer_group: self.queue.group,
            routing_key: &message.routing_key,
            message_id: &message.id,
            body_size: message.body.len(),
            delivery_tag: delivery.tag,
            redelivered: delivery.redelivered,
        };
        let work = async {
            if let Some(f) = self.faults.active(Scenario::ConsumerLag) {
                f.mark();
                tokio::time::sleep(CONSUMER_LAG_PER_LEVEL * u32::from(f.level)).await;
            }
            if let Some(f) = self.faults.active(Scenario::PoisonMessage)
                && poisoned(&message.id, f.level)
            {
                f.mark();
                return Err(ConsumeError::failed(
                    "poison_message",
                    "the event cannot be processed (poison-message scenario)",
                ));
            }
            (self.handler)(message.clone()).await
        };
        let result = self
            .messaging
            .process(&message.headers, incoming, work)
            .await;
        match result {
            Ok(()) | Err(ConsumeError::Final { .. }) => {
                attempts.remove(&message.id);
                let lag = crate::scenario::state::now_ms() - message.timestamp_ms;
                self.stats.lag_ms.store(lag.max(0), Ordering::Relaxed);
                self.stats.processed.fetch_add(1, Ordering::Relaxed);
                if let Err(e) = delivery.ack().await {
                    tracing::warn!(event.name = "messaging.ack_lost", messaging.message.id = %message.id, exception.type = std::any::type_name_of_val(&e), exception.message = %e, "acknowledgement lost; the message will be redelivered and found done");
                }
            }
            Err(e) => {
                let tries = attempts.entry(message.id.clone()).or_insert(0);
                *tries += 1;
                let last = matches!(e, ConsumeError::Invalid(_)) || *tries >= MAX_ATTEMPTS;
                if last {
                    attempts.remove(&message.id);
                    self.stats.dead_lettered.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(
                        event.name = "messaging.message.dead_lettered",
                        messaging.message.id = %message.id,
                        messaging.destination.subscription.name = %self.queue.name,
                        error.type = e.error_type(),
                        exception.type = std::any::type_name_of_val(&e), exception.message = %e,
                        "message dead-lettered"
                    );
                } else {
                    tracing::warn!(
                        event.name = "messaging.message.retried",
                        messaging.message.id = %message.id,
                        error.type = e.error_type(),
                        exception.type = std::any::type_name_of_val(&e), exception.message = %e,
                        attempt = i64::from(*tries),
                        "message processing failed; retried"
                    );
                    tokio::time::sleep(Duration::from_millis(100) * *tries).await;
                }
                if let Err(e) = delivery.reject(!last).await {
                    tracing::warn!(event.name = "messaging.reject_lost", messaging.message.id = %message.id, exception.type = std::any::type_name_of_val(&e), exception.message = %e, "rejection lost; the message will be redelivered");
                }
            }
        }
    }
}

/// Whether the poison-message scenario at `level` spoils this message: decided by its id, so
/// every try of it fails alike.
pub fn poisoned(message_id: &str, level: u8) -> bool {
    let h = message_id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    ((h % 1000) as f64) < POISON_SHARE_PER_LEVEL * f64::from(level) * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poisoned_share_follows_the_level() {
        let ids: Vec<String> = (0..10_000).map(|i| format!("evt_{i:08}")).collect();
        for level in 1..=5u8 {
            let share = ids.iter().filter(|id| poisoned(id, level)).count() as f64 / 1e4;
            let want = POISON_SHARE_PER_LEVEL * f64::from(level);
            assert!(
                (share - want).abs() < 0.02,
                "level {level}: {share} vs {want}"
            );
        }
        assert_eq!(poisoned("evt_x", 3), poisoned("evt_x", 3));
    }
}
