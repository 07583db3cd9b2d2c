//! Orders and their items, written in one transaction at the catalogue's current prices.

use telemetry::DbOperation;

use crate::api::checkout::events::{ORDER_CANCELLED, ORDER_PLACED, OrderEvent};
use crate::api::checkout::model::{Order, OrderItem, OrderLine, PlaceOrder};
use crate::store::{ConstraintKind, SqlDatabase, StoreError};

/// Orders (migration 1).
pub const CREATE_ORDERS: &str = "CREATE TABLE IF NOT EXISTS orders (
            id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            customer_email TEXT,
            session_id TEXT,
            currency TEXT NOT NULL,
            total_cents BIGINT NOT NULL CHECK (total_cents >= 0),
            item_count BIGINT NOT NULL CHECK (item_count > 0),
            payment_transaction_id TEXT NOT NULL,
            card_last4 TEXT,
            created_at TEXT NOT NULL
        )";
/// Their lines, at the price paid (migration 1).
pub const CREATE_ORDER_ITEMS: &str = "CREATE TABLE IF NOT EXISTS order_items (
            order_id TEXT NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
            product_id BIGINT NOT NULL REFERENCES products (id),
            quantity BIGINT NOT NULL CHECK (quantity > 0),
            unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents > 0),
            PRIMARY KEY (order_id, product_id)
        )";
pub const CREATE_ORDER_ITEMS_PRODUCT_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS order_items_product_idx ON order_items (product_id)";
/// Shipping on orders (migration 2).
pub const ADD_ORDER_SHIPPING: [&str; 2] = [
    "ALTER TABLE orders ADD COLUMN shipping_cents BIGINT NOT NULL DEFAULT 0",
    "ALTER TABLE orders ADD COLUMN shipping_country TEXT",
];

/// The attempt an order belongs to, and order status (migration 3).
pub const ADD_ORDER_IDEMPOTENCY: [&str; 2] = [
    "ALTER TABLE orders ADD COLUMN idempotency_key TEXT",
    "CREATE UNIQUE INDEX IF NOT EXISTS orders_idempotency_idx ON orders (idempotency_key)",
];

/// The transactional outbox (migration 4): each order event is written in its order's
/// transaction and published by the relay afterwards, with the trace context it was written
/// in.
pub const CREATE_OUTBOX: &str = "CREATE TABLE IF NOT EXISTS outbox_events (
            id TEXT PRIMARY KEY,
            routing_key TEXT NOT NULL,
            order_id TEXT NOT NULL,
            payload TEXT NOT NULL,
            trace_context TEXT NOT NULL,
            created_at_ms BIGINT NOT NULL,
            published_at_ms BIGINT
        )";
pub const CREATE_OUTBOX_PENDING_INDEX: &str = "CREATE INDEX IF NOT EXISTS outbox_events_pending_idx \
     ON outbox_events (created_at_ms) WHERE published_at_ms IS NULL";

/// An event waiting in the outbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingEvent {
    pub id: String,
    pub routing_key: String,
    pub payload: String,
    pub trace_context: String,
    pub created_at_ms: i64,
}

/// Trace context headers as stored with an event.
pub type TraceContext = telemetry::messaging::Headers;

/// Why an order was refused before anything was written.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    #[error("no product with id {0}")]
    UnknownProduct(i64),
    #[error("the order totals {expected} cents but {paid} cents were paid")]
    AmountMismatch { expected: i64, paid: i64 },
    /// An order of the same attempt (idempotency key) exists: it is the answer.
    #[error("order {0} already holds this attempt")]
    SameAttempt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: String,
    status: String,
    currency: String,
    total_cents: i64,
    shipping_cents: i64,
    shipping_country: Option<String>,
    item_count: i64,
    customer_email: Option<String>,
    session_id: Option<String>,
    payment_transaction_id: String,
    card_last4: Option<String>,
    created_at: String,
}

#[derive(Clone)]
pub struct OrderStore {
    sql: SqlDatabase,
}

/// The order's lines at `prices` and its total with shipping, checked against what was paid.
pub fn total_of(
    req: &PlaceOrder,
    prices: &[(i64, i64)],
) -> Result<(Vec<OrderItem>, i64), PlaceError> {
    let mut items = Vec::with_capacity(req.items.len());
    for OrderLine {
        product_id,
        quantity,
    } in &req.items
    {
        let Some((_, price)) = prices.iter().find(|(id, _)| id == product_id) else {
            return Err(PlaceError::UnknownProduct(*product_id));
        };
        items.push(OrderItem {
            product_id: *product_id,
            quantity: *quantity,
            unit_price_cents: *price,
        });
    }
    let shipping_cents = req.shipping.as_ref().map(|s| s.cost_cents).unwrap_or(0);
    let total = items
        .iter()
        .map(|i| i.quantity * i.unit_price_cents)
        .sum::<i64>()
        + shipping_cents;
    if total != req.payment.amount_cents {
        return Err(PlaceError::AmountMismatch {
            expected: total,
            paid: req.payment.amount_cents,
        });
    }
    Ok((items, total))
}

