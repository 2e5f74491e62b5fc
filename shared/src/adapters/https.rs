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

use std::path::PathBuf;

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::CertificateDer;

/// Where Linux distributions keep the bundle: Amazon Linux (Lambda's `provided.al2023`) and
/// Fedora first, then Debian and Ubuntu. `SSL_CERT_FILE`, if set, comes before both.
const BUNDLES: &[&str] = &["/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/certs/ca-certificates.crt"];

/// The subjects (common names) of the roots AWS's certificates chain to.
const AWS_ROOTS: &[&str] = &["Amazon Root CA ", "Starfield Services Root Certificate Authority - G2"];

const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
const END: &str = "-----END CERTIFICATE-----";

/// The client, or `None` for the SDK's default.
pub fn client() -> Option<SharedHttpClient> {
    let bundle = std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .into_iter()
        .chain(BUNDLES.iter().map(PathBuf::from))
        .find(|path| path.is_file())?;
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
