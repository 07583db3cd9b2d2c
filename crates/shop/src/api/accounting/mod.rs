//! accounting's contract: its wire types and the client the tools use to check the ledger.

pub mod client;
pub mod model;
