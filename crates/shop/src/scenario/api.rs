//! The control API every service serves: `GET /scenarios`, `GET /scenarios/history`,
//! `PUT /scenarios/{name}`, `DELETE /scenarios/{name}`, `DELETE /scenarios`. With a shared store
//! any replica of any service is a control point. Changes need `Authorization: Bearer <token>`
//! when a control token is configured.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State as AxumState;
use axum::routing::get;
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};

use super::catalogue::{Definition, MAX_LEVEL, Scenario};
use super::state::{Activation, Change, Command, State, now_ms};
use super::store::{ScenarioStore, StoreError};
use crate::config::ServiceName;
use crate::error::code;
use crate::error::{ApiError, ApiPath, ApiResult, OptionalJson};

/// The highest speed factor accepted.
pub const MAX_SPEED: f64 = 1000.0;

#[derive(Clone)]
struct Control {
    store: ScenarioStore,
    token: Option<Arc<str>>,
}

/// What `PUT /scenarios/{name}` takes; everything is optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SetScenario {
    /// 1–5 (Black Friday: a step 0–5 pinned instead of following the schedule).
    pub level: Option<u8>,
    /// Story minutes per real minute (Black Friday); 1 by default.
    pub speed: Option<f64>,
    pub seed: Option<u64>,
    pub mark_faults: Option<bool>,
    /// Black Friday: checkout continues without recommendations.
    pub graceful: Option<bool>,
    /// memory-leak and cpu-hotspot: the service to act on.
    pub target: Option<String>,
    /// When the story started: Unix milliseconds or RFC 3339; now by default. An active
    /// scenario keeps its start unless this is given.
    pub started_at: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActiveView {
    #[serde(flatten)]
    pub activation: Activation,
    /// The level in force now.
    pub current_level: u8,
    /// Story minutes since the start (speed applied).
    pub story_minutes: f64,
    pub started_at: String,
}

/// `GET /scenarios`. Callers decode it too (`tracemart validate`); the catalogue they get
/// from their own build, so `available` is not read back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusView {
    pub version: u64,
    /// Whether the state is shared through Redis with other processes.
    pub shared: bool,
    pub active: Vec<ActiveView>,
    #[serde(skip_deserializing)]
    pub available: Vec<Definition>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Changed {
    pub changes: Vec<Change>,
}

fn view(a: &Activation) -> ActiveView {
    let now = now_ms();
    ActiveView {
        current_level: a.level_at(now),
        story_minutes: (a.minutes_at(now) * 100.0).round() / 100.0,
        started_at: super::state::rfc3339(a.started_at_ms),
        activation: a.clone(),
    }
}

fn status_of(store: &ScenarioStore, state: &State) -> StatusView {
    StatusView {
        version: state.version,
        shared: store.is_shared(),
        active: state.active.iter().map(view).collect(),
        available: Scenario::ALL.iter().map(|s| s.definition()).collect(),
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Contended => ApiError::conflict(code::SCENARIO_CONTENDED, e.to_string()),
            e => ApiError::unavailable(code::SCENARIO_STORE_UNAVAILABLE, "scenario_store", e),
        }
    }
}

fn authorise(control: &Control, headers: &HeaderMap) -> ApiResult<()> {
    let Some(token) = &control.token else {
        return Ok(());
    };
    if telemetry::http_server::bearer_matches(headers.get(http::header::AUTHORIZATION), token) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            code::UNAUTHORIZED,
            "changing scenarios needs Authorization: Bearer <control token>",
        ))
    }
}

fn scenario(name: &str) -> ApiResult<Scenario> {
    Scenario::parse(name).ok_or_else(|| {
        let names: Vec<_> = Scenario::ALL.iter().map(|s| s.as_str()).collect();
        ApiError::not_found(
            code::SCENARIO_NOT_FOUND,
            format!("no scenario {name:?}; one of {}", names.join(", ")),
        )
    })
}

fn parse_start(v: &serde_json::Value) -> ApiResult<i64> {
    let bad = || {
        ApiError::bad_request(
            code::INVALID_STARTED_AT,
            "started_at is Unix milliseconds or an RFC 3339 time",
        )
    };
    match v {
        serde_json::Value::Number(n) => n.as_i64().filter(|ms| *ms >= 0).ok_or_else(bad),
        serde_json::Value::String(s) => humantime::parse_rfc3339_weak(s)
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_millis() as i64)
            .ok_or_else(bad),
        _ => Err(bad()),
    }
}

