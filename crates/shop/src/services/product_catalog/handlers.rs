use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use super::store::{Filter, Plan};
use crate::api::product_catalog::model::{
    ListQuery, Product, ProductList, RecommendationQuery, Recommendations, SearchQuery,
};
use crate::error::code;
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use crate::scenario::Scenario;
use crate::scenario::catalogue::BLACKFRIDAY_STEPS;
use crate::types::ProductId;
use http::StatusCode;
use std::time::Duration;

const MAX_LIMIT: i64 = 100;
const DEFAULT_LIMIT: i64 = 20;
const MAX_IDS: usize = 50;
/// Recommendations come from this category when no product is given.
const DEFAULT_CATEGORY: &str = "electronics";

fn limit(l: Option<i64>, default: i64) -> ApiResult<i64> {
    match l {
        None => Ok(default),
        Some(l) if (1..=MAX_LIMIT).contains(&l) => Ok(l),
        Some(_) => Err(ApiError::bad_request(
            code::INVALID_LIMIT,
            format!("limit must be 1 to {MAX_LIMIT}"),
        )),
    }
}

fn parse_ids(ids: &str) -> ApiResult<Vec<i64>> {
    let parsed: Result<Vec<i64>, _> = ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<i64>())
        .collect();
    match parsed {
        Ok(v) if !v.is_empty() && v.len() <= MAX_IDS && v.iter().all(|id| *id > 0) => Ok(v),
        _ => Err(ApiError::bad_request(
            code::INVALID_IDS,
            format!("ids must be 1 to {MAX_IDS} positive integers separated by commas"),
        )),
    }
}

pub(super) async fn list(
    State(s): State<Arc<super::State>>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<Json<ProductList>> {
    let ids = q
        .ids
        .as_deref()
        .map(parse_ids)
        .transpose()?
        .unwrap_or_default();
    for p in [q.min_price_cents, q.max_price_cents].into_iter().flatten() {
        if p < 0 {
            return Err(ApiError::bad_request(
                code::INVALID_PRICE,
                "prices must not be negative",
            ));
        }
    }
    let offset = q.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::bad_request(
            code::INVALID_OFFSET,
            "offset must not be negative",
        ));
    }
    let filter = Filter {
        category: q.category.filter(|c| !c.is_empty()),
        min_price_cents: q.min_price_cents,
        max_price_cents: q.max_price_cents,
        limit: limit(
            q.limit,
            if ids.is_empty() {
                DEFAULT_LIMIT
            } else {
                ids.len() as i64
            },
        )?,
        ids,
        offset,
    };
    let plan = if let Some(f) = s.faults.active(Scenario::NPlusOne) {
        f.mark();
        Plan::OneQueryPerProduct
    } else if let Some(f) = s.faults.active(Scenario::SlowQuery) {
        f.mark();
        Plan::Expensive {
            scanned_rows: 100_000 * i64::from(f.level),
        }
    } else {
        Plan::Normal
    };
    let products = s.products.list(&filter, plan).await?;
    Ok(Json(ProductList {
        count: products.len(),
        products,
    }))
}

pub(super) async fn get(
    State(s): State<Arc<super::State>>,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<Product>> {
    s.products.get(id).await?.map(Json).ok_or_else(|| {
        ApiError::not_found(code::PRODUCT_NOT_FOUND, format!("no product with id {id}"))
    })
}

pub(super) async fn search(
    State(s): State<Arc<super::State>>,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<Json<ProductList>> {
    let text = q.q.trim();
    if text.is_empty() || text.len() > 100 {
        return Err(ApiError::bad_request(
            code::INVALID_QUERY,
            "q must be 1 to 100 characters",
        ));
    }
    let products = s
        .products
        .search(text, limit(q.limit, DEFAULT_LIMIT)?)
        .await?;
    Ok(Json(ProductList {
        count: products.len(),
        products,
    }))
}

/// The route the Black Friday story degrades: the recommendation service does the work.
pub(super) async fn recommendations(
    State(s): State<Arc<super::State>>,
    ApiQuery(q): ApiQuery<RecommendationQuery>,
) -> ApiResult<Json<Recommendations>> {
    let limit = limit(q.limit, 4)?;
    if let Some(fault) = s.faults.active(Scenario::Blackfriday) {
        let (_, delay_ms, failure_rate) = BLACKFRIDAY_STEPS[usize::from(fault.level)];
        if delay_ms > 0 || failure_rate > 0.0 {
            fault.mark();
        }
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        if fault.roll(failure_rate) {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code::RECOMMENDATIONS_OVERLOADED,
                "the recommendation engine is overloaded",
            ));
        }
    }
    let recommended = match q.product_id {
        Some(id) => {
            let id = ProductId::parse(id)?.get();
            s.recommendation.for_product(id, limit).await?
        }
        None => {
            let category = q
                .category
                .as_deref()
                .filter(|c| !c.is_empty())
                .unwrap_or(DEFAULT_CATEGORY);
            s.recommendation.for_category(category, limit).await?
        }
    };
    Ok(Json(Recommendations {
        product_id: q.product_id,
        recommendations: recommended.products,
    }))
}
