//! load-generator (8010): starts by itself and runs shopper journeys against the frontend —
//! the load engine of `crate::loadgen` behind a small admin API (`/status`, `/start`, `/stop`,
//! `/rate`, `/users`, `/profile`) that never waits for the traffic it controls.

mod handlers;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post, put};
use tokio::sync::watch;

use crate::api::frontend::client::FrontendClient;
use crate::config::ServiceName;
use crate::loadgen::journeys::Target;
use crate::loadgen::stats::Stats;
use crate::loadgen::{Bound, Model, Plan, Profile, Rate, Tagging};
use crate::scenario::{Scenario, State as ScenarioState};
use crate::service::always_ready;
use crate::service::{Service, ServiceContext};

use crate::api::load_generator::model::MAX_RATE;

#[derive(Debug, Clone, PartialEq)]
struct Control {
    running: bool,
    plan: Plan,
}

pub(crate) struct State {
    control: watch::Sender<Control>,
    stats: Arc<Stats>,
    /// The plan running now: the control's, or Black Friday's crowd while the story runs.
    effective: std::sync::Mutex<Option<Plan>>,
}

pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    let load = ctx.config.load.clone();
    if !(load.rate > 0.0 && load.rate <= MAX_RATE) {
        anyhow::bail!("the load rate must be above 0 and at most {MAX_RATE} journeys per second");
    }
    let plan = Plan {
        model: Model::Open {
            rate: Rate::Constant {
                per_second: load.rate,
            },
        },
        profile: Profile::Shop,
        baseline_type: "baseline".to_owned(),
        demo_type: "demo".to_owned(),
        tagging: if load.per_journey_tagging {
            Tagging::PerJourney
        } else {
            Tagging::PerRequest
        },
        think_time_ms: (
            load.think_time.0.as_millis() as u64,
            load.think_time.1.as_millis() as u64,
        ),
        max_in_flight: load.max_in_flight,
    };
    let (control, _) = watch::channel(Control {
        running: load.autostart,
        plan,
    });
    let state = Arc::new(State {
        control,
        stats: Arc::new(Stats::new()),
        effective: std::sync::Mutex::new(None),
    });
    let target = Target {
        frontend: FrontendClient::new(ctx.http.clone(), &ctx.config.url(ServiceName::Frontend)),
        ping_path: "/health".to_owned(),
        journeys: Some(
            ctx.telemetry
                .meter()
                .u64_counter("loadgen.journeys")
                .with_unit("{journey}")
                .with_description("Shopper journeys run, by journey, traffic type and outcome.")
                .build(),
        ),
    };
    let story = load.follows_story.then(|| ctx.scenarios.subscribe());
    let engine = drive(
        state.clone(),
        target,
        load.seed,
        story,
        ctx.shutdown.clone(),
    );
    Ok(Service {
        // The admin API is the control plane: no spans.
        routes: Router::new(),
        control: router(state, ctx.config.control_token.clone()),
        readiness: always_ready(),
        background: vec![Box::pin(engine)],
        demo_routes: &[],
    })
}

/// The admin API; changes need the control token when one is configured.
pub(crate) fn router(state: Arc<State>, token: Option<String>) -> Router {
    Router::new()
        .route("/status", get(handlers::status))
        .route("/start", post(handlers::start))
        .route("/stop", post(handlers::stop))
        .route("/rate", put(handlers::set_rate))
        .route("/users", put(handlers::set_users))
        .route("/profile", put(handlers::set_profile))
        .with_state(state)
        .layer(axum::middleware::from_fn_with_state(
            token.map(Arc::<str>::from),
            crate::server::changes_need_token,
        ))
}

/// The plan to run: Black Friday's crowd while that story runs and the shop mix is set (at
/// the story's speed), the control's plan otherwise.
pub(crate) fn effective_plan(plan: &Plan, story: Option<&ScenarioState>) -> Plan {
    match story.and_then(|s| s.get(Scenario::Blackfriday)) {
        Some(bf) if plan.profile == Profile::Shop => Plan {
            profile: Profile::Blackfriday { speed: bf.speed },
            ..plan.clone()
        },
        _ => plan.clone(),
    }
}

