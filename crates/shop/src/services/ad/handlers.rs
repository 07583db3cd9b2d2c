use axum::Json;
use rand::seq::IndexedRandom as _;

use crate::api::ad::model::{Ad, Ads, AdsQuery};
use crate::error::code;
use crate::error::{ApiError, ApiQuery, ApiResult};
use crate::store::catalog_seed::CATEGORIES;

struct Campaign {
    category: &'static str,
    headline: &'static str,
    text: &'static str,
    /// Where the ad leads, a path of the shop.
    target: &'static str,
}

const CAMPAIGNS: &[Campaign] = &[
    Campaign {
        category: "electronics",
        headline: "Hear only the music",
        text: "Noise-cancelling headphones, 20% off this week.",
        target: "/api/products/1",
    },
    Campaign {
        category: "electronics",
        headline: "More ports, less clutter",
        text: "The 7-port hub that powers your whole desk.",
        target: "/api/products/2",
    },
    Campaign {
        category: "electronics",
        headline: "Work from anywhere",
        text: "Laptops and accessories for the road.",
        target: "/api/products?category=electronics",
    },
    Campaign {
        category: "home-kitchen",
        headline: "Breakfast, upgraded",
        text: "Espresso machines and grinders for every counter.",
        target: "/api/products?category=home-kitchen",
    },
    Campaign {
        category: "home-kitchen",
        headline: "Cook like a pro",
        text: "Cast iron, knives and everything in between.",
        target: "/api/products?category=home-kitchen",
    },
    Campaign {
        category: "books",
        headline: "Your next favourite read",
        text: "Three paperbacks for the price of two.",
        target: "/api/products?category=books",
    },
    Campaign {
        category: "books",
        headline: "Learn something new",
        text: "Guides and handbooks for curious minds.",
        target: "/api/products?category=books",
    },
    Campaign {
        category: "clothing",
        headline: "Layers for every season",
        text: "Jackets and knits, new arrivals daily.",
        target: "/api/products?category=clothing",
    },
    Campaign {
        category: "sports-outdoors",
        headline: "Out the door in minutes",
        text: "Trail gear that packs light.",
        target: "/api/products?category=sports-outdoors",
    },
    Campaign {
        category: "sports-outdoors",
        headline: "Train smarter",
        text: "Weights, mats and bands for home workouts.",
        target: "/api/products?category=sports-outdoors",
    },
    Campaign {
        category: "toys-games",
        headline: "Game night, sorted",
        text: "Board games the whole family will fight over.",
        target: "/api/products?category=toys-games",
    },
    Campaign {
        category: "beauty",
        headline: "Skin care that works",
        text: "Dermatologist-tested essentials.",
        target: "/api/products?category=beauty",
    },
];

const MAX_ADS: usize = 5;

pub(super) async fn ads(ApiQuery(q): ApiQuery<AdsQuery>) -> ApiResult<Json<Ads>> {
    let limit = q.limit.unwrap_or(2);
    if !(1..=MAX_ADS).contains(&limit) {
        return Err(ApiError::bad_request(
            code::INVALID_LIMIT,
            format!("limit must be 1 to {MAX_ADS}"),
        ));
    }
    let pool: Vec<(usize, &Campaign)> = match q.category.as_deref().filter(|c| !c.is_empty()) {
        Some(c) if !CATEGORIES.contains(&c) => {
            return Err(ApiError::bad_request(
                code::UNKNOWN_CATEGORY,
                format!("no category {c:?}"),
            ));
        }
        Some(c) => CAMPAIGNS
            .iter()
            .enumerate()
            .filter(|(_, a)| a.category == c)
            .collect(),
        None => CAMPAIGNS.iter().enumerate().collect(),
    };
    let chosen: Vec<Ad> = pool
        .choose_multiple(&mut rand::rng(), limit)
        .map(|(i, c)| Ad {
            id: format!("ad-{:03}", i + 1),
            category: c.category.to_owned(),
            headline: c.headline.to_owned(),
            text: c.text.to_owned(),
            target: c.target.to_owned(),
        })
        .collect();
    Ok(Json(Ads { ads: chosen }))
}
