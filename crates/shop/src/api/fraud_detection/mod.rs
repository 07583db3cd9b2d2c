//! fraud-detection's contract: its wire types and the client the tools use.

pub mod client;
pub mod model;
