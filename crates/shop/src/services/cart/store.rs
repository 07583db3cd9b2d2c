//! Carts: a Redis hash per cart (`cart:{id}` → product id → quantity) with a TTL, or the same
//! in memory for the zero-setup local run. Every Redis command is a CLIENT span.

use crate::config::LatencyModel;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::AsyncCommands as _;
use redis::aio::MultiplexedConnection;
use telemetry::{DbClient, DbOperation, DbSystem, ServiceTelemetry};

use crate::api::cart::model::CartItem;
use crate::scenario::{Faults, Scenario};
use crate::store::{REDIS, StoreError};

/// Where the redis-outage scenario sends the cart's Redis client: nothing listens there.
const BLACK_HOLE: &str = "redis://127.0.0.1:1/";

/// The most distinct products one cart holds, and the most of one product.
pub use crate::types::limits::MAX_QUANTITY;

#[derive(Clone)]
pub struct CartStore {
    backend: Backend,
    faults: Faults,
}

#[derive(Clone)]
enum Backend {
    Redis(Box<RedisCarts>),
    Memory(MemoryCarts),
}

impl CartStore {
    pub fn open(
        redis_url: Option<&str>,
        ttl: Duration,
        telemetry: &ServiceTelemetry,
        faults: Faults,
        latency: LatencyModel,
    ) -> anyhow::Result<Self> {
        let backend = match redis_url {
            Some(url) => Backend::Redis(Box::new(RedisCarts::new(
                url,
                ttl,
                telemetry,
                faults.clone(),
                latency,
            )?)),
            None => Backend::Memory(MemoryCarts::new(ttl)),
        };
        Ok(Self { backend, faults })
    }

    /// The redis-outage scenario on the in-memory store: the same failure a Redis client
    /// sees when its server refuses connections.
    fn memory_outage(&self) -> Result<(), StoreError> {
        match self.faults.active(Scenario::RedisOutage) {
            Some(f) => {
                f.mark();
                Err(StoreError::unavailable(
                    "redis",
                    std::io::Error::new(
                        std::io::ErrorKind::ConnectionRefused,
                        "connection refused (redis-outage scenario)",
                    ),
                ))
            }
            None => Ok(()),
        }
    }

    pub async fn items(&self, cart_id: &str) -> Result<Vec<CartItem>, StoreError> {
        match &self.backend {
            Backend::Redis(r) => r.items(cart_id).await,
            Backend::Memory(m) => self.memory_outage().map(|()| m.items(cart_id)),
        }
    }

    /// Adds `quantity` of a product; the cart's line for it is capped at [`MAX_QUANTITY`].
    pub async fn add(
        &self,
        cart_id: &str,
        product_id: i64,
        quantity: i64,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Redis(r) => r.add(cart_id, product_id, quantity).await,
            Backend::Memory(m) => {
                self.memory_outage()?;
                m.add(cart_id, product_id, quantity);
                Ok(())
            }
        }
    }

    /// Sets a line's quantity (1 to [`MAX_QUANTITY`]; remove a line with [`Self::remove`]).
    pub async fn set(
        &self,
        cart_id: &str,
        product_id: i64,
        quantity: i64,
    ) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Redis(r) => r.set(cart_id, product_id, quantity).await,
            Backend::Memory(m) => {
                self.memory_outage()?;
                m.set(cart_id, product_id, quantity);
                Ok(())
            }
        }
    }

    pub async fn remove(&self, cart_id: &str, product_id: i64) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Redis(r) => r.remove(cart_id, product_id).await,
            Backend::Memory(m) => {
                self.memory_outage()?;
                m.remove(cart_id, product_id);
                Ok(())
            }
        }
    }

    pub async fn clear(&self, cart_id: &str) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Redis(r) => r.clear(cart_id).await,
            Backend::Memory(m) => {
                self.memory_outage()?;
                m.clear(cart_id);
                Ok(())
            }
        }
    }

    /// Readiness: Redis answers PING.
    pub async fn check(&self) -> Result<(), String> {
        match &self.backend {
            Backend::Redis(r) => r
                .ping()
                .await
                .map_err(|e| format!("redis unreachable: {e:#}")),
            Backend::Memory(_) => self
                .memory_outage()
                .map_err(|e| format!("redis unreachable: {e}")),
        }
    }
}

/// The prefix of the carts' keys, and the name their Redis database is reported by.
const KEYSPACE: &str = "cart";

fn key(cart_id: &str) -> String {
    format!("{KEYSPACE}:{cart_id}")
}

