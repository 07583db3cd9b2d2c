use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use super::MAX_RATE;
use super::model::{LoadStatus, SetRate};
use crate::error::{ApiError, ApiJson, ApiResult};

pub(super) async fn status(State(s): State<Arc<super::State>>) -> Json<LoadStatus> {
    Json(s.status())
}

pub(super) async fn start(State(s): State<Arc<super::State>>) -> Json<LoadStatus> {
    s.control.send_modify(|c| c.running = true);
    tracing::info!("load generation started");
    Json(s.status())
}

pub(super) async fn stop(State(s): State<Arc<super::State>>) -> Json<LoadStatus> {
    s.control.send_modify(|c| c.running = false);
    tracing::info!("load generation stopped");
    Json(s.status())
}

pub(super) async fn set_rate(
    State(s): State<Arc<super::State>>,
    ApiJson(req): ApiJson<SetRate>,
) -> ApiResult<Json<LoadStatus>> {
    let rate = req.journeys_per_second;
    if !(rate > 0.0 && rate <= MAX_RATE) {
        return Err(ApiError::bad_request(
            "invalid_rate",
            format!("journeys_per_second must be above 0 and at most {MAX_RATE}"),
        ));
    }
    s.control.send_modify(|c| c.rate = rate);
    tracing::info!(journeys_per_second = rate, "load rate changed");
    Ok(Json(s.status()))
}
