//! The public API's OpenAPI document (`GET /openapi.json`), generated from the handlers'
//! annotations and their wire types, so it cannot drift from what the frontend serves.

use std::sync::OnceLock;

use axum::response::IntoResponse;
use utoipa::OpenApi as _;

use super::handlers;

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "tracemart shop",
        description = "The shop's public API, served by its frontend. `POST /api/checkout` is \
            the demo flow (`traffic.type=demo`), every other request baseline, unless the \
            caller sends its own `baggage: traffic.type=…`. Errors are \
            `{\"error\": {\"code\": \"…\", \"message\": \"…\"}}`. Test cards: 4242424242424242 \
            is approved (apart from the gateway's random declines), 4000000000000002 always \
            declined."
    ),
    paths(
        handlers::browse,
        handlers::checkout,
        handlers::products,
        handlers::product,
        handlers::view_cart,
        handlers::add_to_cart,
        handlers::set_cart_quantity,
        handlers::remove_from_cart,
        handlers::recommendations,
        handlers::ads,
        handlers::currencies,
        handlers::order
    ),
    tags((name = "shop", description = "Browse, cart and checkout"))
)]
pub struct ApiDoc;

/// The document as JSON, rendered once.
pub fn document() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| ApiDoc::openapi().to_pretty_json().unwrap_or_default())
}

pub(super) async fn serve() -> impl IntoResponse {
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        document(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_public_route_is_described_with_its_error_body() {
        let doc: serde_json::Value = serde_json::from_str(super::document()).expect("JSON");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        let paths = doc["paths"].as_object().expect("paths");
        // The routes the router serves, read from its source: a new route without an
        // annotation fails here.
        let src = include_str!("mod.rs");
        let routes: Vec<&str> = src
            .split(".route(\"")
            .skip(1)
            .filter_map(|r| r.split('"').next())
            .filter(|r| r.starts_with("/api/"))
            .collect();
        assert!(routes.len() >= 7, "{routes:?}");
        for route in &routes {
            let path = paths
                .get(*route)
                .unwrap_or_else(|| panic!("{route} is not in the document"));
            for (method, operation) in path.as_object().expect("operations") {
                let responses = operation["responses"].as_object().expect("responses");
                assert!(
                    responses.contains_key("400") && responses.contains_key("503"),
                    "{method} {route} documents its errors"
                );
                for status in ["400", "502", "503", "504"] {
                    assert_eq!(
                        responses[status]["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {route} {status}"
                    );
                }
            }
        }
        let card = &doc["components"]["schemas"]["Card"]["properties"]["number"];
        assert_eq!(card["type"], "string", "{card}");
    }
}
