//! The shop's validated inputs: one type per rule, each with one parser that returns the
//! documented error code, and the limits they enforce. Wire types keep plain values (so a
//! malformed value is our 400, not a JSON rejection); handlers parse them here.

use crate::error::{ApiError, ApiResult, code};

/// The limits of the shop's inputs, in one place.
pub mod limits {
    /// Ids (carts, orders) are at most this many characters.
    pub const MAX_ID_LEN: usize = 64;
    /// The largest quantity of one product on a line (a cart caps its lines here too).
    pub const MAX_QUANTITY: i64 = 99;
    /// The most lines a cart, an order or a reservation holds.
    pub const MAX_LINES: usize = 50;
    /// The longest e-mail address accepted (RFC 5321's path limit).
    pub const MAX_EMAIL_LEN: usize = 254;
}

use limits::{MAX_EMAIL_LEN, MAX_ID_LEN, MAX_LINES, MAX_QUANTITY};

/// Exactly `len` upper-case ASCII letters (ISO codes).
fn is_upper_code(code: &str, len: usize) -> bool {
    code.len() == len && code.chars().all(|c| c.is_ascii_uppercase())
}

fn is_id(id: &str, extra: &[char]) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(&c))
}

/// A cart id: 1–64 letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CartId(String);

impl CartId {
    pub fn parse(id: &str) -> ApiResult<Self> {
        if is_id(id, &['-', '_']) {
            Ok(Self(id.to_owned()))
        } else {
            Err(ApiError::bad_request(
                code::INVALID_CART_ID,
                "cart id must be 1 to 64 letters, digits, '-' or '_'",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An order id: 1–64 letters, digits, `-` and `_` (the shop makes `ord_<hex>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderId(String);

impl OrderId {
    pub fn parse(id: &str) -> ApiResult<Self> {
        if is_id(id, &['-', '_']) {
            Ok(Self(id.to_owned()))
        } else {
            Err(ApiError::bad_request(
                code::INVALID_ORDER_ID,
                "order id is malformed",
            ))
        }
    }

    /// A new order id.
    pub fn generate() -> Self {
        Self(format!("ord_{}", uuid::Uuid::new_v4().simple()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One checkout attempt's key: 1–64 letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(key: &str) -> ApiResult<Self> {
        if is_id(key, &['-', '_']) {
            Ok(Self(key.to_owned()))
        } else {
            Err(ApiError::bad_request(
                code::INVALID_IDEMPOTENCY_KEY,
                "the idempotency key must be 1 to 64 letters, digits, '-' or '_'",
            ))
        }
    }

    /// A new key for an attempt that came without one.
    pub fn generate() -> Self {
        Self(format!("chk_{}", uuid::Uuid::new_v4().simple()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A product id: positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ProductId(i64);

impl ProductId {
    pub fn parse(id: i64) -> ApiResult<Self> {
        if id > 0 {
            Ok(Self(id))
        } else {
            Err(ApiError::bad_request(
                code::INVALID_PRODUCT_ID,
                "product_id must be positive",
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A quantity on a line: 1 to [`MAX_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(i64);

impl Quantity {
    pub fn parse(quantity: i64) -> ApiResult<Self> {
        if (1..=MAX_QUANTITY).contains(&quantity) {
            Ok(Self(quantity))
        } else {
            Err(ApiError::bad_request(
                code::INVALID_QUANTITY,
                format!("quantity must be 1 to {MAX_QUANTITY}"),
            ))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// An ISO 4217 currency code: three upper-case letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyCode(String);

impl CurrencyCode {
    pub fn parse(code: &str) -> ApiResult<Self> {
        if is_upper_code(code, 3) {
            Ok(Self(code.to_owned()))
        } else {
            Err(ApiError::bad_request(
                code::INVALID_CURRENCY,
                "currency must be a three-letter ISO 4217 code",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// An ISO 3166 alpha-2 country code: two upper-case letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(country: &str) -> ApiResult<Self> {
        if is_upper_code(country, 2) {
            Ok(Self(country.to_owned()))
        } else {
            Err(ApiError::bad_request(
                code::INVALID_COUNTRY,
                "country must be an ISO 3166 alpha-2 code such as US",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An e-mail address, as far as a shop checks one: at most [`MAX_EMAIL_LEN`] characters, one
/// `@` with something on each side.
pub fn is_email(email: &str) -> bool {
    email.len() <= MAX_EMAIL_LEN
        && email.matches('@').count() == 1
        && !email.starts_with('@')
        && !email.ends_with('@')
}

/// Lines of an order or a reservation (`what` names it in the message): 1 to
/// [`MAX_LINES`] of them, valid ids and quantities, each product once.
pub fn parse_lines(lines: &[(i64, i64)], what: &str) -> ApiResult<Vec<(ProductId, Quantity)>> {
    if lines.is_empty() || lines.len() > MAX_LINES {
        return Err(ApiError::bad_request(
            code::INVALID_ITEMS,
            format!("{what} has 1 to {MAX_LINES} lines"),
        ));
    }
    let mut parsed = Vec::with_capacity(lines.len());
    for (i, (product_id, quantity)) in lines.iter().enumerate() {
        let line = (ProductId::parse(*product_id)?, Quantity::parse(*quantity)?);
        if lines[..i].iter().any(|(p, _)| p == product_id) {
            return Err(ApiError::bad_request(
                code::DUPLICATE_PRODUCT,
                "each product appears on one line",
            ));
        }
        parsed.push(line);
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_of<T: std::fmt::Debug>(r: ApiResult<T>) -> String {
        r.expect_err("refused").code
    }

    #[test]
    fn ids_follow_one_rule() {
        assert!(CartId::parse("cart-1_a").is_ok());
        assert_eq!(code_of(CartId::parse("")), code::INVALID_CART_ID);
        assert_eq!(code_of(CartId::parse("a/b")), code::INVALID_CART_ID);
        assert_eq!(
            code_of(CartId::parse(&"a".repeat(65))),
            code::INVALID_CART_ID
        );
        assert!(OrderId::parse(OrderId::generate().as_str()).is_ok());
        assert!(OrderId::parse("ord-1").is_ok());
        assert_eq!(code_of(OrderId::parse("ord 1")), code::INVALID_ORDER_ID);
        assert_eq!(
            code_of(OrderId::parse(&"o".repeat(65))),
            code::INVALID_ORDER_ID
        );
    }

    #[test]
    fn numbers_and_codes() {
        assert_eq!(ProductId::parse(7).map(ProductId::get).ok(), Some(7));
        assert_eq!(code_of(ProductId::parse(0)), code::INVALID_PRODUCT_ID);
        assert_eq!(code_of(Quantity::parse(0)), code::INVALID_QUANTITY);
        assert_eq!(
            code_of(Quantity::parse(MAX_QUANTITY + 1)),
            code::INVALID_QUANTITY
        );
        assert!(Quantity::parse(MAX_QUANTITY).is_ok());
        assert!(CurrencyCode::parse("EUR").is_ok());
        assert_eq!(code_of(CurrencyCode::parse("eur")), code::INVALID_CURRENCY);
        assert_eq!(code_of(CurrencyCode::parse("EURO")), code::INVALID_CURRENCY);
        assert!(CountryCode::parse("DE").is_ok());
        assert_eq!(code_of(CountryCode::parse("de")), code::INVALID_COUNTRY);
        assert!(is_email("a@b.c"));
        assert!(!is_email("ab.c"));
        assert!(!is_email("@b.c"));
        assert!(!is_email("a@"));
        assert!(!is_email("a@b@c"));
        assert!(!is_email(&format!("{}@b", "a".repeat(MAX_EMAIL_LEN))));
    }

    #[test]
    fn lines_are_checked_together() {
        assert_eq!(
            parse_lines(&[(1, 2), (3, 1)], "an order")
                .map(|l| l.len())
                .ok(),
            Some(2)
        );
        assert_eq!(code_of(parse_lines(&[], "an order")), code::INVALID_ITEMS);
        let too_many: Vec<(i64, i64)> = (1..=(MAX_LINES as i64 + 1)).map(|i| (i, 1)).collect();
        assert_eq!(
            code_of(parse_lines(&too_many, "an order")),
            code::INVALID_ITEMS
        );
        assert_eq!(
            code_of(parse_lines(&[(1, 1), (1, 2)], "an order")),
            code::DUPLICATE_PRODUCT
        );
        assert_eq!(
            code_of(parse_lines(&[(0, 1)], "an order")),
            code::INVALID_PRODUCT_ID
        );
        assert_eq!(
            code_of(parse_lines(&[(1, 0)], "an order")),
            code::INVALID_QUANTITY
        );
    }
}