/// One multiplexed connection, made on first use and again after it breaks, with short
/// timeouts: while Redis is down, requests fail in well under a second instead of queueing.
#[derive(Clone)]
pub struct RedisCarts {
    client: redis::Client,
    faults: Faults,
    connection: Arc<tokio::sync::Mutex<Option<MultiplexedConnection>>>,
    db: DbClient,
    ttl: Duration,
    latency: LatencyModel,
}

impl RedisCarts {
    fn new(
        url: &str,
        ttl: Duration,
        telemetry: &ServiceTelemetry,
        faults: Faults,
        latency: LatencyModel,
    ) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).map_err(|e| anyhow::anyhow!("invalid Redis URL: {e}"))?;
        let info = client.get_connection_info();
        let (address, port) = match info.addr() {
            redis::ConnectionAddr::Tcp(h, p)
            | redis::ConnectionAddr::TcpTls {
                host: h, port: p, ..
            } => (Some(h.clone()), Some(*p)),
            _ => (None, None),
        };
        let index = info.redis_settings().db();
        Ok(Self {
            client,
            faults,
            connection: Arc::new(tokio::sync::Mutex::new(None)),
            // Named by its keyspace, so a database catalog lists "cart", not "0".
            db: DbClient::new(telemetry.clone(), DbSystem::Redis, KEYSPACE, address, port)
                .with_redis_database_index(index),
            ttl,
            latency,
        })
    }

    /// The shared connection, and whether it was opened just now (not reused).
    async fn connection(&self) -> Result<(MultiplexedConnection, bool), StoreError> {
        if let Some(f) = self.faults.active(Scenario::RedisOutage) {
            // The outage is real: the open connection is dropped and a new one is attempted
            // where no Redis listens, so the error is the one a client really gets.
            f.mark();
            *self.connection.lock().await = None;
            let black_hole =
                redis::Client::open(BLACK_HOLE).map_err(|e| StoreError::unavailable(REDIS, e))?;
            let config = redis::AsyncConnectionConfig::new()
                .set_connection_timeout(Some(Duration::from_millis(500)));
            return match black_hole
                .get_multiplexed_async_connection_with_config(&config)
                .await
            {
                Ok(_) => Err(StoreError::unavailable(
                    "redis",
                    anyhow::anyhow!("redis-outage scenario"),
                )),
                Err(e) => Err(StoreError::unavailable(REDIS, e)),
            };
        }
        let mut slot = self.connection.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok((c.clone(), false));
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_secs(1)));
        let c = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| StoreError::unavailable(REDIS, e))?;
        *slot = Some(c.clone());
        Ok((c, true))
    }

    /// Runs one command in a span; a broken connection is dropped so the next call reconnects.
    /// An idempotent command that fails on a reused connection (Redis restarted since, and the
    /// connection is stale) is tried once more on a new one, so the first request after a
    /// restart does not fail; one that is not idempotent (HINCRBY) is not repeated.
    async fn run<T, F, Fut>(
        &self,
        op: DbOperation<'_>,
        idempotent: bool,
        command: F,
    ) -> Result<T, StoreError>
    where
        F: Fn(MultiplexedConnection) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        self.db
            .run(op, async {
                let mut tries = 0;
                loop {
                    tries += 1;
                    let (c, fresh) = self.connection().await?;
                    let e = match command(c).await {
                        Ok(v) => {
                            // A command is one round trip, whatever it returns.
                            crate::latency::statement(self.latency, crate::latency::REDIS, 1).await;
                            return Ok(v);
                        }
                        Err(e) => e,
                    };
                    let broken = e.is_io_error()
                        || e.is_connection_dropped()
                        || e.is_timeout()
                        || e.is_unrecoverable_error();
                    if !broken {
                        return Err(StoreError::Query {
                            store: "redis",
                            code: e.code().map(str::to_owned),
                            source: e.into(),
                        });
                    }
                    *self.connection.lock().await = None;
                    let stale = !fresh && !e.is_timeout();
                    if !(idempotent && stale && tries == 1) {
                        return Err(StoreError::unavailable(REDIS, e));
                    }
                }
            })
            .await
    }

    async fn items(&self, cart_id: &str) -> Result<Vec<CartItem>, StoreError> {
        let key = key(cart_id);
        let map: HashMap<i64, i64> = self
            .run(
                DbOperation::command("HGETALL", "HGETALL cart:?"),
                true,
                |mut c| {
                    let key = key.clone();
                    async move { c.hgetall(key).await }
                },
            )
            .await?;
        Ok(map
            .into_iter()
            .filter(|(_, q)| *q > 0)
            .map(|(product_id, quantity)| CartItem {
                product_id,
                quantity,
            })
            .collect())
    }

    async fn add(&self, cart_id: &str, product_id: i64, quantity: i64) -> Result<(), StoreError> {
        let k = key(cart_id);
        let total: i64 = self
            .run(
                DbOperation::command("HINCRBY", "HINCRBY cart:? ? ?"),
                false,
                |mut c| {
                    let k = k.clone();
                    async move { c.hincr(k, product_id, quantity).await }
                },
            )
            .await?;
        if total > MAX_QUANTITY {
            self.run(
                DbOperation::command("HSET", "HSET cart:? ? ?"),
                true,
                |mut c| {
                    let k = k.clone();
                    async move { c.hset::<_, _, _, ()>(k, product_id, MAX_QUANTITY).await }
                },
            )
            .await?;
        }
        self.touch(&k).await
    }

    async fn set(&self, cart_id: &str, product_id: i64, quantity: i64) -> Result<(), StoreError> {
        let k = key(cart_id);
        self.run(
            DbOperation::command("HSET", "HSET cart:? ? ?"),
            false,
            |mut c| {
                let k = k.clone();
                async move {
                    c.hset::<_, _, _, ()>(k, product_id, quantity.min(MAX_QUANTITY))
                        .await
                }
            },
        )
        .await?;
        self.touch(&k).await
    }

    /// Gives the cart its full time to live again.
    async fn touch(&self, k: &str) -> Result<(), StoreError> {
        let ttl = self.ttl.as_secs() as i64;
        self.run(
            DbOperation::command("EXPIRE", "EXPIRE cart:? ?"),
            true,
            |mut c| {
                let k = k.to_owned();
                async move { c.expire::<_, ()>(k, ttl).await }
            },
        )
        .await
    }

    async fn remove(&self, cart_id: &str, product_id: i64) -> Result<(), StoreError> {
        let k = key(cart_id);
        self.run(
            DbOperation::command("HDEL", "HDEL cart:? ?"),
            true,
            |mut c| {
                let k = k.clone();
                async move { c.hdel::<_, _, ()>(k, product_id).await }
            },
        )
        .await
    }

    async fn clear(&self, cart_id: &str) -> Result<(), StoreError> {
        let k = key(cart_id);
        self.run(DbOperation::command("DEL", "DEL cart:?"), true, |mut c| {
            let k = k.clone();
            async move { c.del::<_, ()>(k).await }
        })
        .await
    }

    /// PING without a span: probes are not traffic.
    async fn ping(&self) -> Result<(), StoreError> {
        let (mut c, _) = self.connection().await?;
        let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut c).await;
        if let Err(e) = pong {
            *self.connection.lock().await = None;
            return Err(StoreError::unavailable(REDIS, e));
        }
        Ok(())
    }
}

