//! The back office's functions: their names, which event types each takes (the one table
//! that the functions, `cargo xtask send` and the tests all read, so an event type cannot be
//! routed two ways), and the keys each owns in the tables they share.

/// The back office's Lambda functions, by their crate and binary names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Function {
    OrderIntake,
    StockAlerts,
    ReviewMonitor,
    RefundProcessor,
    BuyerMessaging,
    SellerHealth,
    BuyerPrivacy,
}

const EVENT_TYPES: &[(&str, Function)] = &[
    ("order.created", Function::OrderIntake),
    ("order.cancelled", Function::OrderIntake),
    ("order.shipped", Function::OrderIntake),
    ("order.delivered", Function::OrderIntake),
    ("inventory.adjusted", Function::StockAlerts),
    // Stock alerts keeps the sellers table (contacts came with counts before settings existed):
    // one writer, and the others read.
    ("seller.updated", Function::StockAlerts),
    ("review.created", Function::ReviewMonitor),
    ("review.updated", Function::ReviewMonitor),
    ("review.removed", Function::ReviewMonitor),
    ("refund.requested", Function::RefundProcessor),
    ("refund.decided", Function::RefundProcessor),
    // A claim's refunds are the refund ledger's entries: one writer of the ledger.
    ("claim.opened", Function::RefundProcessor),
    ("claim.responded", Function::RefundProcessor),
    ("claim.decided", Function::RefundProcessor),
    ("claim.withdrawn", Function::RefundProcessor),
    ("message.received", Function::BuyerMessaging),
    ("message.replied", Function::BuyerMessaging),
    ("buyer.preferences", Function::BuyerMessaging),
    ("buyer.erasure_requested", Function::BuyerPrivacy),
    ("buyer.export_requested", Function::BuyerPrivacy),
    ("seller.closed", Function::BuyerPrivacy),
];

impl Function {
    pub const ALL: [Function; 7] = [
        Function::OrderIntake,
        Function::StockAlerts,
        Function::ReviewMonitor,
        Function::RefundProcessor,
        Function::BuyerMessaging,
        Function::SellerHealth,
        Function::BuyerPrivacy,
    ];

    /// The crate, binary and local Function URL name.
    pub fn name(self) -> &'static str {
        match self {
            Function::OrderIntake => "order-intake",
            Function::StockAlerts => "stock-alerts",
            Function::ReviewMonitor => "review-monitor",
            Function::RefundProcessor => "refund-processor",
            Function::BuyerMessaging => "buyer-messaging",
            Function::SellerHealth => "seller-health",
            Function::BuyerPrivacy => "buyer-privacy",
        }
    }

    /// The function whose Function URL takes `event_type`, if the marketplace sends such events.
    pub fn for_event_type(event_type: &str) -> Option<Function> {
        EVENT_TYPES
            .iter()
            .find(|(name, _)| *name == event_type)
            .map(|(_, function)| *function)
    }

    pub fn event_types(self) -> impl Iterator<Item = &'static str> {
        EVENT_TYPES
            .iter()
            .filter(move |(_, function)| *function == self)
            .map(|(name, _)| *name)
    }

    /// A key this function owns: its name, then `parts`, joined by `#`
    /// (`order-intake#ord_1#accepted`). Idempotency, outbox and dedupe keys are all built
    /// here, and start with their owner, which the template's `dynamodb:LeadingKeys`
    /// conditions check.
    pub fn key(self, parts: &[&str]) -> String {
        let mut key = self.name().to_owned();
        for part in parts {
            key.push('#');
            key.push_str(part);
        }
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_function_but_seller_health_takes_some_event_type() {
        for function in Function::ALL {
            let takes_webhooks = function != Function::SellerHealth;
            assert_eq!(function.event_types().next().is_some(), takes_webhooks, "{function:?}");
        }
    }

    #[test]
    fn keys_start_with_their_owner() {
        assert_eq!(
            Function::OrderIntake.key(&["ord_1", "accepted", "email"]),
            "order-intake#ord_1#accepted#email"
        );
        assert_eq!(Function::StockAlerts.key(&[]), "stock-alerts");
    }

    #[test]
    fn event_types_route_to_their_function() {
        assert_eq!(Function::for_event_type("order.shipped"), Some(Function::OrderIntake));
        assert_eq!(
            Function::for_event_type("refund.decided"),
            Some(Function::RefundProcessor)
        );
        assert_eq!(Function::for_event_type("order.exploded"), None);
    }
}
