//! RabbitMQ through lapin: one connection per service, opened on first use and again after it
//! is lost; a confirm-mode channel for publishing, a channel per consumer.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties, ExchangeKind};
use tokio::sync::Mutex;

use super::{BrokerError, Delivery, Message, Queue, Topology};

/// How long connecting, or one broker operation, may take before the broker counts as
/// unreachable.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// The message's time in milliseconds (the AMQP `timestamp` property has whole seconds).
const TIMESTAMP_HEADER: &str = "x-timestamp-ms";

#[derive(Clone)]
pub struct AmqpBroker {
    url: String,
    address: String,
    port: u16,
    topology: Arc<Topology>,
    link: Arc<Mutex<Option<Link>>>,
}

struct Link {
    connection: Connection,
    publisher: Channel,
    /// The channel queue depths are read on, opened on first use: a passive declare of a
    /// missing queue closes its channel, so it is not the publisher's.
    inspector: Option<Channel>,
}

fn unavailable(e: impl std::fmt::Display) -> BrokerError {
    BrokerError::Unavailable(e.to_string())
}

async fn bounded<T>(
    what: &str,
    fut: impl std::future::Future<Output = lapin::Result<T>>,
) -> Result<T, BrokerError> {
    match tokio::time::timeout(OPERATION_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(unavailable(format!("{what}: {e}"))),
        Err(_) => Err(unavailable(format!(
            "{what}: no answer within {} s",
            OPERATION_TIMEOUT.as_secs()
        ))),
    }
}

impl AmqpBroker {
    pub fn new(url: &str, topology: Arc<Topology>) -> Result<Self, String> {
        let parsed: lapin::uri::AMQPUri = url
            .parse()
            .map_err(|e| format!("AMQP URL is not amqp://… or amqps://…: {e}"))?;
        Ok(Self {
            url: url.to_owned(),
            address: parsed.authority.host.clone(),
            port: parsed.authority.port,
            topology,
            link: Arc::default(),
        })
    }

    pub fn server(&self) -> (String, u16) {
        (self.address.clone(), self.port)
    }

    pub fn describe(&self) -> String {
        crate::config::redact_url(&self.url)
    }

