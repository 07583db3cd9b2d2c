use std::sync::Arc;

use axum::Json;
use axum::extract::State;

use super::model::{RecommendationQuery, Recommended, Strategy};
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::store::catalog_seed::CATEGORIES;

const MAX_LIMIT: i64 = 20;

pub(super) async fn recommend(
    State(s): State<Arc<super::State>>,
    ApiQuery(q): ApiQuery<RecommendationQuery>,
) -> ApiResult<Json<Recommended>> {
    let limit = q.limit.unwrap_or(4);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "invalid_limit",
            format!("limit must be 1 to {MAX_LIMIT}"),
        ));
    }
    let (category, exclude, mut products, mut strategies) = match q.product_id {
        Some(id) if id <= 0 => {
            return Err(ApiError::bad_request(
                "invalid_product_id",
                "product_id must be positive",
            ));
        }
        Some(id) => {
            let category = s.store.category_of(id).await?.ok_or_else(|| {
                ApiError::not_found("product", format!("no product with id {id}"))
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
                    "unknown_category",
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