/// Cart id → (expiry, product id → quantity).
type Carts = HashMap<String, (Instant, BTreeMap<i64, i64>)>;

/// Carts in process memory, with the same TTL behaviour as Redis.
#[derive(Clone)]
pub struct MemoryCarts {
    carts: Arc<Mutex<Carts>>,
    ttl: Duration,
}

impl MemoryCarts {
    fn new(ttl: Duration) -> Self {
        Self {
            carts: Arc::default(),
            ttl,
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut HashMap<String, (Instant, BTreeMap<i64, i64>)>) -> T,
    ) -> T {
        let mut carts = self.carts.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        carts.retain(|_, (expires, _)| *expires > now);
        f(&mut carts)
    }

    fn items(&self, cart_id: &str) -> Vec<CartItem> {
        self.with(|carts| {
            carts
                .get(cart_id)
                .map(|(_, lines)| {
                    lines
                        .iter()
                        .map(|(p, q)| CartItem {
                            product_id: *p,
                            quantity: *q,
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    fn add(&self, cart_id: &str, product_id: i64, quantity: i64) {
        let expires = Instant::now() + self.ttl;
        self.with(|carts| {
            let (exp, lines) = carts
                .entry(cart_id.to_owned())
                .or_insert_with(|| (expires, BTreeMap::new()));
            *exp = expires;
            let line = lines.entry(product_id).or_insert(0);
            *line = (*line + quantity).min(MAX_QUANTITY);
        });
    }

    fn set(&self, cart_id: &str, product_id: i64, quantity: i64) {
        let expires = Instant::now() + self.ttl;
        self.with(|carts| {
            let (exp, lines) = carts
                .entry(cart_id.to_owned())
                .or_insert_with(|| (expires, BTreeMap::new()));
            *exp = expires;
            lines.insert(product_id, quantity.min(MAX_QUANTITY));
        });
    }

    fn remove(&self, cart_id: &str, product_id: i64) {
        self.with(|carts| {
            if let Some((_, lines)) = carts.get_mut(cart_id) {
                lines.remove(&product_id);
            }
        });
    }

    fn clear(&self, cart_id: &str) {
        self.with(|carts| {
            carts.remove(cart_id);
        });
    }
}
