//! The marketplace's identifiers, one rule each for every event that carries them.

/// Order, seller, buyer, line and event-part ids: 1 to 64 ASCII letters, digits, `_` or `-`.
pub fn is_identifier(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// SKUs: 1 to 64 ASCII letters, digits, `-`, `_` or `.`.
pub fn is_sku(value: &str) -> bool {
    (1..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_skus_have_one_rule_each() {
        assert!(is_identifier("sel_tea-house1"));
        assert!(!is_identifier("sel tea") && !is_identifier("") && !is_identifier(&"a".repeat(65)));
        assert!(!is_identifier("TEA.POT"), "dots are for SKUs");
        assert!(is_sku("TEA-POT.01_b") && !is_sku("TEA POT") && !is_sku("壶"));
    }
}
