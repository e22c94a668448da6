//! TLS: certificate fingerprints, pinning, and the rustls configuration.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// How the server's certificate is checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tls {
    /// The operating system's root certificates (default).
    #[default]
    System,
    /// Accept exactly the certificate with this SHA-256 fingerprint (TrueNAS's self-signed certificate).
    Pinned(Fingerprint),
    /// Trust the CA certificates in this PEM file.
    CaFile(PathBuf),
    /// Accept any certificate. Logs a warning at every connect; only for tests.
    Insecure,
}

/// SHA-256 of a certificate's DER encoding, written `sha256:` + 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        let digest = Sha256::digest(der);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_slice());
        Fingerprint(out)
    }

    /// The raw digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fingerprint({self})")
    }
}

impl FromStr for Fingerprint {
    type Err = Error;

    /// Accepts `sha256:ab…`, `SHA256:AB:CD:…`, or bare hex, any case, with or without colons.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let body = match s.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("sha256:") => &s[7..],
            _ => s,
        };
        let hex: Vec<u8> = body
            .bytes()
            .filter(|b| *b != b':' && !b.is_ascii_whitespace())
            .collect();
        let bad = || Error::Config {
            reason: format!(
                "invalid certificate fingerprint {s:?}: expected sha256: followed by 64 hex digits"
            ),
        };
        if hex.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16).ok_or_else(bad)?;
            let lo = (pair[1] as char).to_digit(16).ok_or_else(bad)?;
            out[i] = (hi * 16 + lo) as u8;
        }
        Ok(Fingerprint(out))
    }
}

/// What a server's leaf certificate says about itself, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject (common name when present, else the raw subject description).
    pub subject: String,
    /// Expiry time as written in the certificate (`notAfter`, e.g. `2034-01-01 00:00:00 UTC`).
    pub not_after: String,
    /// SHA-256 fingerprint.
    pub fingerprint: Fingerprint,
}

impl CertInfo {
    /// Reads subject and expiry from a DER certificate (best effort: unknown parts read `?`).
    pub fn from_der(der: &[u8]) -> Self {
        let (subject, not_after) =
            der::subject_and_expiry(der).unwrap_or_else(|| ("?".to_string(), "?".to_string()));
        CertInfo {
            subject,
            not_after,
            fingerprint: Fingerprint::of_der(der),
        }
    }
}

impl fmt::Display for CertInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "certificate subject {:?}, expires {}, fingerprint {}",
            self.subject, self.not_after, self.fingerprint
        )
    }
}

/// A minimal, bounds-checked DER walk: just enough to read subject CN and notAfter.
mod der {
    fn read_tlv(buf: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let tag = *buf.first()?;
        let first = *buf.get(1)? as usize;
        let (len, hdr) = if first < 0x80 {
            (first, 2)
        } else {
            let n = first & 0x7f;
            if n == 0 || n > 4 {
                return None;
            }
            let mut len = 0usize;
            for i in 0..n {
                len = (len << 8) | *buf.get(2 + i)? as usize;
            }
            (len, 2 + n)
        };
        let end = hdr.checked_add(len)?;
        let content = buf.get(hdr..end)?;
        Some((tag, content, buf.get(end..)?))
    }

    fn time(tag: u8, v: &[u8]) -> Option<String> {
        let s = std::str::from_utf8(v).ok()?;
        let s = s.strip_suffix('Z').unwrap_or(s);
        let (year, rest) = match tag {
            0x17 => {
                let yy: u32 = s.get(..2)?.parse().ok()?;
                (if yy >= 50 { 1900 + yy } else { 2000 + yy }, s.get(2..)?)
            }
            0x18 => (s.get(..4)?.parse().ok()?, s.get(4..)?),
            _ => return None,
        };
        Some(format!(
            "{year:04}-{}-{} {}:{}:{} UTC",
            rest.get(0..2)?,
            rest.get(2..4)?,
            rest.get(4..6)?,
            rest.get(6..8)?,
            rest.get(8..10).unwrap_or("00")
        ))
    }

    fn subject(mut name: &[u8]) -> Option<String> {
        // OID 2.5.4.3 (commonName) = 06 03 55 04 03
        let mut parts = Vec::new();
        while !name.is_empty() {
            let (_, set, rest) = read_tlv(name)?;
            name = rest;
            let (_, atv, _) = read_tlv(set)?;
            let (_, oid, after) = read_tlv(atv)?;
            let (_, value, _) = read_tlv(after)?;
            let value = String::from_utf8_lossy(value).into_owned();
            let key = match oid {
                [0x55, 0x04, 0x03] => "CN",
                [0x55, 0x04, 0x0a] => "O",
                [0x55, 0x04, 0x0b] => "OU",
                [0x55, 0x04, 0x06] => "C",
                _ => continue,
            };
            parts.push(format!("{key}={value}"));
        }
        Some(parts.join(", "))
    }

    pub(super) fn subject_and_expiry(der: &[u8]) -> Option<(String, String)> {
        let (_, cert, _) = read_tlv(der)?;
        let (_, tbs, _) = read_tlv(cert)?;
        let mut rest = tbs;
        let (tag, _, r) = read_tlv(rest)?;
        if tag == 0xa0 {
            rest = r; // explicit version
        }
        let (_, _serial, r) = read_tlv(rest)?;
        let (_, _sigalg, r) = read_tlv(r)?;
        let (_, _issuer, r) = read_tlv(r)?;
        let (_, validity, r) = read_tlv(r)?;
        let (_, subj, _) = read_tlv(r)?;
        let (_, _, v) = read_tlv(validity)?;
        let (tag, na, _) = read_tlv(v)?;
        Some((subject(subj)?, time(tag, na)?))
    }
}

