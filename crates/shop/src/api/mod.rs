//! The services' contracts: each service's wire types (`model`) and the client its callers
//! use (`client`). Callers — other services, the load engine, the CLI — depend on these,
//! never on a service's own module.

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
