//! `buyer.preferences`: a buyer opts in or out of optional email.

use serde::Deserialize;

use super::policy::OptionalEmail;
use crate::mechanisms::webhook::Rejection;
use crate::values::ids::is_identifier;

/// `data` of a `buyer.preferences` event.
#[derive(Debug, Clone, Deserialize)]
pub struct PreferencesData {
    pub buyer_id: String,
    /// `opted_in` or `opted_out`.
    pub optional_email: OptionalEmail,
}

impl PreferencesData {
    pub fn validate(self) -> Result<Self, Rejection> {
        if is_identifier(&self.buyer_id) {
            Ok(self)
        } else {
            Err(
                Rejection::bad_request("invalid_field", "buyer_id must be 1 to 64 letters, digits, '_' or '-'")
                    .on_field("data.buyer_id"),
            )
        }
    }
}
