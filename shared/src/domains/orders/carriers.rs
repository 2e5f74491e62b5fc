//! The carriers whose tracking pages a buyer's email may link to. A link the marketplace
//! passes on comes from whoever shipped, so it is only followed to a known carrier's own site
//! (or a tracking service): anything else could be a page dressed up as ours.

/// Hosts, each allowed with its subdomains (`www.dhl.com`, `mydhl.express.dhl`).
const CARRIER_HOSTS: &[&str] = &[
    // Express and national posts
    "dhl.com",
    "dhl.de",
    "ups.com",
    "fedex.com",
    "usps.com",
    "royalmail.com",
    "parcelforce.com",
    "evri.com",
    "dpd.com",
    "dpd.co.uk",
    "dpd.de",
    "gls-group.eu",
    "gls-group.com",
    "hermes-europe.co.uk",
    "myhermes.de",
    "postnl.nl",
    "laposte.fr",
    "bpost.be",
    "posteitaliane.it",
    "correos.es",
    "canadapost-postescanada.ca",
    "auspost.com.au",
    "post.japanpost.jp",
    // China and cross-border
    "sf-express.com",
    "sf-international.com",
    "jd.com",
    "jdl.com",
    "cainiao.com",
    "ems.com.cn",
    "yto.net.cn",
    "zto.com",
    "sto.cn",
    "yundaex.com",
    "yunexpress.com",
    "4px.com",
    // Tracking services
    "17track.net",
    "aftership.com",
    "parcelsapp.com",
];

/// The host of an `https://` URL, lowercase, or `None` when it has none or names a user or a
/// port (`https://dhl.com@evil.example/` reads as dhl.com but goes to evil.example).
pub fn https_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.trim_end_matches('.').to_ascii_lowercase();
    let plain = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    plain.then_some(host)
}

/// Whether `host` is a known carrier's or a subdomain of one.
pub fn is_carrier_host(host: &str) -> bool {
    CARRIER_HOSTS
        .iter()
        .any(|known| host == *known || host.strip_suffix(known).is_some_and(|sub| sub.ends_with('.')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_carriers_own_site_is_a_carrier_host_and_a_lookalike_is_not() {
        for url in [
            "https://www.dhl.com/track?id=JD014600003828",
            "https://www.ups.com/track?tracknum=1Z999AA10123456784",
            "https://t.17track.net/en#nums=LP00123",
            "https://www.sf-express.com/chn/sc/waybill/list",
        ] {
            let host = https_host(url).unwrap();
            assert!(is_carrier_host(&host), "{url}");
        }
        for url in [
            "https://dhl.com.evil.example/track",
            "https://evildhl.com/track",
            "https://track.example/1Z999",
            "https://dhl.com@evil.example/",
            "https://www.dhl.com:8443/track",
            "http://www.dhl.com/track",
            "https:///track",
        ] {
            assert!(!https_host(url).is_some_and(|host| is_carrier_host(&host)), "{url}");
        }
    }
}
