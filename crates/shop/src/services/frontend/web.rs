//! The storefront as the browser loads it: the page, its style sheet and script bundle (built
//! from `storefront/` and embedded in the binary), a generated picture per product, and the
//! page's live settings. None of it is traced: a page load is the browser's to trace
//! (`documentLoad`), and the backend's spans stay the shop's API.

use std::fmt::Write as _;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::{HeaderValue, header};
use serde::Serialize;
use telemetry::ServiceTelemetry;

use crate::error::{ApiError, ApiPath, code};
use crate::scenario::Faults;
use crate::scenario::catalogue::{
    CHECKOUT_JS_ERROR_SHARE_PER_LEVEL, IMAGE_DELAY_PER_LEVEL, Scenario,
};

const INDEX_HTML: &str = include_str!("storefront/index.html");
const STYLE_CSS: &str = include_str!("storefront/style.css");
const BUNDLE_JS: &str = include_str!("storefront/dist/storefront.js");

/// The highest product id a picture is drawn for.
const MAX_PRODUCT_ID: u64 = 1_000_000;

#[derive(Clone)]
pub(super) struct Web {
    faults: Faults,
    telemetry: ServiceTelemetry,
}

pub(super) fn router(faults: Faults, telemetry: ServiceTelemetry) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/index.html", get(index))
        .route("/assets/style.css", get(style))
        .route("/assets/storefront.js", get(bundle))
        .route("/images/products/{file}", get(product_image))
        .route("/api/storefront/config", get(config))
        .with_state(Web { faults, telemetry })
}

fn asset(content_type: &'static str, cache: &'static str, body: impl IntoResponse) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    r
}

async fn index() -> Response {
    asset("text/html; charset=utf-8", "no-cache", INDEX_HTML)
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", "no-cache", STYLE_CSS)
}

async fn bundle() -> Response {
    asset("text/javascript; charset=utf-8", "no-cache", BUNDLE_JS)
}

/// `GET /images/products/{id}.svg`: a picture drawn from the id alone (no call to the
/// catalogue), late by the slow-images scenario's delay. Never cached, so every page view
/// waits for it again while the scenario is on.
async fn product_image(State(web): State<Web>, ApiPath(file): ApiPath<String>) -> Response {
    let id = file
        .strip_suffix(".svg")
        .filter(|d| !d.is_empty() && d.len() <= 7 && d.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|d| d.parse::<u64>().ok())
        .filter(|id| (1..=MAX_PRODUCT_ID).contains(id));
    let Some(id) = id else {
        return ApiError::not_found(code::PRODUCT_NOT_FOUND, "no such product picture")
            .into_response();
    };
    if let Some(f) = web.faults.active(Scenario::SlowImages) {
        tokio::time::sleep(IMAGE_DELAY_PER_LEVEL * u32::from(f.level)).await;
    }
    asset("image/svg+xml", "no-store", product_svg(id))
}

/// Colour pairs of the pictures (the categories' palette of the style sheet).
const PALETTE: [(&str, &str); 7] = [
    ("#4dabf7", "#1864ab"),
    ("#ffc078", "#e8590c"),
    ("#b197fc", "#5f3dc4"),
    ("#faa2c1", "#c2255c"),
    ("#8ce99a", "#2b8a3e"),
    ("#ffe066", "#f08c00"),
    ("#e599f7", "#9c36b5"),
];

/// Small marks of a picture.
const SPECKS: usize = 90;

