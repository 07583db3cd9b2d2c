//! ad (8015): ads by category for the browse page.

mod handlers;

use axum::Router;
use axum::routing::get;

use crate::service::{Service, ServiceContext};

pub async fn build(_ctx: ServiceContext) -> anyhow::Result<Service> {
    Ok(Service::without_store(router()))
}

pub(crate) fn router() -> Router {
    Router::new().route("/ads", get(handlers::ads))
}

#[cfg(test)]
mod tests {
    use http::Method;

    use crate::config::ServiceName;
    use crate::testing::check_cases;

    #[tokio::test]
    async fn bad_input_gets_a_json_4xx_with_its_code() {
        check_cases(
            ServiceName::Ad,
            &[
                (
                    Method::GET,
                    "/ads?category=weapons",
                    None,
                    400,
                    "unknown_category",
                ),
                (Method::GET, "/ads?limit=9", None, 400, "invalid_limit"),
            ],
        )
        .await;
    }
}
