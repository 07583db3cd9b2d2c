//! currency (8011): exchange rates for a handful of currencies, drifting slowly over time, and
//! conversion between them in integer minor units.

mod handlers;
pub mod rates;

use axum::Router;
use axum::routing::get;

use crate::service::{Service, ServiceContext};

pub async fn build(_ctx: ServiceContext) -> anyhow::Result<Service> {
    Ok(Service::without_store(router()))
}

pub(crate) fn router() -> Router {
    Router::new()
        .route("/rates", get(handlers::rates))
        .route("/convert", get(handlers::convert))
}

#[cfg(test)]
mod tests {
    use http::Method;

    use crate::config::ServiceName;
    use crate::testing::check_cases;

    #[tokio::test]
    async fn bad_input_gets_a_json_4xx_with_its_code() {
        check_cases(
            ServiceName::Currency,
            &[
                (
                    Method::GET,
                    "/convert?from=USD&to=XYZ&amount=100",
                    None,
                    400,
                    "unsupported_currency",
                ),
                (
                    Method::GET,
                    "/convert?from=USD&to=EUR&amount=-1",
                    None,
                    400,
                    "invalid_amount",
                ),
                (
                    Method::GET,
                    "/convert?from=USD&to=EUR",
                    None,
                    400,
                    "invalid_query",
                ),
            ],
        )
        .await;
    }
}
