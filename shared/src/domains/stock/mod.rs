//! Stock: sellers' counts and restocks, how each SKU stands, and alerts raised once per problem.

pub mod adjustment;
pub mod alerts;
pub mod assess;
pub mod change;
pub mod inventory;
pub mod records;
