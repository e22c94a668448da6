//! The portal behind real nginx with a base path: the whole flow over plain HTTP, and the client
//! address taken from `X-Forwarded-For` only when the proxy is trusted.

use crate::support::*;
use selfpass_core::config::Cidr;
use testkit::nginx::{Nginx, proxy_location};

const BASE: &str = "/passwd";

/// Fails sign-ins from `xff` with distinct names until the address is banned (or 30 tries).
async fn ban_address(proxy: std::net::SocketAddr, xff: &str) -> bool {
    for i in 0..30 {
        let mut c = Http::new(proxy);
        c.headers.push(("X-Forwarded-For".into(), xff.into()));
        let page = c.sign_in(BASE, &format!("nobody{i}"), "wrong").await;
        if page.failure_kind() == Some("too-many-attempts") {
            return true;
        }
        assert_eq!(
            page.failure_kind(),
            Some("wrong-credentials"),
            "{}",
            page.body
        );
    }
    false
}

#[actix_web::test]
async fn flow_behind_nginx_with_base_path() {
    let s = setup(|c| {
        c.portal.base_path = BASE.into();
        c.portal.trusted_proxies = vec![Cidr::parse("127.0.0.1").unwrap()];
    })
    .await;
    let portal = serve(&s.state);
    let Some(nginx) = Nginx::start_for(
        "portal::nginx::flow_behind_nginx_with_base_path",
        &proxy_location(BASE, portal),
    )
    .unwrap() else {
        return;
    };
    let proxy = nginx.addr();

    let mut c = Http::new(proxy);
    assert_eq!(c.get(BASE).await.location(), "/passwd/signin");
    let page = c.get("/passwd/signin").await;
    assert_eq!(page.status, 200, "{}", nginx.access_log());
    assert!(page.body.contains("href=\"/passwd/static/portal.css\""));
    assert_eq!(c.get("/passwd/static/portal.css").await.status, 200);
    let signed = c
        .post(
            "/passwd/signin",
            &[("username", "alice"), ("password", ALICE_PASSWORD)],
        )
        .await;
    assert_eq!(
        (signed.status, signed.location()),
        (303, "/passwd/change"),
        "{}",
        signed.body
    );
    let change = c.get("/passwd/change").await;
    assert!(change.body.contains("Your new password must:"));
    let weak = c
        .post(
            "/passwd/change",
            &[
                ("current", ALICE_PASSWORD),
                ("new", WEAK),
                ("confirm", WEAK),
            ],
        )
        .await;
    assert_eq!(weak.failure_kind(), Some("password-rules"));
    let done = c
        .post(
            "/passwd/change",
            &[
                ("current", ALICE_PASSWORD),
                ("new", STRONG),
                ("confirm", STRONG),
            ],
        )
        .await;
    assert_eq!(done.location(), "/passwd/done", "{}", done.body);
    assert!(
        c.get("/passwd/done")
            .await
            .body
            .contains("Re-enter the new password")
    );
    assert_eq!(
        c.post("/passwd/signout", &[]).await.location(),
        "/passwd/signin?out=1"
    );
    let old = Http::new(proxy)
        .sign_in(BASE, "alice", ALICE_PASSWORD)
        .await;
    assert_eq!(old.failure_kind(), Some("wrong-credentials"));
    let new = Http::new(proxy).sign_in(BASE, "alice", STRONG).await;
    assert_eq!(new.location(), "/passwd/change");

    // nginx is trusted: the address from X-Forwarded-For is the client. Banning one client
    // leaves another one (same proxy) free.
    assert!(
        ban_address(proxy, "203.0.113.1").await,
        "address never banned"
    );
    let mut other = Http::new(proxy);
    other
        .headers
        .push(("X-Forwarded-For".into(), "203.0.113.2".into()));
    assert_eq!(
        other.sign_in(BASE, "bob", "bob-demo-pass").await.location(),
        "/passwd/change"
    );
}

#[actix_web::test]
async fn forwarded_for_ignored_without_trusted_proxy() {
    let s = setup(|c| c.portal.base_path = BASE.into()).await;
    let portal = serve(&s.state);
    let Some(nginx) = Nginx::start_for(
        "portal::nginx::forwarded_for_ignored_without_trusted_proxy",
        &proxy_location(BASE, portal),
    )
    .unwrap() else {
        return;
    };
    let proxy = nginx.addr();
    // Everything looks like it comes from nginx (127.0.0.1): a ban of "one client" hits all.
    assert!(ban_address(proxy, "203.0.113.1").await);
    let mut other = Http::new(proxy);
    other
        .headers
        .push(("X-Forwarded-For".into(), "203.0.113.2".into()));
    let page = other.sign_in(BASE, "bob", "bob-demo-pass").await;
    assert_eq!(page.failure_kind(), Some("too-many-attempts"));
}
