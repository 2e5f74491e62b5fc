//! Layer 1, values: what every other layer passes around. Imports nothing of the crate.

pub mod ids;
pub mod money;
pub mod pii;
pub mod snippet;
pub mod text;
