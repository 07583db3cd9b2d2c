//! The services. Every one has the same shape: `mod.rs` builds its state and router,
//! `handlers.rs` answers requests and `store.rs` (where it has one) is its data; its wire
//! types and the client its callers use are its contract, in `crate::api::<name>`.
//! A service never imports another service's module, only `crate::api::…`.

pub mod accounting;
pub mod ad;
pub mod cart;
pub mod checkout;
pub mod currency;
pub mod fraud_detection;
pub mod frontend;
pub mod inventory;
pub mod load_generator;
pub mod notification;
pub mod payment;
pub mod product_catalog;
pub mod recommendation;
pub mod shipping;

use crate::config::ServiceName;
use crate::service::{Service, ServiceContext};
use crate::store::{Migration, Schema, Table};

/// The shop's relational schema, from the services that own its tables: which service owns
/// which table, and the numbered migrations, each statement taken from its owner's `store.rs`.
pub static SCHEMA: Schema = Schema {
    tables: &[
        Table {
            name: "products",
            owner: ServiceName::ProductCatalog,
            shared_with: &[
                (ServiceName::Inventory, "keeps the stock column"),
                (ServiceName::Recommendation, "reads categories"),
            ],
        },
        Table {
            name: "orders",
            owner: ServiceName::Checkout,
            shared_with: &[],
        },
        Table {
            name: "order_items",
            owner: ServiceName::Checkout,
            shared_with: &[(
                ServiceName::Recommendation,
                "reads what was bought together",
            )],
        },
        Table {
            name: "stock_reservations",
            owner: ServiceName::Inventory,
            shared_with: &[],
        },
        Table {
            name: "payments",
            owner: ServiceName::Payment,
            shared_with: &[],
        },
        Table {
            name: "outbox_events",
            owner: ServiceName::Checkout,
            shared_with: &[],
        },
        Table {
            name: "ledger_entries",
            owner: ServiceName::Accounting,
            shared_with: &[],
        },
        Table {
            name: "fraud_scores",
            owner: ServiceName::FraudDetection,
            shared_with: &[],
        },
        Table {
            name: "notifications",
            owner: ServiceName::Notification,
            shared_with: &[],
        },
    ],
    migrations: &[
        Migration {
            version: 1,
            name: "products, orders, order items",
            statements: &[
                product_catalog::store::CREATE_PRODUCTS,
                product_catalog::store::CREATE_PRODUCTS_CATEGORY_INDEX,
                checkout::store::CREATE_ORDERS,
                checkout::store::CREATE_ORDER_ITEMS,
                checkout::store::CREATE_ORDER_ITEMS_PRODUCT_INDEX,
            ],
        },
        Migration {
            version: 2,
            name: "stock reservations, shipping on orders",
            statements: &[
                inventory::store::CREATE_STOCK_RESERVATIONS,
                checkout::store::ADD_ORDER_SHIPPING[0],
                checkout::store::ADD_ORDER_SHIPPING[1],
            ],
        },
        Migration {
            version: 3,
            name: "payments, the attempt of each order",
            statements: &[
                payment::store::CREATE_PAYMENTS,
                payment::store::CREATE_PAYMENTS_UNSETTLED_INDEX,
                checkout::store::ADD_ORDER_IDEMPOTENCY[0],
                checkout::store::ADD_ORDER_IDEMPOTENCY[1],
            ],
        },
        Migration {
            version: 4,
            name: "order events: the outbox, the ledger, fraud scores, notifications",
            statements: &[
                checkout::store::CREATE_OUTBOX,
                checkout::store::CREATE_OUTBOX_PENDING_INDEX,
                accounting::store::CREATE_LEDGER_ENTRIES,
                accounting::store::CREATE_LEDGER_ORDER_INDEX,
                fraud_detection::store::CREATE_FRAUD_SCORES,
                fraud_detection::store::CREATE_FRAUD_SCORES_CUSTOMER_INDEX,
                notification::store::CREATE_NOTIFICATIONS,
            ],
        },
    ],
};

/// Builds the named service.
pub async fn build(ctx: ServiceContext) -> anyhow::Result<Service> {
    match ctx.name {
        ServiceName::LoadGenerator => load_generator::build(ctx).await,
        ServiceName::Frontend => frontend::build(ctx).await,
        ServiceName::Cart => cart::build(ctx).await,
        ServiceName::ProductCatalog => product_catalog::build(ctx).await,
        ServiceName::Checkout => checkout::build(ctx).await,
        ServiceName::Payment => payment::build(ctx).await,
        ServiceName::Currency => currency::build(ctx).await,
        ServiceName::Shipping => shipping::build(ctx).await,
        ServiceName::Ad => ad::build(ctx).await,
        ServiceName::Recommendation => recommendation::build(ctx).await,
        ServiceName::Inventory => inventory::build(ctx).await,
        ServiceName::Notification => notification::build(ctx).await,
        ServiceName::Accounting => accounting::build(ctx).await,
        ServiceName::FraudDetection => fraud_detection::build(ctx).await,
    }
}
