//! The HTTPS client of every SDK client: the SDK's own (hyper, rustls with aws-lc), trusting
//! only the roots AWS's endpoints chain to, taken from the system's CA bundle.
//!
//! The SDK's default client loads every root the platform has at init, the way OpenSSL does:
//! the bundle file and every file of the certificate directory, each PEM decoded by a
//! constant-time base64 decoder made for private keys. That was 5 of the 8 ms of a cold start
//! here (`perf`: `rustls_pki_types::base64::decode_public` alone was a quarter of the samples;
//! a hello-world function starts in 2 ms). AWS's endpoints, PrivateLink and FIPS ones included,
//! present Amazon Trust Services certificates, which chain to Amazon Root CA 1–4 or, for old
//! clients, Starfield Services Root G2: those five are picked out of the bundle, so the system
//! still decides whether they are trusted. A bundle without any of them (or none at all) gets
//! the SDK's default client and its full scan.
//!
//! So does any environment that may reach something other than AWS's own endpoints, or has
//! chosen its roots itself: an HTTPS `AWS_ENDPOINT_URL*` (LocalStack, a gateway), an HTTP proxy
//! variable (the SDK's default client honours them; this one would not), or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` (a TLS-inspecting proxy's CA, say).

use std::path::PathBuf;

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::CertificateDer;

/// Where Linux distributions keep the bundle: Amazon Linux (Lambda's `provided.al2023`) and
/// Fedora first, then Debian and Ubuntu.
const BUNDLES: &[&str] = &["/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"];

/// The subjects (common names) of the roots AWS's certificates chain to.
const AWS_ROOTS: &[&str] = &["Amazon Root CA ", "Starfield Services Root Certificate Authority - G2"];

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// Variables that mean the SDK's default client, with every root and the proxy, is needed.
const NEEDS_DEFAULT: &[&str] = &[
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The client, or `None` for the SDK's default.
pub fn client() -> Option<SharedHttpClient> {
    if !aws_roots_will_do(std::env::vars()) {
        return None;
    }
    let bundle = BUNDLES.iter().map(PathBuf::from).find(|path| path.is_file())?;
    let roots = aws_roots(&std::fs::read_to_string(&bundle).ok()?)?;
    let context = TlsContext::builder()
        .with_trust_store(TrustStore::empty().with_pem_certificate(roots))
        .build()
        .ok()?;
    Some(
        Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
            .tls_context(context)
            .build_https(),
    )
}

/// Whether every HTTPS connection the SDK makes in this environment goes straight to an AWS
/// endpoint, so that AWS's roots are all it needs.
fn aws_roots_will_do(environment: impl Iterator<Item = (String, String)>) -> bool {
    environment
        .filter(|(_, value)| !value.trim().is_empty())
        .all(|(name, value)| {
            let overrides_endpoint = name.starts_with("AWS_ENDPOINT_URL") && !value.starts_with("http://");
            !NEEDS_DEFAULT.contains(&name.as_str()) && !overrides_endpoint
        })
}

/// The AWS roots of a PEM bundle that rustls accepts as trust anchors, as PEM; `None` if none.
fn aws_roots(bundle: &str) -> Option<Vec<u8>> {
    let mut roots = String::new();
    for der in certificates(bundle) {
        let mut store = rustls::RootCertStore::empty();
        if store.add(CertificateDer::from(der.as_slice())).is_err() {
            continue;
        }
        let subject = store.roots[0].subject.as_ref();
        let is_aws = AWS_ROOTS
            .iter()
            .any(|name| subject.windows(name.len()).any(|window| window == name.as_bytes()));
        if is_aws {
            roots.push_str(&to_pem(&der));
        }
    }
    (!roots.is_empty()).then(|| roots.into_bytes())
}

/// Every certificate of a PEM text, decoded; blocks that are not base64 are skipped.
fn certificates(pem: &str) -> impl Iterator<Item = Vec<u8>> + '_ {
    pem.split(BEGIN).skip(1).filter_map(|block| {
        let body: String = block.split(END).next()?.split_whitespace().collect();
        STANDARD.decode(body).ok()
    })
}

fn to_pem(der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut pem = format!("{BEGIN}\n");
    for line in body.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        pem.push('\n');
    }
    pem.push_str(END);
    pem.push('\n');
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system_bundle() -> String {
        std::fs::read_to_string(BUNDLES[1])
            .or_else(|_| std::fs::read_to_string(BUNDLES[0]))
            .expect("a system CA bundle (Debian: ca-certificates)")
    }

    #[test]
    fn the_five_aws_roots_are_picked_out_of_the_system_bundle() {
        let bundle = system_bundle();
        assert!(certificates(&bundle).count() > 100, "the whole bundle is read");
        let roots = String::from_utf8(aws_roots(&bundle).expect("AWS roots")).unwrap();
        assert_eq!(certificates(&roots).count(), 5);
        let mut checked = rustls::RootCertStore::empty();
        let (valid, invalid) = checked.add_parsable_certificates(certificates(&roots).map(CertificateDer::from));
        assert_eq!((valid, invalid), (5, 0), "handed over as valid PEM");
    }

    fn vars(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn only_direct_connections_to_aws_get_the_aws_roots_alone() {
        assert!(aws_roots_will_do(vars(&[("AWS_REGION", "eu-west-1")])));
        assert!(aws_roots_will_do(vars(&[(
            "AWS_ENDPOINT_URL",
            "http://127.0.0.1:4566"
        )])));
        assert!(aws_roots_will_do(vars(&[("HTTPS_PROXY", "")])));
        for needs_default in [
            ("AWS_ENDPOINT_URL", "https://localhost.localstack.cloud:4566"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "https://gateway.example"),
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("all_proxy", "socks5://proxy:1080"),
            ("SSL_CERT_FILE", "/etc/custom.pem"),
            ("SSL_CERT_DIR", "/etc/custom"),
        ] {
            assert!(!aws_roots_will_do(vars(&[needs_default])), "{needs_default:?}");
        }
    }

    #[test]
    fn a_bundle_without_aws_roots_or_with_garbage_gives_none_or_skips_it() {
        assert_eq!(aws_roots("not a certificate"), None);
        assert_eq!(aws_roots(&format!("{BEGIN}\n!!!!\n{END}\n")), None);
        let with_garbage = format!("{BEGIN}\nAAAA\n{END}\n{}", system_bundle());
        assert_eq!(
            certificates(&String::from_utf8(aws_roots(&with_garbage).unwrap()).unwrap()).count(),
            5
        );
    }
}
