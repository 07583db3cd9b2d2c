use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use crate::api::load_generator::model::{
    JourneyCounts, JourneyKind, LoadStatus, SetProfile, SetRate, SetUsers,
};
use crate::api::load_generator::model::{MAX_RATE, MAX_USERS};
use crate::error::code;
use crate::error::{ApiError, ApiJson, ApiResult};
use crate::loadgen::{Model, Profile, Rate};

fn status_of(s: &super::State) -> LoadStatus {
    let c = s.control.borrow().clone();
    let stats = s.stats.snapshot();
    let mut journeys: BTreeMap<JourneyKind, JourneyCounts> = BTreeMap::new();
    for row in stats.rows.iter().filter(|r| r.key.step == "journey") {
        let Some(kind) = [
            JourneyKind::Browse,
            JourneyKind::BrowseAndCart,
            JourneyKind::Checkout,
            JourneyKind::Ping,
        ]
        .into_iter()
        .find(|k| k.as_str() == row.key.journey) else {
            continue;
        };
        let counts = journeys.entry(kind).or_default();
        counts.started += row.count;
        counts.failed += row.errors;
        counts.succeeded += row.count - row.errors;
    }
    LoadStatus {
        running: c.running,
        journeys_per_second: match c.plan.model {
            Model::Open {
                rate: Rate::Constant { per_second },
            } => per_second,
            Model::Open {
                rate: Rate::Ramp { to, .. },
            } => to,
            Model::Closed { .. } => 0.0,
        },
        plan: c.plan,
        effective_plan: s
            .effective
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone(),
        in_flight: stats.in_flight,
        journeys,
        stats,
    }
}

pub(super) async fn status(State(s): State<Arc<super::State>>) -> Json<LoadStatus> {
    Json(status_of(&s))
}

pub(super) async fn start(State(s): State<Arc<super::State>>) -> Json<LoadStatus> {
    s.control
        .send_if_modified(|c| !std::mem::replace(&mut c.running, true));
    tracing::info!(event.name = "loadgen.started", "load generation started");
    Json(status_of(&s))
}

pub(super) async fn stop(State(s): State<Arc<super::State>>) -> Json<LoadStatus> {
    s.control
        .send_if_modified(|c| std::mem::replace(&mut c.running, false));
    tracing::info!(event.name = "loadgen.stopped", "load generation stopped");
    Json(status_of(&s))
}

pub(super) async fn set_rate(
    State(s): State<Arc<super::State>>,
    ApiJson(req): ApiJson<SetRate>,
) -> ApiResult<Json<LoadStatus>> {
    let rate = req.journeys_per_second;
    if !(rate > 0.0 && rate <= MAX_RATE) {
        return Err(ApiError::bad_request(
            code::INVALID_RATE,
            format!("journeys_per_second must be above 0 and at most {MAX_RATE}"),
        ));
    }
    s.control.send_modify(|c| {
        c.plan.model = Model::Open {
            rate: Rate::Constant { per_second: rate },
        }
    });
    tracing::info!(
        event.name = "loadgen.rate_changed",
        loadgen.journeys_per_second = rate,
        "load rate changed"
    );
    Ok(Json(status_of(&s)))
}

pub(super) async fn set_users(
    State(s): State<Arc<super::State>>,
    ApiJson(req): ApiJson<SetUsers>,
) -> ApiResult<Json<LoadStatus>> {
    if !(1..=MAX_USERS).contains(&req.users) {
        return Err(ApiError::bad_request(
            code::INVALID_USERS,
            format!("users must be 1 to {MAX_USERS}"),
        ));
    }
    s.control
        .send_modify(|c| c.plan.model = Model::Closed { users: req.users });
    tracing::info!(
        event.name = "loadgen.users_changed",
        loadgen.users = req.users,
        "load switched to virtual users"
    );
    Ok(Json(status_of(&s)))
}

pub(super) async fn set_profile(
    State(s): State<Arc<super::State>>,
    ApiJson(req): ApiJson<SetProfile>,
) -> ApiResult<Json<LoadStatus>> {
    let speed = req.speed.unwrap_or(1.0);
    if !(speed > 0.0 && speed <= 1000.0) {
        return Err(ApiError::bad_request(
            code::INVALID_SPEED,
            "speed must be above 0 and at most 1000",
        ));
    }
    let profile = Profile::parse(&req.name, speed).ok_or_else(|| {
        ApiError::bad_request(
            code::UNKNOWN_PROFILE,
            "profile is one of shop, blackfriday, ping",
        )
    })?;
    s.control.send_modify(|c| c.plan.profile = profile);
    tracing::info!(event.name = "loadgen.profile_changed", loadgen.profile = %req.name, loadgen.speed = speed, "load profile changed");
    Ok(Json(status_of(&s)))
}