impl OrderStore {
    pub fn new(sql: SqlDatabase) -> Self {
        Self { sql }
    }

    /// Writes the order: its lines and total as [`total_of`] priced them.
    ///
    /// On PostgreSQL the transaction's statements get `budget` as their timeout, so a stalled
    /// database cannot hold an order past its caller's deadline.
    pub async fn place(
        &self,
        order_id: &str,
        created_at: &str,
        req: &PlaceOrder,
        (items, total): (Vec<OrderItem>, i64),
        budget: Option<std::time::Duration>,
        trace_context: &TraceContext,
    ) -> Result<Order, PlaceError> {
        let shipping_cents = req.shipping.as_ref().map(|s| s.cost_cents).unwrap_or(0);
        let shipping_country = req.shipping.as_ref().map(|s| s.country.clone());
        let item_count: i64 = items.iter().map(|i| i.quantity).sum();
        let mut tx = self.sql.begin().await?;
        if let Some(budget) = budget {
            self.sql.limit_statements(&mut tx, budget).await?;
        }

        const INSERT_ORDER: &str = "INSERT INTO orders (id, status, customer_email, session_id, currency, \
             total_cents, item_count, payment_transaction_id, card_last4, created_at, shipping_cents, shipping_country, \
             idempotency_key) \
             VALUES ($1, 'placed', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
        self.sql
            .run(
                DbOperation::on("INSERT", "orders", INSERT_ORDER),
                sqlx::query(INSERT_ORDER)
                    .bind(order_id.to_owned())
                    .bind(req.customer_email.clone())
                    .bind(req.session_id.clone())
                    .bind(req.currency.clone())
                    .bind(total)
                    .bind(item_count)
                    .bind(req.payment.transaction_id.clone())
                    .bind(req.payment.card_last4.clone())
                    .bind(created_at.to_owned())
                    .bind(shipping_cents)
                    .bind(shipping_country.clone())
                    .bind(req.idempotency_key.clone())
                    .execute(&mut *tx),
            )
            .await
            .map_err(|e| match (e, &req.idempotency_key) {
                (
                    StoreError::Constraint {
                        kind: ConstraintKind::Unique,
                        ..
                    },
                    Some(key),
                ) => PlaceError::SameAttempt(key.clone()),
                (e, _) => e.into(),
            })?;

        const INSERT_ITEM: &str = "INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents) \
             VALUES ($1, $2, $3, $4)";
        for item in &items {
            self.sql
                .run(
                    DbOperation::on("INSERT", "order_items", INSERT_ITEM),
                    sqlx::query(INSERT_ITEM)
                        .bind(order_id.to_owned())
                        .bind(item.product_id)
                        .bind(item.quantity)
                        .bind(item.unit_price_cents)
                        .execute(&mut *tx),
                )
                .await?;
        }
        let order = Order {
            id: order_id.to_owned(),
            status: "placed".to_owned(),
            currency: req.currency.clone(),
            total_cents: total,
            shipping_cents,
            shipping_country,
            item_count,
            customer_email: req.customer_email.clone(),
            session_id: req.session_id.clone(),
            payment_transaction_id: req.payment.transaction_id.clone(),
            card_last4: req.payment.card_last4.clone(),
            created_at: created_at.to_owned(),
            items,
        };
        self.add_event(&mut tx, &order, ORDER_PLACED, trace_context)
            .await?;
        self.sql.commit(tx).await?;
        Ok(order)
    }

    /// Writes `order`'s event into the outbox, in the order's transaction.
    async fn add_event(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        order: &Order,
        event_type: &'static str,
        trace_context: &TraceContext,
    ) -> Result<(), StoreError> {
        let now = crate::scenario::state::now_ms();
        let event = OrderEvent::of(order, event_type, now);
        let payload = serde_json::to_string(&event).unwrap_or_default();
        let context = serde_json::to_string(trace_context).unwrap_or_else(|_| "[]".to_owned());
        const SQL: &str = "INSERT INTO outbox_events (id, routing_key, order_id, payload, trace_context, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)";
        self.sql
            .run(
                DbOperation::on("INSERT", "outbox_events", SQL),
                sqlx::query(SQL)
                    .bind(event.event_id.clone())
                    .bind(event_type)
                    .bind(order.id.clone())
                    .bind(payload)
                    .bind(context)
                    .bind(now)
                    .execute(&mut **tx),
            )
            .await?;
        Ok(())
    }

