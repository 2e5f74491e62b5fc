//! The sellers table: one item per seller, keyed by `seller_id`, holding its alert contact
//! (`name`, `email`, `locale`) and its settings (see [`SellerSettings::of`]).

use super::settings::SellerSettings;
use crate::domains::email::{Recipient, RecipientRole};
use crate::storage::{Item, Storage, StoreError, Table, Write, text};
use crate::values::pii::EmailAddress;

/// The partition every seller's item carries in the `SellersListed` index: how the weekly
/// report finds every seller without a scan.
pub const LISTED: &str = "seller";

/// Where a seller's alerts are sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SellerContact {
    pub seller_id: String,
    pub name: String,
    pub email: EmailAddress,
    pub locale: String,
}

impl SellerContact {
    /// The seller as an email's recipient.
    pub fn recipient(&self) -> Recipient {
        Recipient {
            role: RecipientRole::Seller,
            id: self.seller_id.clone(),
            name: self.name.clone(),
            email: self.email.clone(),
        }
    }
}

/// The contact a seller item holds, if it holds one.
pub fn contact_of(seller_id: &str, item: &Item) -> Option<SellerContact> {
    Some(SellerContact {
        seller_id: seller_id.to_owned(),
        name: text(item, "name").to_owned(),
        email: EmailAddress::parse(text(item, "email")).ok()?,
        locale: text(item, "locale").to_owned(),
    })
}

/// Where the seller's alerts go, if it told us.
pub async fn seller_contact(store: &impl Storage, seller_id: &str) -> Result<Option<SellerContact>, StoreError> {
    let item = store.get(Table::Sellers, seller_id).await?;
    Ok(item.and_then(|item| contact_of(seller_id, &item)))
}

/// The seller's settings (the defaults for a seller never heard of) and contact.
pub async fn seller_settings(
    store: &impl Storage,
    seller_id: &str,
) -> Result<(SellerSettings, Option<SellerContact>), StoreError> {
    let item = store.get(Table::Sellers, seller_id).await?;
    let contact = item.as_ref().and_then(|item| contact_of(seller_id, item));
    Ok((SellerSettings::of(item.as_ref()), contact))
}

/// The seller's contact, leaving its other settings as they are.
pub fn update_contact(contact: &SellerContact) -> Write {
    Write::update(Table::Sellers, &contact.seller_id)
        .set("name", contact.name.clone())
        .set("email", contact.email.expose())
        .set("locale", contact.locale.clone())
        .set("listed", LISTED)
}