    /// The open link, connecting first when there is none (or it was lost).
    async fn link(&self) -> Result<tokio::sync::MappedMutexGuard<'_, Link>, BrokerError> {
        let mut link = self.link.lock().await;
        let alive = link
            .as_ref()
            .is_some_and(|l| l.connection.status().connected() && l.publisher.status().connected());
        if !alive {
            *link = None;
            let properties = ConnectionProperties::default()
                .with_connection_name(LongString::from("tracemart".to_owned()));
            let connection = bounded("connect", Connection::connect(&self.url, properties)).await?;
            let publisher = bounded("open a channel", connection.create_channel()).await?;
            bounded(
                "enable publisher confirms",
                publisher.confirm_select(ConfirmSelectOptions::default()),
            )
            .await?;
            *link = Some(Link {
                connection,
                publisher,
                inspector: None,
            });
        }
        tokio::sync::MutexGuard::try_map(link, Option::as_mut)
            .map_err(|_| unavailable("the connection closed while it opened"))
    }

    /// The open connection's publishing channel (confirm mode).
    async fn publisher(&self) -> Result<Channel, BrokerError> {
        Ok(self.link().await?.publisher.clone())
    }

    /// A new channel on the open connection, for one consumer or one query.
    async fn channel(&self) -> Result<Channel, BrokerError> {
        let link = self.link().await?;
        bounded("open a channel", link.connection.create_channel()).await
    }

    /// Forgets the connection after a failure, so the next use opens a new one.
    async fn lost(&self) {
        *self.link.lock().await = None;
    }

    pub async fn disconnect(&self) {
        if let Some(l) = self.link.lock().await.take() {
            let _ = tokio::time::timeout(
                OPERATION_TIMEOUT,
                l.connection
                    .close(320, ShortString::from("broker-outage scenario")),
            )
            .await;
        }
    }

    async fn on_failure<T>(&self, r: Result<T, BrokerError>) -> Result<T, BrokerError> {
        if r.is_err() {
            self.lost().await;
        }
        r
    }

    pub async fn declare(&self) -> Result<(), BrokerError> {
        let r = self.declare_once().await;
        self.on_failure(r).await
    }

    async fn declare_once(&self) -> Result<(), BrokerError> {
        let ch = self.publisher().await?;
        let t = &self.topology;
        let durable = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        bounded(
            "declare the exchange",
            ch.exchange_declare(
                t.exchange.as_str().into(),
                ExchangeKind::Topic,
                durable,
                FieldTable::default(),
            ),
        )
        .await?;
        bounded(
            "declare the dead-letter exchange",
            ch.exchange_declare(
                t.dead_letter_exchange.as_str().into(),
                ExchangeKind::Direct,
                durable,
                FieldTable::default(),
            ),
        )
        .await?;
        let durable_queue = QueueDeclareOptions {
            durable: true,
            ..QueueDeclareOptions::default()
        };
        for q in &t.queues {
            let mut args = FieldTable::default();
            args.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(LongString::from(t.dead_letter_exchange.clone())),
            );
            args.insert(
                "x-dead-letter-routing-key".into(),
                AMQPValue::LongString(LongString::from(q.name.clone())),
            );
            bounded(
                "declare a queue",
                ch.queue_declare(q.name.as_str().into(), durable_queue, args),
            )
            .await?;
            for key in q.bindings {
                bounded(
                    "bind a queue",
                    ch.queue_bind(
                        q.name.as_str().into(),
                        t.exchange.as_str().into(),
                        (*key).into(),
                        QueueBindOptions::default(),
                        FieldTable::default(),
                    ),
                )
                .await?;
            }
            bounded(
                "declare a dead-letter queue",
                ch.queue_declare(
                    q.dead_letter.as_str().into(),
                    durable_queue,
                    FieldTable::default(),
                ),
            )
            .await?;
            bounded(
                "bind a dead-letter queue",
                ch.queue_bind(
                    q.dead_letter.as_str().into(),
                    t.dead_letter_exchange.as_str().into(),
                    q.name.as_str().into(),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                ),
            )
            .await?;
        }
        Ok(())
    }

    pub async fn publish(&self, message: &Message) -> Result<(), BrokerError> {
        let r = self.publish_once(message).await;
        self.on_failure(r).await
    }

    async fn publish_once(&self, message: &Message) -> Result<(), BrokerError> {
        let ch = self.publisher().await?;
        let mut headers = FieldTable::default();
        headers.insert(
            TIMESTAMP_HEADER.into(),
            AMQPValue::LongString(LongString::from(message.timestamp_ms.to_string())),
        );
        for (k, v) in &message.headers {
            headers.insert(
                k.as_str().into(),
                AMQPValue::LongString(LongString::from(v.clone())),
            );
        }
        let properties = BasicProperties::default()
            .with_message_id(message.id.as_str().into())
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_timestamp(u64::try_from(message.timestamp_ms / 1000).unwrap_or(0))
            .with_headers(headers);
        let confirm = bounded(
            "publish",
            ch.basic_publish(
                self.topology.exchange.as_str().into(),
                message.routing_key.as_str().into(),
                BasicPublishOptions::default(),
                &message.body,
                properties,
            ),
        )
        .await?;
        let confirmation = bounded("await the publisher confirm", confirm).await?;
        if confirmation.is_nack() {
            return Err(BrokerError::NotConfirmed(
                "the broker answered nack".to_owned(),
            ));
        }
        Ok(())
    }

    pub async fn subscribe(
        &self,
        queue: &Queue,
        prefetch: u16,
    ) -> Result<Subscription, BrokerError> {
        let r = self.subscribe_once(queue, prefetch).await;
        self.on_failure(r).await
    }

    async fn subscribe_once(
        &self,
        queue: &Queue,
        prefetch: u16,
    ) -> Result<Subscription, BrokerError> {
        let ch = self.channel().await?;
        bounded(
            "set the prefetch",
            ch.basic_qos(prefetch, BasicQosOptions::default()),
        )
        .await?;
        let tag = format!("{}-{}", queue.group, uuid::Uuid::new_v4().simple());
        let consumer = bounded(
            "consume",
            ch.basic_consume(
                queue.name.as_str().into(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            ),
        )
        .await?;
        Ok(Subscription {
            _channel: ch,
            consumer,
        })
    }

    pub async fn remove(&self) -> Result<(), BrokerError> {
        let ch = self.channel().await?;
        let t = &self.topology;
        for q in &t.queues {
            for name in [&q.name, &q.dead_letter] {
                bounded(
                    "delete a queue",
                    ch.queue_delete(name.as_str().into(), QueueDeleteOptions::default()),
                )
                .await?;
            }
        }
        for name in [&t.exchange, &t.dead_letter_exchange] {
            bounded(
                "delete an exchange",
                ch.exchange_delete(name.as_str().into(), ExchangeDeleteOptions::default()),
            )
            .await?;
        }
        let _ = ch.close(200, ShortString::from("done")).await;
        Ok(())
    }

    /// Messages ready in `queue`, read on the link's inspector channel (opened again after a
    /// failure; a lost connection is found by the next use of the link).
    pub async fn depth(&self, queue: &str) -> Result<u64, BrokerError> {
        let mut link = self.link().await?;
        let inspector = match &link.inspector {
            Some(ch) if ch.status().connected() => ch.clone(),
            _ => {
                let ch = bounded("open a channel", link.connection.create_channel()).await?;
                link.inspector = Some(ch.clone());
                ch
            }
        };
        drop(link);
        let q = bounded(
            "inspect a queue",
            inspector.queue_declare(
                queue.into(),
                QueueDeclareOptions {
                    passive: true,
                    ..QueueDeclareOptions::default()
                },
                FieldTable::default(),
            ),
        )
        .await?;
        Ok(u64::from(q.message_count()))
    }
}

