//! Change markers: each scenario change (on, a level change, off) posted to Coralogix's version
//! tags API (`POST https://api.<domain>/api/v1/external/tags`, an API key with the
//! `CICDIntegration` preset as `Authorization: Bearer`), so the APM's charts show when a fault
//! began and ended. Posting never holds up the switch: it runs on a task of its own, retried a
//! few times, and a failure is logged without the key.

use std::time::Duration;

use serde::Serialize;

use super::Change;
pub use crate::config::MarkerConfig;

/// Tries of one marker before it is given up.
const ATTEMPTS: u32 = 3;
/// How long one try may take.
const TRY_TIMEOUT: Duration = Duration::from_secs(5);

/// The body of one tag, as the version tags API takes it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Tag {
    pub name: String,
    /// Epoch milliseconds.
    pub timestamp: i64,
    pub application: Vec<String>,
    pub subsystem: Vec<String>,
}

impl Tag {
    pub fn of(change: &Change, application: &str) -> Self {
        let action = match change.action {
            super::state::Action::Activated => format!("on at level {}", change.level),
            super::state::Action::LevelChanged => format!("level {}", change.level),
            super::state::Action::Deactivated => "off".to_owned(),
        };
        Tag {
            name: format!("scenario {} {action}", change.scenario.as_str()),
            timestamp: change.at_ms,
            application: vec![application.to_owned()],
            subsystem: vec![change.target_service.to_string()],
        }
    }
}

/// Posts the markers of `changes` in the background.
pub fn post(config: &MarkerConfig, changes: &[Change]) {
    if changes.is_empty() {
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let tags: Vec<Tag> = changes
        .iter()
        .map(|c| Tag::of(c, &config.application))
        .collect();
    let config = config.clone();
    runtime.spawn(async move {
        let http = match telemetry::tls::client_builder()
            .timeout(TRY_TIMEOUT)
            .build()
        {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(event.name = "scenario.marker.failed", exception.type = std::any::type_name_of_val(&e), exception.message = %e, "change markers: no HTTP client");
                return;
            }
        };
        for tag in tags {
            send(&http, &config, &tag).await;
        }
    });
}

async fn send(http: &reqwest::Client, config: &MarkerConfig, tag: &Tag) {
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let answer = http
            .post(&config.url)
            .bearer_auth(&config.api_key)
            .json(tag)
            .send()
            .await;
        match answer {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => last = format!("answered {}", r.status().as_u16()),
            Err(e) => last = format!("unreachable ({})", e.without_url()),
        }
        if attempt < ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(500) * 2u32.pow(attempt - 1)).await;
        }
    }
    tracing::warn!(
        event.name = "scenario.marker.failed",
        marker.name = %tag.name,
        error = %last,
        "the change marker was not posted after {ATTEMPTS} tries"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_become_the_tags_endpoint() {
        assert_eq!(
            MarkerConfig::tags_url("eu2.coralogix.com"),
            "https://api.eu2.coralogix.com/api/v1/external/tags"
        );
        assert_eq!(
            MarkerConfig::tags_url("eu2"),
            "https://api.eu2.coralogix.com/api/v1/external/tags"
        );
        assert_eq!(
            MarkerConfig::tags_url("https://coralogix.us/"),
            "https://api.coralogix.us/api/v1/external/tags"
        );
    }

    #[test]
    fn the_key_is_never_printed() {
        let c = MarkerConfig {
            url: "https://x".into(),
            api_key: "s3cret-key".into(),
            application: "tracemart".into(),
        };
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
