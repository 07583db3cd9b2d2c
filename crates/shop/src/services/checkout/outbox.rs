//! The outbox relay: publishes the events the orders' transactions wrote, oldest first, each
//! in a PRODUCER span of the trace its order was placed in, and marks it published once the
//! broker has confirmed it. While the broker is away the events wait, in order; a crash
//! between the broker's confirm and the mark publishes the event again, which the consumers'
//! idempotence absorbs.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use opentelemetry::KeyValue;
use telemetry::MessagingClient;
use telemetry::messaging::{MessagingFailure, Outgoing};
use tokio::sync::{Notify, watch};

use super::store::{OrderStore, PendingEvent, TraceContext};
use crate::broker::{Broker, BrokerError, Message};
use crate::consumer::broker_cut;
use crate::scenario::Faults;
use crate::store::StoreError;

/// Events published per pass.
const BATCH: i64 = 100;
/// How often an idle relay looks for events it was not told about.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// The longest wait between tries while the broker is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
enum RelayError {
    #[error(transparent)]
    Broker(#[from] BrokerError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MessagingFailure for RelayError {
    fn error_type(&self) -> &'static str {
        match self {
            RelayError::Broker(e) => e.error_type(),
            RelayError::Store(_) => "outbox_unavailable",
        }
    }
}

#[derive(Clone)]
pub(crate) struct Relay {
    pub orders: OrderStore,
    pub broker: Broker,
    pub messaging: MessagingClient,
    pub faults: Faults,
    /// Rung by the handler after each commit, so an event leaves at once.
    pub wake: Arc<Notify>,
    /// Events waiting in the outbox at the last look.
    pub backlog: Arc<AtomicI64>,
}

impl Relay {
    /// Registers `tracemart.outbox.pending`.
    pub fn register_metrics(&self) {
        if !self.messaging.telemetry().metrics_read() {
            return;
        }
        let backlog = self.backlog.clone();
        let attrs = [KeyValue::new(
            "messaging.destination.name",
            self.broker.topology().exchange.clone(),
        )];
        self.messaging
            .telemetry()
            .meter()
            .i64_observable_gauge("tracemart.outbox.pending")
            .with_unit("{event}")
            .with_description("Order events written but not yet published to the broker.")
            .with_callback(move |o| o.observe(backlog.load(Ordering::Relaxed), &attrs))
            .build();
    }

    /// Relays until shutdown.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut declared = false;
        let mut backoff = Duration::ZERO;
        let mut warned = false;
        loop {
            self.broker.set_cut(broker_cut(&self.faults)).await;
            let result = async {
                if !declared {
                    self.broker.declare().await?;
                    declared = true;
                }
                self.pass().await
            }
            .await;
            match result {
                Ok(_) => {
                    if warned {
                        tracing::info!(
                            event.name = "outbox.resumed",
                            "the broker is back; the outbox is draining"
                        );
                        warned = false;
                    }
                    backoff = Duration::ZERO;
                }
                Err(e) => {
                    if matches!(e, RelayError::Broker(_)) {
                        declared = false;
                    }
                    if !warned {
                        tracing::warn!(event.name = "outbox.stalled", error.type = e.error_type(), exception.type = std::any::type_name_of_val(&e), exception.message = %e, "order events wait in the outbox");
                        warned = true;
                    }
                    backoff = (backoff * 2).clamp(Duration::from_millis(250), MAX_BACKOFF);
                }
            }
            let wait = if backoff.is_zero() {
                IDLE_POLL
            } else {
                backoff
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified(), if backoff.is_zero() => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }

    /// Publishes what waits, oldest first; stops at the first failure (order is kept).
    async fn pass(&self) -> Result<usize, RelayError> {
        let mut published = 0;
        loop {
            self.backlog
                .store(self.orders.outbox_backlog().await?, Ordering::Relaxed);
            let pending = self.orders.pending_events(BATCH).await?;
            if pending.is_empty() {
                return Ok(published);
            }
            for event in pending {
                self.publish(event).await?;
                published += 1;
                self.backlog.fetch_sub(1, Ordering::Relaxed);
            }
        }
    }

    async fn publish(&self, event: PendingEvent) -> Result<(), RelayError> {
        let stored: TraceContext = serde_json::from_str(&event.trace_context).unwrap_or_default();
        let parent = telemetry::messaging::extract(self.messaging.telemetry(), &stored);
        let out = Outgoing {
            destination: &self.broker.topology().exchange,
            routing_key: &event.routing_key,
            message_id: &event.id,
            body_size: event.payload.len(),
        };
        self.messaging
            .publish(parent, out, |headers| async {
                let message = Message {
                    id: event.id.clone(),
                    routing_key: event.routing_key.clone(),
                    headers,
                    body: event.payload.clone().into_bytes(),
                    timestamp_ms: event.created_at_ms,
                };
                self.broker.publish(&message).await?;
                self.orders
                    .mark_published(&event.id, crate::scenario::state::now_ms())
                    .await?;
                Ok::<(), RelayError>(())
            })
            .await
    }
}
