//! A self-signed certificate made at start, and its fingerprint.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::Digest;
use tokio_rustls::TlsAcceptor;

use crate::error::{Error, Result};

/// `sha256:` + 64 lowercase hex digits of the DER bytes.
pub(crate) fn fingerprint(der: &[u8]) -> String {
    let digest = sha2::Sha256::digest(der);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Makes the certificate and an acceptor (ring provider); returns the acceptor and fingerprint.
pub(crate) fn self_signed() -> Result<(TlsAcceptor, String)> {
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "truenas.local".to_string(),
    ];
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| Error::Tls(e.to_string()))?;
    let cert_der: CertificateDer<'static> = ck.cert.der().clone();
    let fp = fingerprint(&cert_der);
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key)
        .map_err(|e| Error::Tls(e.to_string()))?;
    Ok((TlsAcceptor::from(Arc::new(config)), fp))
}