    /// The oldest events not yet published. Not traced: the relay polls this while idle, and
    /// each event it finds is published in a span of the trace it was written in.
    pub async fn pending_events(&self, limit: i64) -> Result<Vec<PendingEvent>, StoreError> {
        const SQL: &str = "SELECT id, routing_key, payload, trace_context, created_at_ms FROM outbox_events \
             WHERE published_at_ms IS NULL ORDER BY created_at_ms LIMIT $1";
        self.sql
            .poll(
                sqlx::query_as::<_, PendingEvent>(SQL)
                    .bind(limit)
                    .fetch_all(self.sql.pool()),
            )
            .await
    }

    /// How many events wait in the outbox (not traced, like [`pending_events`](Self::pending_events)).
    pub async fn outbox_backlog(&self) -> Result<i64, StoreError> {
        const SQL: &str = "SELECT COUNT(*) FROM outbox_events WHERE published_at_ms IS NULL";
        let (n,): (i64,) = self
            .sql
            .poll(sqlx::query_as(SQL).fetch_one(self.sql.pool()))
            .await?;
        Ok(n)
    }

    /// Marks an event published.
    pub async fn mark_published(&self, id: &str, at_ms: i64) -> Result<(), StoreError> {
        const SQL: &str = "UPDATE outbox_events SET published_at_ms = $1 WHERE id = $2";
        self.sql
            .run(
                DbOperation::on("UPDATE", "outbox_events", SQL),
                sqlx::query(SQL)
                    .bind(at_ms)
                    .bind(id.to_owned())
                    .execute(self.sql.pool()),
            )
            .await?;
        Ok(())
    }

    pub async fn get(&self, order_id: &str) -> Result<Option<Order>, StoreError> {
        const ORDER: &str = "SELECT id, status, currency, total_cents, shipping_cents, shipping_country, item_count, customer_email, session_id, \
             payment_transaction_id, card_last4, created_at FROM orders WHERE id = $1";
        let Some(row) = self
            .sql
            .run(
                DbOperation::on("SELECT", "orders", ORDER),
                sqlx::query_as::<_, OrderRow>(ORDER)
                    .bind(order_id.to_owned())
                    .fetch_optional(self.sql.pool()),
            )
            .await?
        else {
            return Ok(None);
        };
        const ITEMS: &str = "SELECT product_id, quantity, unit_price_cents FROM order_items \
             WHERE order_id = $1 ORDER BY product_id";
        let items = self
            .sql
            .run(
                DbOperation::on("SELECT", "order_items", ITEMS),
                sqlx::query_as::<_, OrderItem>(ITEMS)
                    .bind(order_id.to_owned())
                    .fetch_all(self.sql.pool()),
            )
            .await?;
        Ok(Some(Order {
            id: row.id,
            status: row.status,
            currency: row.currency,
            total_cents: row.total_cents,
            shipping_cents: row.shipping_cents,
            shipping_country: row.shipping_country,
            item_count: row.item_count,
            customer_email: row.customer_email,
            session_id: row.session_id,
            payment_transaction_id: row.payment_transaction_id,
            card_last4: row.card_last4,
            created_at: row.created_at,
            items,
        }))
    }

    /// The id of the order an attempt (idempotency key) made, if any.
    pub async fn by_key(&self, key: &str) -> Result<Option<String>, StoreError> {
        const SQL: &str = "SELECT id FROM orders WHERE idempotency_key = $1";
        let row: Option<(String,)> = self
            .sql
            .run(
                DbOperation::on("SELECT", "orders", SQL),
                sqlx::query_as(SQL)
                    .bind(key.to_owned())
                    .fetch_optional(self.sql.pool()),
            )
            .await?;
        Ok(row.map(|(id,)| id))
    }

    /// The order a charge paid for, and its status.
    pub async fn by_transaction(
        &self,
        transaction_id: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        const SQL: &str = "SELECT id, status FROM orders WHERE payment_transaction_id = $1";
        let row: Option<(String, String)> = self
            .sql
            .run(
                DbOperation::on("SELECT", "orders", SQL),
                sqlx::query_as(SQL)
                    .bind(transaction_id.to_owned())
                    .fetch_optional(self.sql.pool()),
            )
            .await?;
        Ok(row)
    }

    /// Cancels a placed order (its charge was refunded) and writes its `order.cancelled`
    /// event, in one transaction; `false` when it was not placed.
    pub async fn cancel(
        &self,
        order_id: &str,
        trace_context: &TraceContext,
    ) -> Result<bool, StoreError> {
        let Some(mut order) = self.get(order_id).await? else {
            return Ok(false);
        };
        let mut tx = self.sql.begin().await?;
        const SQL: &str =
            "UPDATE orders SET status = 'cancelled' WHERE id = $1 AND status = 'placed'";
        let done = self
            .sql
            .run(
                DbOperation::on("UPDATE", "orders", SQL),
                sqlx::query(SQL).bind(order_id.to_owned()).execute(&mut *tx),
            )
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        order.status = "cancelled".to_owned();
        self.add_event(&mut tx, &order, ORDER_CANCELLED, trace_context)
            .await?;
        self.sql.commit(tx).await?;
        Ok(true)
    }
}
