//! The shop's one TLS backend: rustls with ring. reqwest is built without a crypto provider
//! of its own (its default, aws-lc, is a C library compiled through cmake, the slowest part of
//! a cold build), so it uses the process default, which [`install`] sets. Every HTTP client is
//! made here, after it: `clippy.toml` forbids building one anywhere else.

use std::sync::Once;

static INSTALL: Once = Once::new();

/// Makes ring the process's rustls provider; idempotent, and harmless when another part of the
/// process installed one first.
pub fn install() {
    INSTALL.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// `reqwest::Client::builder()`, with the provider installed.
#[allow(clippy::disallowed_methods)]
pub fn client_builder() -> reqwest::ClientBuilder {
    install();
    reqwest::Client::builder()
}

/// A client with reqwest's defaults (no timeout).
#[allow(clippy::disallowed_methods)]
pub fn client() -> reqwest::Client {
    install();
    reqwest::Client::new()
}

/// `reqwest::blocking::Client::builder()`, with the provider installed.
#[allow(clippy::disallowed_methods)]
pub fn blocking_client_builder() -> reqwest::blocking::ClientBuilder {
    install();
    reqwest::blocking::Client::builder()
}

/// A blocking client with reqwest's defaults.
#[allow(clippy::disallowed_methods)]
pub fn blocking_client() -> reqwest::blocking::Client {
    install();
    reqwest::blocking::Client::new()
}

#[cfg(test)]
mod tests {
    #[test]
    fn clients_build_with_the_ring_provider() {
        let _ = super::client();
        let _ = super::blocking_client();
        let provider = rustls::crypto::CryptoProvider::get_default().expect("installed");
        assert!(
            provider
                .cipher_suites
                .iter()
                .any(|s| s.suite() == rustls::CipherSuite::TLS13_AES_128_GCM_SHA256)
        );
    }
}