pub struct Subscription {
    _channel: Channel,
    consumer: lapin::Consumer,
}

impl Subscription {
    pub async fn next(&mut self) -> Option<Delivery> {
        let d = self.consumer.next().await?.ok()?;
        let p = &d.properties;
        let mut headers: Vec<(String, String)> = p
            .headers()
            .as_ref()
            .map(|t| {
                t.inner()
                    .iter()
                    .filter_map(|(k, v)| match v {
                        AMQPValue::LongString(s) => Some((
                            k.as_str().to_owned(),
                            String::from_utf8_lossy(s.as_bytes()).into_owned(),
                        )),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let exact_ms = headers
            .iter()
            .position(|(k, _)| k == TIMESTAMP_HEADER)
            .map(|at| headers.remove(at).1)
            .and_then(|v| v.parse::<i64>().ok());
        let message = Message {
            id: p
                .message_id()
                .as_ref()
                .map(|m| m.as_str().to_owned())
                .unwrap_or_default(),
            routing_key: d.routing_key.as_str().to_owned(),
            headers,
            timestamp_ms: exact_ms.unwrap_or_else(|| {
                p.timestamp()
                    .map(|t| i64::try_from(t).unwrap_or(0).saturating_mul(1000))
                    .unwrap_or(0)
            }),
            body: d.data,
        };
        Some(Delivery {
            message,
            redelivered: d.redelivered,
            tag: d.delivery_tag,
            acker: super::Acker::Amqp(d.acker),
        })
    }
}

pub(super) async fn ack(acker: lapin::Acker) -> Result<(), BrokerError> {
    bounded("acknowledge", acker.ack(BasicAckOptions::default()))
        .await
        .map(|_| ())
}

pub(super) async fn reject(acker: lapin::Acker, requeue: bool) -> Result<(), BrokerError> {
    bounded(
        "reject",
        acker.nack(BasicNackOptions {
            requeue,
            ..BasicNackOptions::default()
        }),
    )
    .await
    .map(|_| ())
}
