//! currency's contract: its wire types and the client its callers use.

pub mod client;
pub mod model;