/// A 240×180 picture: a gradient, a few soft shapes placed by the id, and the product number.
fn product_svg(id: u64) -> String {
    let mut h = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
    let mut next = |m: u64| {
        h ^= h >> 31;
        h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
        h ^= h >> 29;
        h % m
    };
    let (c1, c2) = PALETTE[(id % PALETTE.len() as u64) as usize];
    let mut svg = String::with_capacity(1024 + SPECKS * 64);
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 240 180\" width=\"240\" height=\"180\">\
         <defs><linearGradient id=\"g\" x1=\"0\" y1=\"0\" x2=\"1\" y2=\"1\">\
         <stop offset=\"0\" stop-color=\"{c1}\"/><stop offset=\"1\" stop-color=\"{c2}\"/></linearGradient></defs>\
         <rect width=\"240\" height=\"180\" fill=\"url(#g)\"/>"
    );
    for _ in 0..3 {
        let (x, y, r) = (20 + next(200), 20 + next(120), 14 + next(40));
        let _ = write!(
            svg,
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"{r}\" fill=\"#fff\" opacity=\"0.18\"/>"
        );
    }
    // A scatter of small marks: texture, and enough detail per pixel that a browser counts the
    // picture as content (Chromium leaves near-empty images out of LCP).
    for _ in 0..SPECKS {
        let (x, y, r, o) = (next(240), next(180), 1 + next(4), 10 + next(40));
        let _ = write!(
            svg,
            "<circle cx=\"{x}\" cy=\"{y}\" r=\"{r}\" fill=\"#fff\" opacity=\"0.{o:02}\"/>"
        );
    }
    let _ = write!(
        svg,
        "<rect x=\"78\" y=\"44\" width=\"84\" height=\"70\" rx=\"12\" fill=\"#fff\" opacity=\"0.9\"/>\
         <path d=\"M96 70h48l-6 26h-36z\" fill=\"{c2}\"/>\
         <text x=\"120\" y=\"150\" font-family=\"system-ui,sans-serif\" font-size=\"15\" fill=\"#fff\" text-anchor=\"middle\">No. {id}</text></svg>"
    );
    svg
}

#[derive(Serialize)]
struct StorefrontConfig {
    service_version: String,
    scenarios: BrowserScenarios,
    /// Coralogix RUM settings, when configured; the page does not load the Coralogix SDK
    /// (docs/deployment.md says why), so this is `null`.
    rum: Option<()>,
}

#[derive(Serialize)]
struct BrowserScenarios {
    /// The share of checkout clicks whose handler throws (checkout-js-error).
    checkout_js_error_share: f64,
}

/// `GET /api/storefront/config`: what the page reads every 10 s.
async fn config(State(web): State<Web>) -> Response {
    let share = web
        .faults
        .active(Scenario::CheckoutJsError)
        .map_or(0.0, |f| {
            (CHECKOUT_JS_ERROR_SHARE_PER_LEVEL * f64::from(f.level)).min(1.0)
        });
    let mut r = Json(StorefrontConfig {
        service_version: web.telemetry.version().to_owned(),
        scenarios: BrowserScenarios {
            checkout_js_error_share: share,
        },
        rum: None,
    })
    .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn the_embedded_page_names_the_assets_it_is_served_with() {
        assert!(INDEX_HTML.contains("href=\"/assets/style.css\""));
        assert!(INDEX_HTML.contains("src=\"/assets/storefront.js\""));
        assert!(BUNDLE_JS.len() > 10_000, "the built bundle is embedded");
        assert!(!INDEX_HTML.contains("https://"), "no CDN: {INDEX_HTML}");
    }

    #[test]
    fn product_pictures_are_deterministic_well_formed_svg() {
        let a = product_svg(7);
        assert_eq!(a, product_svg(7));
        assert_ne!(a, product_svg(8));
        assert!(a.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(a.ends_with("</svg>") && a.contains("No. 7"));
        assert_eq!(a.matches("<circle").count(), 3 + SPECKS);
        // Detailed enough to count for LCP at 600×450 (0.05 bits per pixel and more).
        assert!(a.len() * 8 > 600 * 450 / 20, "{} bytes", a.len());
    }

    #[tokio::test]
    async fn a_picture_of_no_product_is_a_json_404() {
        let store = crate::scenario::ScenarioStore::local();
        let faults = Faults::new(crate::config::ServiceName::Frontend, &store);
        let hub =
            telemetry::TelemetryHub::new(telemetry::Settings::default(), telemetry::LogFormat::Off)
                .expect("hub");
        let web = Web {
            faults,
            telemetry: hub.service("frontend").expect("telemetry"),
        };
        for file in ["0.svg", "x.svg", "1.png", "99999999.svg", "-1.svg", ".svg"] {
            let r = product_image(State(web.clone()), ApiPath(file.to_owned())).await;
            assert_eq!(r.status(), StatusCode::NOT_FOUND, "{file}");
        }
        let r = product_image(State(web), ApiPath("12.svg".to_owned())).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "image/svg+xml");
    }
}