/// Records the leaf certificate the server presented, so errors can describe it.
pub(crate) type Seen = Arc<Mutex<Option<Vec<u8>>>>;

fn record(seen: &Seen, der: &[u8]) {
    if let Ok(mut g) = seen.lock() {
        *g = Some(der.to_vec());
    }
}

#[derive(Debug)]
struct RecordingVerifier {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Seen,
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        record(&self.seen, end_entity);
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Accepts the one certificate whose fingerprint matches (or any, when `pin` is `None`),
/// and still verifies the handshake signatures made with that certificate's key.
#[derive(Debug)]
struct PinVerifier {
    pin: Option<Fingerprint>,
    algs: WebPkiSupportedAlgorithms,
    seen: Seen,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        record(&self.seen, end_entity);
        match self.pin {
            None => Ok(ServerCertVerified::assertion()),
            Some(pin) if Fingerprint::of_der(end_entity) == pin => {
                Ok(ServerCertVerified::assertion())
            }
            Some(_) => Err(rustls::Error::General(
                "certificate fingerprint does not match the pinned one".into(),
            )),
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_err(reason: String) -> Error {
    Error::Config { reason }
}

/// Builds the root store for `System` or `CaFile`.
pub(crate) fn root_store(tls: &Tls) -> Result<Arc<rustls::RootCertStore>> {
    let mut roots = rustls::RootCertStore::empty();
    match tls {
        Tls::CaFile(path) => {
            let data = std::fs::read(path)
                .map_err(|e| config_err(format!("cannot read CA file {}: {e}", path.display())))?;
            let mut rd = std::io::Cursor::new(data);
            for cert in rustls_pemfile::certs(&mut rd) {
                let cert = cert.map_err(|e| {
                    config_err(format!("bad PEM in CA file {}: {e}", path.display()))
                })?;
                roots.add(cert).map_err(|e| {
                    config_err(format!("bad certificate in {}: {e}", path.display()))
                })?;
            }
            if roots.is_empty() {
                return Err(config_err(format!(
                    "CA file {} holds no certificate",
                    path.display()
                )));
            }
        }
        _ => {
            let res = rustls_native_certs::load_native_certs();
            for cert in res.certs {
                let _ = roots.add(cert);
            }
            if roots.is_empty() {
                return Err(config_err(
                    "no system root certificates found: install ca-certificates, or use Tls::CaFile / Tls::Pinned".into(),
                ));
            }
        }
    }
    Ok(Arc::new(roots))
}

/// A rustls client config for one connect; `seen` receives the presented leaf certificate.
pub(crate) fn client_config(
    tls: &Tls,
    roots: Option<Arc<rustls::RootCertStore>>,
    seen: Seen,
) -> Result<rustls::ClientConfig> {
    let provider = provider();
    let algs = provider.signature_verification_algorithms;
    let verifier: Arc<dyn ServerCertVerifier> = match tls {
        Tls::Pinned(fp) => Arc::new(PinVerifier {
            pin: Some(*fp),
            algs,
            seen,
        }),
        Tls::Insecure => Arc::new(PinVerifier {
            pin: None,
            algs,
            seen,
        }),
        Tls::System | Tls::CaFile(_) => {
            let roots = match roots {
                Some(r) => r,
                None => root_store(tls)?,
            };
            let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                roots,
                provider.clone(),
            )
            .build()
            .map_err(|e| config_err(format!("cannot build certificate verifier: {e}")))?;
            Arc::new(RecordingVerifier { inner, seen })
        }
    };
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_err(format!("TLS setup: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_formats() {
        let fp = Fingerprint::of_der(b"hello");
        let s = fp.to_string();
        assert!(s.starts_with("sha256:"));
        assert_eq!(s.len(), 7 + 64);
        assert_eq!(s.parse::<Fingerprint>().ok(), Some(fp));
        let upper = s[7..].to_uppercase();
        assert_eq!(upper.parse::<Fingerprint>().ok(), Some(fp));
        let colons: Vec<String> = upper
            .as_bytes()
            .chunks(2)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
        let colons = format!("SHA256:{}", colons.join(":"));
        assert_eq!(colons.parse::<Fingerprint>().ok(), Some(fp));
        assert!("sha256:abcd".parse::<Fingerprint>().is_err());
        assert!(
            format!("sha256:{}", "zz".repeat(32))
                .parse::<Fingerprint>()
                .is_err()
        );
    }

    #[test]
    fn reads_subject_and_expiry_of_a_real_certificate() {
        let ck = rcgen::generate_simple_self_signed(vec!["nas.local".to_string()]).unwrap();
        let der = ck.cert.der().to_vec();
        let info = CertInfo::from_der(&der);
        assert_eq!(info.subject, "CN=rcgen self signed cert");
        assert_eq!(info.not_after, "4096-01-01 00:00:00 UTC");
        assert_eq!(info.fingerprint, Fingerprint::of_der(&der));
        let shown = info.to_string();
        assert!(shown.contains("expires 4096-01-01") && shown.contains("sha256:"));
        // Every truncation is handled without a panic.
        for n in 0..der.len() {
            let _ = CertInfo::from_der(&der[..n]);
        }
    }

    #[test]
    fn der_garbage_is_safe() {
        let info = CertInfo::from_der(&[0x30, 0x82, 0xff]);
        assert_eq!(info.subject, "?");
        for n in 0..64u8 {
            let v: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37) ^ 0x30).collect();
            let _ = CertInfo::from_der(&v);
        }
    }
}