/// Builds the activation a request asks for, from the one in force if there is one.
pub fn activation_for(
    name: Scenario,
    req: &SetScenario,
    existing: Option<&Activation>,
) -> ApiResult<Activation> {
    let d = name.definition();
    let min_level = if name == Scenario::Blackfriday { 0 } else { 1 };
    if let Some(l) = req.level
        && !(min_level..=MAX_LEVEL).contains(&l)
    {
        return Err(ApiError::bad_request(
            code::INVALID_LEVEL,
            format!("level must be {min_level} to {MAX_LEVEL}"),
        ));
    }
    let speed = req.speed.or(existing.map(|e| e.speed)).unwrap_or(1.0);
    if !(speed > 0.0 && speed <= MAX_SPEED) {
        return Err(ApiError::bad_request(
            code::INVALID_SPEED,
            format!("speed must be above 0 and at most {MAX_SPEED}"),
        ));
    }
    let target = match &req.target {
        None => existing.map(|e| e.target).unwrap_or(d.target),
        Some(t) => {
            let service: ServiceName = t
                .parse()
                .map_err(|e: String| ApiError::bad_request(code::INVALID_TARGET, e))?;
            let others = name.other_targets();
            if !d.any_service && service != d.target && !others.contains(&service) {
                let mut names = vec![d.target.as_str()];
                names.extend(others.iter().map(|s| s.as_str()));
                return Err(ApiError::bad_request(
                    code::INVALID_TARGET,
                    format!("{} acts on {} only", name.as_str(), names.join(" or ")),
                ));
            }
            service
        }
    };
    let started_at_ms = match &req.started_at {
        Some(v) => parse_start(v)?,
        None => existing.map(|e| e.started_at_ms).unwrap_or_else(now_ms),
    };
    Ok(Activation {
        scenario: name,
        target,
        level: req.level.or_else(|| existing.and_then(|e| e.level)),
        speed,
        started_at_ms,
        seed: req.seed.or_else(|| existing.and_then(|e| e.seed)),
        mark_faults: req
            .mark_faults
            .or(existing.map(|e| e.mark_faults))
            .unwrap_or(false),
        graceful: req
            .graceful
            .or(existing.map(|e| e.graceful))
            .unwrap_or(false),
    })
}

/// Logs each change as an OpenTelemetry log event: the ground truth an RCA tool is judged by
/// (unless the store keeps it out of the telemetry).
pub fn log_changes(store: &ScenarioStore, changes: &[Change]) {
    store.announce(changes);
    if !store.ground_truth_in_telemetry() {
        return;
    }
    for c in changes {
        tracing::info!(
            event.name = "scenario.change",
            scenario.name = c.scenario.as_str(),
            scenario.action = ?c.action,
            scenario.level = c.level,
            scenario.source = ?c.source,
            fault.target_service = %c.target_service,
            fault.operation = %c.operation,
            fault.type = %c.fault_type,
            "scenario {} {:?} at level {}",
            c.scenario.as_str(),
            c.action,
            c.level
        );
    }
}

async fn status(AxumState(c): AxumState<Control>) -> ApiResult<Json<StatusView>> {
    // A shared store is re-read so the answer is current even between polls.
    let state = match c.store.refresh().await {
        Ok(s) => s,
        Err(_) => c.store.current(),
    };
    Ok(Json(status_of(&c.store, &state)))
}

async fn history(AxumState(c): AxumState<Control>) -> ApiResult<Json<Vec<Change>>> {
    Ok(Json(c.store.history().await?))
}

async fn set(
    AxumState(c): AxumState<Control>,
    headers: HeaderMap,
    ApiPath(name): ApiPath<String>,
    OptionalJson(req): OptionalJson<SetScenario>,
) -> ApiResult<Json<ActiveView>> {
    authorise(&c, &headers)?;
    let name = scenario(&name)?;
    let current = c.store.refresh().await?;
    let activation = activation_for(name, &req, current.get(name))?;
    let (state, changes) = c.store.apply(Command::Set(activation)).await?;
    log_changes(&c.store, &changes);
    let active = state
        .get(name)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("scenario vanished after set")))?;
    Ok(Json(view(active)))
}

async fn clear_one(
    AxumState(c): AxumState<Control>,
    headers: HeaderMap,
    ApiPath(name): ApiPath<String>,
) -> ApiResult<Json<Changed>> {
    authorise(&c, &headers)?;
    let name = scenario(&name)?;
    let (_, changes) = c.store.apply(Command::Clear(Some(name))).await?;
    log_changes(&c.store, &changes);
    Ok(Json(Changed { changes }))
}

async fn clear_all(
    AxumState(c): AxumState<Control>,
    headers: HeaderMap,
) -> ApiResult<Json<Changed>> {
    authorise(&c, &headers)?;
    let (_, changes) = c.store.apply(Command::Clear(None)).await?;
    log_changes(&c.store, &changes);
    Ok(Json(Changed { changes }))
}

pub fn router(store: ScenarioStore, token: Option<String>) -> Router {
    Router::new()
        .route("/scenarios", get(status).delete(clear_all))
        .route("/scenarios/history", get(history))
        .route(
            "/scenarios/{name}",
            axum::routing::put(set).delete(clear_one),
        )
        .with_state(Control {
            store,
            token: token.map(Arc::from),
        })
}

/// Statuses used by the CLI to tell a refusal from an outage.
pub fn is_unauthorised(status: StatusCode) -> bool {
    status == StatusCode::UNAUTHORIZED
}