/// Runs the effective plan; a change of it (by the admin API or the story) stops the running
/// one (its journeys finish on their own) and starts the new one at once.
async fn drive(
    state: Arc<State>,
    target: Target,
    seed: Option<u64>,
    mut story: Option<watch::Receiver<Arc<ScenarioState>>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut control = state.control.subscribe();
    let mut current: Option<(Plan, watch::Sender<bool>)> = None;
    loop {
        let c = control.borrow_and_update().clone();
        let scenarios = story.as_mut().map(|s| s.borrow_and_update().clone());
        let wanted = c
            .running
            .then(|| effective_plan(&c.plan, scenarios.as_deref()));
        if current.as_ref().map(|(p, _)| p) != wanted.as_ref() {
            if let Some((_, stop)) = current.take() {
                let _ = stop.send(true);
            }
            if let Some(plan) = wanted.clone() {
                if plan.profile != c.plan.profile {
                    tracing::info!(event.name = "loadgen.follows_story", loadgen.profile = ?plan.profile, "Black Friday: the load follows the story");
                }
                let (stop, stopped) = watch::channel(false);
                tokio::spawn(crate::loadgen::run(
                    plan.clone(),
                    Bound::Unbounded,
                    seed,
                    target.clone(),
                    state.stats.clone(),
                    stopped,
                ));
                current = Some((plan, stop));
            }
            *state.effective.lock().unwrap_or_else(|e| e.into_inner()) = wanted;
        }
        let story_changed = async {
            let open = match story.as_mut() {
                Some(s) => s.changed().await.is_ok(),
                None => false,
            };
            if !open {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            _ = control.changed() => {}
            _ = story_changed => {}
            _ = shutdown.wait_for(|s| *s) => break,
        }
    }
    if let Some((_, stop)) = current {
        let _ = stop.send(true);
    }
}

#[cfg(test)]
mod tests {
    use http::Method;
    use serde_json::json;

    use crate::config::ServiceName;
    use crate::testing::check_cases;

    #[test]
    fn black_friday_brings_its_crowd_unless_the_profile_was_chosen() {
        use crate::loadgen::{Model, Plan, Profile, Rate, Tagging};
        use crate::scenario::{Activation, Scenario, State};
        let plan = Plan {
            model: Model::Open {
                rate: Rate::Constant { per_second: 2.0 },
            },
            profile: Profile::Shop,
            baseline_type: "baseline".into(),
            demo_type: "demo".into(),
            tagging: Tagging::PerRequest,
            think_time_ms: (500, 2000),
            max_in_flight: 64,
        };
        let bf = |scenario| State {
            version: 1,
            active: vec![Activation {
                scenario,
                target: ServiceName::ProductCatalog,
                level: None,
                speed: 10.0,
                started_at_ms: 0,
                seed: None,
                mark_faults: false,
                graceful: false,
            }],
        };
        assert_eq!(super::effective_plan(&plan, None), plan);
        assert_eq!(super::effective_plan(&plan, Some(&State::default())), plan);
        let story = super::effective_plan(&plan, Some(&bf(Scenario::Blackfriday)));
        assert_eq!(story.profile, Profile::Blackfriday { speed: 10.0 });
        assert_eq!((story.model, story.tagging), (plan.model, plan.tagging));
        // Another story leaves the load alone, and so does a profile set by hand.
        assert_eq!(
            super::effective_plan(&plan, Some(&bf(Scenario::SlowQuery))),
            plan
        );
        let ping = Plan {
            profile: Profile::Ping,
            ..plan.clone()
        };
        assert_eq!(
            super::effective_plan(&ping, Some(&bf(Scenario::Blackfriday))),
            ping
        );
    }

    #[tokio::test]
    async fn bad_input_gets_a_json_4xx_with_its_code() {
        check_cases(
            ServiceName::LoadGenerator,
            &[
                (
                    Method::PUT,
                    "/rate",
                    Some(json!({"journeys_per_second": -1})),
                    400,
                    "invalid_rate",
                ),
                (
                    Method::PUT,
                    "/rate",
                    Some(json!({"journeys_per_second": 1e9})),
                    400,
                    "invalid_rate",
                ),
            ],
        )
        .await;
    }

    #[tokio::test]
    async fn the_admin_api_takes_the_control_token_for_changes() {
        use crate::testing::{ask, ask_with, router_with};
        let routed = router_with(ServiceName::LoadGenerator, |c| {
            c.control_token = Some("s3cret".to_owned());
        })
        .await;
        let rate = json!({"journeys_per_second": 5.0});
        for (method, path, body) in [
            (Method::PUT, "/rate", Some(&rate)),
            (Method::PUT, "/users", Some(&json!({"users": 10000}))),
            (Method::POST, "/start", None),
            (Method::POST, "/stop", None),
            (
                Method::PUT,
                "/profile",
                Some(&json!({"name": "blackfriday"})),
            ),
        ] {
            let (status, answer) = ask(&routed.app, method.clone(), path, body).await;
            assert_eq!(status, 401, "{method} {path}: {answer}");
            assert_eq!(answer["error"]["code"], "unauthorized");
        }
        let wrong = http::Request::builder()
            .method(Method::PUT)
            .uri("/rate")
            .header("authorization", "Bearer s3cre");
        assert_eq!(ask_with(&routed.app, wrong, Some(&rate)).await.0, 401);
        assert_eq!(ask(&routed.app, Method::GET, "/status", None).await.0, 200);
        let right = http::Request::builder()
            .method(Method::PUT)
            .uri("/rate")
            .header("authorization", "bearer s3cret");
        let (status, answer) = ask_with(&routed.app, right, Some(&rate)).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["journeys_per_second"], 5.0);
    }
}
