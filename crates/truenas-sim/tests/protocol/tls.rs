//! wss:// with the self-signed certificate: the presented leaf matches the reported fingerprint,
//! and TLS counts as a secure transport for plain API keys.

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde_json::json;
use sha2::Digest;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use truenas_sim::{Simulator, demo as d};

use crate::common::*;

/// Accepts any certificate: the test checks the fingerprint itself, as selfpass pins it.
#[derive(Debug)]
struct AnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

async fn wss(
    sim: &Simulator,
) -> (
    tokio_tungstenite::WebSocketStream<tokio_rustls::client::TlsStream<TcpStream>>,
    String,
) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    let tcp = TcpStream::connect(sim.local_addr()).await.unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let leaf = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    let hex: String = sha2::Sha256::digest(leaf.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let (ws, _) = tokio_tungstenite::client_async(sim.url("/api/current"), tls)
        .await
        .unwrap();
    (ws, format!("sha256:{hex}"))
}

#[tokio::test]
async fn wss_fingerprint_and_secure_api_key() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let sim = start(demo().tls(true).treat_as_remote(true)).await;
    let (mut ws, fp) = wss(&sim).await;
    assert_eq!(Some(fp), sim.fingerprint());
    let req = json!({"jsonrpc": "2.0", "id": 1, "method": "auth.login_ex",
        "params": [{"mechanism": "API_KEY_PLAIN", "username": "passwd-service", "api_key": d::SERVICE_API_KEY}]});
    ws.send(Message::text(req.to_string())).await.unwrap();
    let Some(Ok(Message::Text(t))) = ws.next().await else {
        panic!("no reply")
    };
    let r: serde_json::Value = serde_json::from_str(t.as_str()).unwrap();
    assert_eq!(
        r["result"]["response_type"], "SUCCESS",
        "TLS is a secure transport: {r}"
    );
}
