//! The in-process broker: what RabbitMQ does for the order events, for a shop run with
//! nothing installed. Queues are durable for the life of the process (every service of the
//! process shares them); a delivery not acknowledged when its subscription ends goes back to
//! the front of its queue, marked redelivered; a rejected one goes back or to the queue's
//! dead-letter queue.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use super::{BrokerError, Delivery, Message, Topology, topic_matches};

#[derive(Clone, Default)]
pub struct EmbeddedBroker {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Default)]
struct State {
    queues: BTreeMap<String, Queue>,
    next_tag: u64,
    next_subscription: u64,
    cut: bool,
}

#[derive(Default)]
struct Queue {
    bindings: &'static [&'static str],
    dead_letter: Option<String>,
    ready: VecDeque<(Message, bool)>,
    /// Delivery tag → (message, subscription holding it).
    unacked: BTreeMap<u64, (Message, u64)>,
}

impl Inner {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl EmbeddedBroker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates the queues of `topology` and their dead-letter queues, once.
    pub fn declare(&self, topology: &Topology) {
        let mut state = self.inner.state();
        for q in &topology.queues {
            state.queues.entry(q.name.clone()).or_insert_with(|| Queue {
                bindings: q.bindings,
                dead_letter: Some(q.dead_letter.clone()),
                ..Queue::default()
            });
            state.queues.entry(q.dead_letter.clone()).or_default();
        }
    }

    pub(super) fn set_cut(&self, cut: bool) {
        let mut state = self.inner.state();
        state.cut = cut;
        if cut {
            // Every connection drops: what consumers held goes back.
            for queue in state.queues.values_mut() {
                let held: Vec<u64> = queue.unacked.keys().copied().collect();
                for tag in held.into_iter().rev() {
                    if let Some((m, _)) = queue.unacked.remove(&tag) {
                        queue.ready.push_front((m, true));
                    }
                }
            }
        }
        drop(state);
        self.inner.changed.notify_waiters();
    }

    /// Routes `message` to every bound queue (none bound: dropped, as RabbitMQ does).
    pub fn publish(&self, message: &Message) -> Result<(), BrokerError> {
        let mut state = self.inner.state();
        for queue in state.queues.values_mut() {
            if queue
                .bindings
                .iter()
                .any(|b| topic_matches(b, &message.routing_key))
            {
                queue.ready.push_back((message.clone(), false));
            }
        }
        drop(state);
        self.inner.changed.notify_waiters();
        Ok(())
    }

    pub fn subscribe(&self, queue: &str, prefetch: u16) -> Result<Subscription, BrokerError> {
        let mut state = self.inner.state();
        if !state.queues.contains_key(queue) {
            return Err(BrokerError::UnknownQueue(queue.to_owned()));
        }
        state.next_subscription += 1;
        Ok(Subscription {
            broker: self.clone(),
            queue: queue.to_owned(),
            id: state.next_subscription,
            prefetch: usize::from(prefetch.max(1)),
        })
    }

    pub fn depth(&self, queue: &str) -> Result<u64, BrokerError> {
        self.inner
            .state()
            .queues
            .get(queue)
            .map(|q| q.ready.len() as u64)
            .ok_or_else(|| BrokerError::UnknownQueue(queue.to_owned()))
    }

    /// The messages waiting in a queue (the tests read dead-letter queues this way).
    pub fn messages(&self, queue: &str) -> Vec<Message> {
        self.inner
            .state()
            .queues
            .get(queue)
            .map(|q| q.ready.iter().map(|(m, _)| m.clone()).collect())
            .unwrap_or_default()
    }

    fn settle(&self, queue: &str, tag: u64, requeue: Option<bool>) {
        let mut state = self.inner.state();
        let Some(q) = state.queues.get_mut(queue) else {
            return;
        };
        let Some((message, _)) = q.unacked.remove(&tag) else {
            return;
        };
        match requeue {
            None => {}
            Some(true) => q.ready.push_front((message, true)),
            Some(false) => {
                if let Some(dl) = q.dead_letter.clone()
                    && let Some(dead) = state.queues.get_mut(&dl)
                {
                    dead.ready.push_back((message, false));
                }
            }
        }
        drop(state);
        self.inner.changed.notify_waiters();
    }
}

/// Settles one delivery.
pub(super) struct Acker {
    broker: EmbeddedBroker,
    queue: String,
    tag: u64,
}

