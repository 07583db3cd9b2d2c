use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use crate::api::recommendation::model::{RecommendationQuery, Recommended, Strategy};
use crate::error::code;
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::store::catalog_seed::CATEGORIES;
use crate::types::ProductId;

const MAX_LIMIT: i64 = 20;

pub(super) async fn recommend(
    State(s): State<Arc<super::State>>,
    ApiQuery(q): ApiQuery<RecommendationQuery>,
) -> ApiResult<Json<Recommended>> {
    let limit = q.limit.unwrap_or(4);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            code::INVALID_LIMIT,
            format!("limit must be 1 to {MAX_LIMIT}"),
        ));
    }
    let (category, exclude, mut products, mut strategies) = match q.product_id {
        Some(id) => {
            let id = ProductId::parse(id)?.get();
            let category = s.store.category_of(id).await?.ok_or_else(|| {
                ApiError::not_found(code::PRODUCT_NOT_FOUND, format!("no product with id {id}"))
            })?;
            let together = s.store.bought_together(id, limit).await?;
            let strategies = if together.is_empty() {
                vec![]
            } else {
                vec![Strategy::BoughtTogether]
            };
            (category, id, together, strategies)
        }
        None => {
            let category = q.category.unwrap_or_else(|| "electronics".to_owned());
            if !CATEGORIES.contains(&category.as_str()) {
                return Err(ApiError::bad_request(
                    code::UNKNOWN_CATEGORY,
                    format!("no category {category:?}"),
                ));
            }
            (category, 0, Vec::new(), Vec::new())
        }
    };
    if (products.len() as i64) < limit {
        let popular = s
            .store
            .popular_in_category(&category, exclude, limit)
            .await?;
        let before = products.len();
        for p in popular {
            if (products.len() as i64) < limit && !products.iter().any(|x| x.id == p.id) {
                products.push(p);
            }
        }
        if products.len() > before {
            strategies.push(Strategy::PopularInCategory);
        }
    }
    Ok(Json(Recommended {
        product_id: q.product_id,
        products,
        strategies,
    }))
}
