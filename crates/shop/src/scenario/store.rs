//! Where the scenario state lives so that every service sees it: in the process for
//! `tracemart up` without Redis, in Redis when one is configured (every replica of every
//! service polls it every 500 ms and keeps its last known state while Redis is away, and puts
//! it back, with its history, when Redis comes back empty).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::AsyncCommands as _;
use redis::aio::MultiplexedConnection;
use tokio::sync::watch;

use super::state::{Change, Command, State, now_ms, transition, with_schedule};

/// Redis keys of the shared state and its history, after the shop's namespace.
pub const STATE_KEY: &str = "scenarios:state";
pub const HISTORY_KEY: &str = "scenarios:history";
/// How often replicas re-read the shared state.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The most history records kept.
const HISTORY_CAP: isize = 10_000;

/// How often a change is retried when other replicas change the state first. Every failed
/// attempt means another change landed, so N writers at once need at most N attempts.
const CAS_ATTEMPTS: usize = 16;

/// KEYS: state, history. ARGV: the version the change was computed from, the history cap,
/// the new state, then the history records. Writes only if the stored version is unchanged.
const COMPARE_AND_SET: &str = r#"
local stored = redis.call('GET', KEYS[1])
local version = 0
if stored then
  version = tonumber(cjson.decode(stored)['version']) or 0
end
if version ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[3])
for i = 4, #ARGV do
  redis.call('RPUSH', KEYS[2], ARGV[i])
end
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
return 1
"#;

/// KEYS: state, history. ARGV: the state, then the history records. Puts back what a Redis
/// restart (or flush) lost: the state only where it is missing, the history only where it is
/// missing. Returns 1 when the state was put back.
const REPUBLISH: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 0 then
  for i = 2, #ARGV do
    redis.call('RPUSH', KEYS[2], ARGV[i])
  end
