//! The checkout saga's safety net. The frontend refunds a charge whose order failed, but a
//! refund can fail too (payment unreachable, the process stopping), and an order can commit
//! after its caller gave up (a stalled database). So checkout settles every charge the gateway
//! holds once its checkout has surely ended:
//!
//! | the charge | its order | done |
//! |---|---|---|
//! | charged | placed | settled: the order stands |
//! | charged | none, or cancelled | refunded; settled once no late order can appear |
//! | refunded | placed | the order is cancelled and its stock released; settled |
//! | refunded | none, or cancelled | settled once no late order can appear |
//!
//! In no state is a card charged without an order, or an order placed without a charge.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::baggage::BaggageExt as _;
use tokio::sync::watch;
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use crate::api::payment::model::{ChargeRecord, ChargeStatus, RefundRequest};
use crate::error::ApiError;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fixes {
    pub settled: usize,
    pub refunded: usize,
    pub cancelled: usize,
}

/// Passes until shutdown, a few each `after`.
pub(super) async fn run(
    state: Arc<super::State>,
    after: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let every = (after / 3).clamp(Duration::from_millis(500), Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let span = tracing::info_span!(
            "reconcile charges",
            otel.name = "reconcile charges",
            otel.kind = "internal",
        );
        let _ = span.set_parent(
            opentelemetry::Context::new().with_baggage([KeyValue::new("traffic.type", "baseline")]),
        );
        if let Err(e) = pass(&state, after).instrument(span).await {
            tracing::warn!(event.name = "checkout.reconcile_failed", exception.type = std::any::type_name_of_val(&e), exception.message = %e, "reconciliation pass failed; retried on the next");
        }
    }
}

/// One pass over the charges unsettled for longer than `after`.
pub(super) async fn pass(state: &super::State, after: Duration) -> Result<Fixes, ApiError> {
    let now = crate::scenario::state::now_ms();
    let after_ms = i64::try_from(after.as_millis()).unwrap_or(i64::MAX);
    let unsettled = state
        .payment
        .unsettled(now.saturating_sub(after_ms))
        .await?
        .charges;
    let mut fixes = Fixes::default();
    for charge in unsettled {
        // A late order can no longer appear: its transaction would have timed out long ago.
        let final_after = charge
            .created_at_ms
            .saturating_add(after_ms.saturating_mul(3))
            < now;
        settle_one(state, &charge, final_after, &mut fixes).await?;
    }
    if fixes != Fixes::default() {
        tracing::info!(
            event.name = "checkout.reconciled",
            checkout.reconcile.settled = fixes.settled,
            checkout.reconcile.refunded = fixes.refunded,
            checkout.reconcile.cancelled = fixes.cancelled,
            "charges reconciled"
        );
    }
    Ok(fixes)
}

async fn settle_one(
    state: &super::State,
    charge: &ChargeRecord,
    final_after: bool,
    fixes: &mut Fixes,
) -> Result<(), ApiError> {
    let txn = &charge.transaction_id;
    let order = state.orders.by_transaction(txn).await?;
    let placed = order.as_ref().filter(|(_, status)| status == "placed");
    match (charge.status, placed) {
        (ChargeStatus::Charged, Some(_)) => {}
        (ChargeStatus::Charged, None) => {
            state
                .payment
                .refund(&RefundRequest {
                    transaction_id: txn.clone(),
                    amount_cents: charge.amount_cents,
                    reason: "no_order".to_owned(),
                })
                .await?;
            tracing::warn!(event.name = "checkout.orphan_charge_refunded", payment.transaction_id = %txn, "a charge without an order was refunded");
            fixes.refunded += 1;
            if !final_after {
                return Ok(());
            }
        }
        (ChargeStatus::Refunded, Some((order_id, _))) => {
            let context = telemetry::messaging::current_context_headers(&state.telemetry);
            if state.orders.cancel(order_id, &context).await? {
                state.relay_wake.notify_one();
                if let Err(e) = state.inventory.release(order_id).await {
                    tracing::warn!(event.name = "checkout.stock_release_pending", order.id = %order_id, exception.type = std::any::type_name_of_val(&e), exception.message = %e, "cancelled order's stock not released yet");
                    return Ok(());
                }
                tracing::warn!(event.name = "checkout.order_cancelled", order.id = %order_id, payment.transaction_id = %txn, "an order whose charge was refunded was cancelled");
                fixes.cancelled += 1;
            }
        }
        (ChargeStatus::Refunded, None) => {
            if !final_after {
                return Ok(());
            }
        }
    }
    state.payment.settle(txn).await?;
    fixes.settled += 1;
    Ok(())
}
