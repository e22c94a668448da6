//! §1.1 routes and the HTTP-level faults.

use truenas_sim::{Fault, ServerVersion};

use crate::common::*;

#[tokio::test]
async fn api_versions_hides_v24_10() {
    let sim = start(demo()).await;
    let r = http(&sim, "GET /api/versions HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let body = r.split("\r\n\r\n").nth(1).unwrap();
    let v: Vec<String> = serde_json::from_str(body).unwrap();
    assert_eq!(
        v,
        ["v25.04.0", "v25.04.1", "v25.04.2", "v25.10.0", "v25.10.1"]
    );
}

#[tokio::test]
async fn api_versions_on_26() {
    let sim = start(demo().server_version(ServerVersion::V26_0_0)).await;
    let r = http(&sim, "GET /api/versions HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(r.contains("\"v26.0.0\""), "{r}");
}

#[tokio::test]
async fn unknown_version_path_is_404() {
    let sim = start(demo()).await;
    let r = http(&sim, &upgrade_request("/api/v99.1.0")).await;
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
}

#[tokio::test]
async fn upgrade_headers_are_case_insensitive() {
    let sim = start(demo()).await;
    let req = "GET /api/current HTTP/1.1\r\nHOST: x\r\nCONNECTION: Upgrade\r\nUPGRADE: WebSocket\r\n\
               SEC-WEBSOCKET-VERSION: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
    let mut tcp = tokio::net::TcpStream::connect(sim.local_addr())
        .await
        .unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut buf = [0u8; 512];
    let n = tcp.read(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        "{head}"
    );
}

#[tokio::test]
async fn plain_get_on_websocket_route_is_400() {
    let sim = start(demo()).await;
    let r = http(&sim, "GET /api/current HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
}

#[tokio::test]
async fn legacy_only_hides_api() {
    let sim = start(demo().faults(vec![Fault::LegacyOnly])).await;
    let r = http(&sim, &upgrade_request("/api/current")).await;
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    let r = http(&sim, "GET /api/versions HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    let mut ws = connect(&sim, "/websocket").await;
    ws.send_json(serde_json::json!({"msg": "connect", "version": "1", "support": ["1"]}))
        .await;
    assert_eq!(ws.recv().await["msg"], "connected");
}

#[tokio::test]
async fn redirect_fault_is_302_with_location() {
    let sim =
        start(demo().faults(vec![Fault::Redirect("https://auth.example/login".into())])).await;
    let r = http(&sim, &upgrade_request("/api/current")).await;
    assert!(r.starts_with("HTTP/1.1 302"), "{r}");
    assert!(
        r.contains("Location: https://auth.example/login\r\n"),
        "{r}"
    );
}

#[tokio::test]
async fn https_redirect_fault_is_307_to_same_path() {
    let sim = start(demo().faults(vec![Fault::HttpsRedirect])).await;
    let r = http(&sim, &upgrade_request("/api/current")).await;
    assert!(r.starts_with("HTTP/1.1 307"), "{r}");
    assert!(
        r.contains("Location: https://127.0.0.1/api/current\r\n"),
        "{r}"
    );
}

#[tokio::test]
async fn unauthorized_fault_is_401() {
    let sim = start(demo()).await;
    sim.set_faults(vec![Fault::Unauthorized]);
    let r = http(&sim, &upgrade_request("/api/current")).await;
    assert!(r.starts_with("HTTP/1.1 401"), "{r}");
    sim.set_faults(vec![]);
    let r = http(&sim, &upgrade_request("/api/current")).await;
    assert!(r.starts_with("HTTP/1.1 101"), "{r}");
}

#[tokio::test]
async fn post_to_a_route_is_405() {
    let sim = start(demo()).await;
    let r = http(
        &sim,
        "POST /api/versions HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 405"), "{r}");
}

#[tokio::test]
async fn boot_id_is_a_json_string() {
    let sim = start(demo()).await;
    let r = http(&sim, "GET /api/boot_id HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let body = r.split("\r\n\r\n").nth(1).unwrap();
    let id: String = serde_json::from_str(body).unwrap();
    assert_eq!(id.len(), 36);
}
