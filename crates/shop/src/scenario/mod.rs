//! The scenario engine: named faults that switch on and off live, reach every service (and
//! every replica, through Redis), change level over time, and leave a ground-truth record of
//! every change.

pub mod api;
pub mod catalogue;
pub mod expectation;
pub mod faults;
pub mod markers;
pub mod state;
pub mod store;

pub use catalogue::{Definition, Scenario};
pub use faults::{Fault, Faults};
pub use state::{Activation, Change, Command, State};
pub use store::ScenarioStore;