end
return 1
"#;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the scenario store (Redis) is unavailable")]
    Unavailable(#[source] redis::RedisError),
    #[error("the scenario store holds something unreadable")]
    Corrupt(#[source] serde_json::Error),
    #[error("the scenario state kept changing under this change; try again")]
    Contended,
}

#[derive(Clone)]
pub struct ScenarioStore {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    latest: watch::Sender<Arc<State>>,
    /// Whether scenario changes and faults show in the telemetry (see
    /// `ShopConfig::ground_truth_in_telemetry`).
    ground_truth: std::sync::atomic::AtomicBool,
    /// Where change markers go, when configured.
    markers: std::sync::OnceLock<super::markers::MarkerConfig>,
}

enum Backend {
    Local(Mutex<Vec<Change>>),
    Redis(Box<RedisBackend>),
}

struct RedisBackend {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<MultiplexedConnection>>,
    state_key: String,
    history_key: String,
    /// The history as last read or written here, to put back after a Redis restart.
    known_history: Mutex<Vec<Change>>,
}

impl ScenarioStore {
    /// State shared by the services of this process only.
    pub fn local() -> Self {
        Self::with(Backend::Local(Mutex::default()))
    }

    /// State shared through Redis by every process of the shop `namespace`.
    pub fn redis(url: &str, namespace: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)
            .map_err(|e| anyhow::anyhow!("invalid Redis URL for scenarios: {e}"))?;
        Ok(Self::with(Backend::Redis(Box::new(RedisBackend {
            client,
            connection: tokio::sync::Mutex::new(None),
            state_key: format!("{namespace}:{STATE_KEY}"),
            history_key: format!("{namespace}:{HISTORY_KEY}"),
            known_history: Mutex::default(),
        }))))
    }

    fn keys(&self) -> (&str, &str) {
        match &self.inner.backend {
            Backend::Redis(r) => (&r.state_key, &r.history_key),
            Backend::Local(_) => ("", ""),
        }
    }

    fn with(backend: Backend) -> Self {
        let (latest, _) = watch::channel(Arc::new(State::default()));
        Self {
            inner: Arc::new(Inner {
                backend,
                latest,
                ground_truth: std::sync::atomic::AtomicBool::new(true),
                markers: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Keeps the ground truth out of the telemetry (or lets it in again).
    pub fn set_ground_truth_in_telemetry(&self, on: bool) {
        self.inner
            .ground_truth
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// Posts a change marker for every change made through this store from now on.
    pub fn post_markers_to(&self, config: super::markers::MarkerConfig) {
        let _ = self.inner.markers.set(config);
    }

    /// Announces changes made here: their markers, when configured.
    pub fn announce(&self, changes: &[Change]) {
        if let Some(m) = self.inner.markers.get() {
            super::markers::post(m, changes);
        }
    }

    pub fn ground_truth_in_telemetry(&self) -> bool {
        self.inner
            .ground_truth
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn is_shared(&self) -> bool {
        matches!(self.inner.backend, Backend::Redis(_))
    }

    /// The last known state, updated as it changes.
    pub fn subscribe(&self) -> watch::Receiver<Arc<State>> {
        self.inner.latest.subscribe()
    }

    pub fn current(&self) -> Arc<State> {
        self.inner.latest.borrow().clone()
    }

    async fn connection(&self) -> Result<MultiplexedConnection, StoreError> {
        let Backend::Redis(r) = &self.inner.backend else {
            unreachable!("only the Redis backend connects")
        };
        let (client, connection) = (&r.client, &r.connection);
        let mut slot = connection.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(500)))
            .set_response_timeout(Some(Duration::from_secs(1)));
        let c = client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(StoreError::Unavailable)?;
        *slot = Some(c.clone());
        Ok(c)
    }

    async fn forget_connection(&self) {
        if let Backend::Redis(r) = &self.inner.backend {
            *r.connection.lock().await = None;
        }
    }

    /// Re-reads the shared state (Redis); the last known one stays when Redis is away. A
    /// state that is gone although one was known (Redis restarted empty, or was flushed) is
    /// put back, with its history: a change always writes the state, so only a loss removes it.
    pub async fn refresh(&self) -> Result<Arc<State>, StoreError> {
        if let Backend::Redis(r) = &self.inner.backend {
            let mut c = self.connection().await?;
            let raw: Option<String> = match c.get(self.keys().0).await {
                Ok(v) => v,
                Err(e) => {
                    self.forget_connection().await;
                    return Err(StoreError::Unavailable(e));
                }
            };
            let state = match raw {
                Some(json) => serde_json::from_str(&json).map_err(StoreError::Corrupt)?,
                None if self.current().version > 0 => {
                    self.republish().await?;
                    return Ok(self.current());
                }
                None => State::default(),
            };
            let moved = self.inner.latest.send_if_modified(|s| {
                let changed = **s != state;
                if changed {
                    *s = Arc::new(state);
                }
                changed
            });
            if moved {
                // Changes are rare: the history is read again only when the state moved.
                let history = self.recorded_history(&mut c).await?;
                *r.known_history.lock().unwrap_or_else(|e| e.into_inner()) = history;
            }
        }
        Ok(self.current())
    }

    /// Puts the last known state and history back into a Redis that lost them.
    async fn republish(&self) -> Result<(), StoreError> {
        let Backend::Redis(r) = &self.inner.backend else {
            return Ok(());
        };
        let state = self.current();
        let history = r
            .known_history
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut c = self.connection().await?;
        let (state_key, history_key) = self.keys();
        let mut call = redis::cmd("EVAL");
        call.arg(REPUBLISH)
            .arg(2)
            .arg(state_key)
            .arg(history_key)
            .arg(serde_json::to_string(&*state).map_err(StoreError::Corrupt)?);
        for change in &history {
            call.arg(serde_json::to_string(change).map_err(StoreError::Corrupt)?);
        }
        match call.query_async::<i64>(&mut c).await {
            Ok(1) => {
                tracing::warn!(
                    event.name = "scenario.store_restored",
                    scenario.state.version = state.version,
                    scenario.state.active = state.active.len(),
                    scenario.history.length = history.len(),
                    "the scenario store lost its state (Redis restarted?); put back the last known one"
                );
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => {
                self.forget_connection().await;
                Err(StoreError::Unavailable(e))
            }
        }
    }

    async fn recorded_history(
        &self,
        c: &mut MultiplexedConnection,
    ) -> Result<Vec<Change>, StoreError> {
        let raw: Vec<String> = match c.lrange(self.keys().1, 0, -1).await {
            Ok(v) => v,
            Err(e) => {
                self.forget_connection().await;
                return Err(StoreError::Unavailable(e));
            }
        };
        raw.iter()
            .map(|r| serde_json::from_str(r))
            .collect::<Result<_, _>>()
            .map_err(StoreError::Corrupt)
    }

    /// Applies a command and records what changed.
    pub async fn apply(&self, command: Command) -> Result<(Arc<State>, Vec<Change>), StoreError> {
        let now = now_ms();
        match &self.inner.backend {
            Backend::Local(history) => {
                let mut changes = Vec::new();
                self.inner.latest.send_modify(|s| {
                    let (next, made) = transition(s, &command, now);
                    changes = made;
                    *s = Arc::new(next);
                });
                history
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(changes.iter().cloned());
                Ok((self.current(), changes))
            }
            Backend::Redis(_) => {
                // Compare-and-set on the state's version: a change made meanwhile by another
                // replica is read and the command applied on top of it, never overwritten.
                for _ in 0..CAS_ATTEMPTS {
                    let old = self.refresh().await?;
                    let (next, changes) = transition(&old, &command, now);
                    if changes.is_empty() {
                        return Ok((self.current(), changes));
                    }
                    if self.compare_and_set(old.version, &next, &changes).await? {
                        self.inner.latest.send_replace(Arc::new(next));
                        if let Backend::Redis(r) = &self.inner.backend {
                            r.known_history
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .extend(changes.iter().cloned());
                        }
                        return Ok((self.current(), changes));
                    }
                }
                Err(StoreError::Contended)
            }
        }
    }

    /// Writes `next` and appends `changes` to the history, in one step, if the stored state
    /// is still at `version`; false when another writer came first.
    async fn compare_and_set(
        &self,
        version: u64,
        next: &State,
        changes: &[Change],
    ) -> Result<bool, StoreError> {
        let mut c = self.connection().await?;
        let (state_key, history_key) = self.keys();
        // EVAL: scenario changes are rare, the script is short.
        let mut call = redis::cmd("EVAL");
        call.arg(COMPARE_AND_SET)
            .arg(2)
            .arg(state_key)
            .arg(history_key)
            .arg(version)
            .arg(HISTORY_CAP)
            .arg(serde_json::to_string(next).map_err(StoreError::Corrupt)?);
        for change in changes {
            call.arg(serde_json::to_string(change).map_err(StoreError::Corrupt)?);
        }
        match call.query_async::<i64>(&mut c).await {
            Ok(written) => Ok(written == 1),
            Err(e) => {
                self.forget_connection().await;
                Err(StoreError::Unavailable(e))
            }
        }
    }

    /// Every change so far, Black Friday's schedule steps included, oldest first.
    pub async fn history(&self) -> Result<Vec<Change>, StoreError> {
        let recorded = match &self.inner.backend {
            Backend::Local(history) => history.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            Backend::Redis(_) => {
                let mut c = self.connection().await?;
                self.recorded_history(&mut c).await?
            }
        };
        Ok(with_schedule(&recorded, now_ms()))
    }

    /// Follows the shared state until `shutdown`: a no-op for the local store.
    pub async fn follow(self, mut shutdown: watch::Receiver<bool>) {
        if !self.is_shared() {
            return;
        }
        let mut warned = false;
        loop {
            match self.refresh().await {
                Ok(_) => warned = false,
                Err(e) if !warned => {
                    tracing::warn!(event.name = "scenario.store_unreachable", exception.type = std::any::type_name_of_val(&e), exception.message = %e, "scenario store unreachable; keeping the last known scenarios");
                    warned = true;
                }
                Err(_) => {}
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL_INTERVAL) => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
        }
    }
}