impl Acker {
    pub(super) fn ack(self) {
        self.broker.settle(&self.queue, self.tag, None);
    }

    pub(super) fn reject(self, requeue: bool) {
        self.broker.settle(&self.queue, self.tag, Some(requeue));
    }
}

pub struct Subscription {
    broker: EmbeddedBroker,
    queue: String,
    id: u64,
    prefetch: usize,
}

impl Subscription {
    fn take(&self) -> Option<Delivery> {
        let mut state = self.broker.inner.state();
        if state.cut {
            return None;
        }
        state.next_tag += 1;
        let tag = state.next_tag;
        let q = state.queues.get_mut(&self.queue)?;
        let held = q.unacked.values().filter(|(_, s)| *s == self.id).count();
        if held >= self.prefetch {
            return None;
        }
        let (message, redelivered) = q.ready.pop_front()?;
        q.unacked.insert(tag, (message.clone(), self.id));
        Some(Delivery {
            message,
            redelivered,
            tag,
            acker: super::Acker::Embedded(Acker {
                broker: self.broker.clone(),
                queue: self.queue.clone(),
                tag,
            }),
        })
    }

    /// Waits for the next message.
    pub async fn next(&mut self) -> Delivery {
        loop {
            let changed = self.broker.inner.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if let Some(d) = self.take() {
                return d;
            }
            changed.await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut state = self.broker.inner.state();
        if let Some(q) = state.queues.get_mut(&self.queue) {
            let held: Vec<u64> = q
                .unacked
                .iter()
                .filter(|(_, (_, s))| *s == self.id)
                .map(|(t, _)| *t)
                .collect();
            for tag in held.into_iter().rev() {
                if let Some((m, _)) = q.unacked.remove(&tag) {
                    q.ready.push_front((m, true));
                }
            }
        }
        drop(state);
        self.broker.inner.changed.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str, key: &str) -> Message {
        Message {
            id: id.to_owned(),
            routing_key: key.to_owned(),
            headers: Vec::new(),
            body: b"{}".to_vec(),
            timestamp_ms: 0,
        }
    }

    #[tokio::test]
    async fn queues_get_what_they_are_bound_to_and_redeliver_what_was_not_acknowledged() {
        let broker = EmbeddedBroker::new();
        broker.declare(&Topology::new("t"));
        broker.publish(&message("a", "order.placed")).ok();
        broker.publish(&message("b", "order.cancelled")).ok();
        assert_eq!(broker.depth("t.orders.accounting").ok(), Some(2));
        assert_eq!(broker.depth("t.orders.fraud-detection").ok(), Some(1));

        let mut sub = broker.subscribe("t.orders.accounting", 10).expect("queue");
        let first = sub.next().await;
        assert_eq!(first.message.id, "a");
        assert!(!first.redelivered);
        drop(first); // neither acknowledged nor rejected: held until the subscription ends
        drop(sub);
        let mut sub = broker.subscribe("t.orders.accounting", 1).expect("queue");
        let again = sub.next().await;
        assert_eq!(again.message.id, "a");
        assert!(
            again.redelivered,
            "what a lost consumer held comes back, redelivered"
        );
        again.ack().await.ok();
        let b = sub.next().await;
        assert_eq!(b.message.id, "b");
        b.reject(false).await.ok();
        assert_eq!(broker.depth("t.orders.accounting").ok(), Some(0));
        assert_eq!(
            broker
                .messages("t.orders.accounting.dead-letter")
                .iter()
                .map(|m| m.id.as_str())
                .collect::<Vec<_>>(),
            ["b"]
        );
    }

    #[tokio::test]
    async fn prefetch_bounds_what_one_consumer_holds() {
        let broker = EmbeddedBroker::new();
        broker.declare(&Topology::new("t"));
        for id in ["1", "2", "3"] {
            broker.publish(&message(id, "order.placed")).ok();
        }
        let mut sub = broker.subscribe("t.orders.notification", 2).expect("queue");
        let one = sub.next().await;
        let _two = sub.next().await;
        let third = tokio::time::timeout(std::time::Duration::from_millis(50), sub.next()).await;
        assert!(
            third.is_err(),
            "a third delivery waits for an acknowledgement"
        );
        one.ack().await.ok();
        let three = tokio::time::timeout(std::time::Duration::from_secs(1), sub.next())
            .await
            .expect("delivered once one is acknowledged");
        assert_eq!(three.message.id, "3");
        assert!(broker.subscribe("no-such-queue", 1).is_err());
    }
}
