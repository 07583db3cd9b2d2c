//! The storefront as its shoppers' browsers report it: the web vitals of each page (p75, as
//! the vitals are judged, and the share rated good), and whether the browser's calls reach
//! the backend — a fetch span with the frontend's SERVER span as its child.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::store::{Store, kind};

/// The browser's service name (the storefront's resource).
pub const BROWSER_SERVICE: &str = "storefront-web";

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Browser {
    /// Distinct `session.id` of the browser's spans.
    pub sessions: u64,
    pub spans: u64,
    /// The browser's calls that got an answer (a fetch CLIENT span with a status code),
    /// ended longer ago than the grace time a backend span is given to arrive ...
    pub fetches: u64,
    /// ... and of those, the ones a backend SERVER span names as its parent.
    pub fetches_reaching_backend: u64,
    /// A few of the calls that did not, as `METHOD url`.
    pub unconnected: Vec<String>,
    pub vitals: Vec<Vital>,
}

/// One web vital on one page.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Vital {
    /// The page's route (`/product/:id`).
    pub page: String,
    /// `lcp`, `cls` or `inp`.
    pub name: String,
    pub reports: u64,
    /// The 75th percentile: ms for LCP and INP, unitless for CLS.
    pub p75: f64,
    /// Of the reports, the share web-vitals rated `good`.
    pub good_share: f64,
}

/// The browser over the store; fetches that ended less than `grace_ns` before `now_ns` are
/// not judged yet.
pub fn browser(store: &Store, now_ns: u64, grace_ns: u64) -> Browser {
    let mut out = Browser::default();
    let mut sessions = HashSet::new();
    // Span ids a backend SERVER span has as its parent.
    let mut served: HashSet<[u8; 8]> = HashSet::new();
    let mut fetches = Vec::new();
    // (page, vital) → (values, good)
    let mut vitals: BTreeMap<(String, String), (Vec<f64>, u64)> = BTreeMap::new();
    for s in store.spans() {
        if &*s.service != BROWSER_SERVICE {
            if s.kind == kind::SERVER
                && let Some(p) = s.parent
            {
                served.insert(p);
            }
            continue;
        }
        out.spans += 1;
        if let Some(id) = s.attr("session.id") {
            sessions.insert(id.to_owned());
        }
        if s.kind == kind::CLIENT
            && s.attr("http.response.status_code")
                .or_else(|| s.attr("http.status_code"))
                .is_some_and(|c| c != "0")
            && now_ns.saturating_sub(s.end_ns) >= grace_ns
        {
            fetches.push(s);
        }
        if let (Some(name), Some(value)) = (
            s.attr("browser.web_vital.name"),
            s.attr("browser.web_vital.value")
                .and_then(|v| v.parse::<f64>().ok()),
        ) {
            let page = s.attr("page.route").unwrap_or("unknown").to_owned();
            let e = vitals.entry((page, name.to_owned())).or_default();
            e.0.push(value);
            e.1 += u64::from(s.attr("browser.web_vital.rating") == Some("good"));
        }
    }
    out.sessions = sessions.len() as u64;
    out.fetches = fetches.len() as u64;
    for f in fetches {
        if served.contains(&f.span_id) {
            out.fetches_reaching_backend += 1;
        } else if out.unconnected.len() < 5 {
            let url = f
                .attr("url.full")
                .or_else(|| f.attr("http.url"))
                .unwrap_or("?");
            out.unconnected.push(format!("{} {url}", f.name));
        }
    }
    out.vitals = vitals
        .into_iter()
        .map(|((page, name), (mut values, good))| {
            values.sort_by(f64::total_cmp);
            let at = ((values.len() as f64 - 1.0) * 0.75).round() as usize;
            Vital {
                page,
                name,
                reports: values.len() as u64,
                p75: values[at.min(values.len() - 1)],
                good_share: good as f64 / values.len() as f64,
            }
        })
        .collect();
    out
}
