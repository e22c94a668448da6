//! Every route, outcome and header through actix's test service (no socket), against the demo
//! backend.

use crate::support::*;
use actix_web::test::init_service;
use selfpass_core::config::Cidr;
use selfpass_web::app;
use std::time::Duration;

const SECURITY_HEADERS: &[(&str, &str)] = &[
    (
        "content-security-policy",
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
];

fn assert_security_headers(page: &Page, what: &str) {
    for (name, value) in SECURITY_HEADERS {
        assert_eq!(page.header(name), Some(*value), "{what}: {name}");
    }
}

#[actix_web::test]
async fn alice_changes_her_password_end_to_end() {
    let s = setup(|_| {}).await;
    let svc = init_service(app(s.state.clone())).await;
    let mut c = Client::new(&svc);

    let root = c.get("/").await;
    assert_eq!((root.status, root.location()), (303, "/signin"));
    let page = c.get("/signin").await;
    assert_eq!(page.status, 200);
    assert_security_headers(&page, "sign-in page");
    assert_eq!(page.header("cache-control"), Some("no-store"));
    for needle in [
        "<label for=\"username\">",
        "autocomplete=\"username\"",
        "autocomplete=\"current-password\"",
        "Forgot your password?",
        "name=\"viewport\"",
    ] {
        assert!(page.body.contains(needle), "sign-in page lacks {needle}");
    }
    let cookie = &page.set_cookies()[0];
    assert!(cookie.starts_with("selfpass="), "{cookie}");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "cookie lacks {attr}: {cookie}");
    }
    let before = c.cookie.clone();

    let signed = c
        .post(
            "/signin",
            &[("username", "alice"), ("password", ALICE_PASSWORD)],
        )
        .await;
    assert_eq!(
        (signed.status, signed.location()),
        (303, "/change"),
        "{}",
        signed.body
    );
    assert_ne!(c.cookie, before, "the session is renewed at sign-in");

    let change = c.get("/change").await;
    assert_eq!(change.status, 200);
    assert!(change.body.contains("Your new password must:"));
    assert!(
        change.body.contains("data-rule="),
        "rules shown before typing"
    );
    assert!(change.body.contains("autocomplete=\"new-password\""));
    assert!(!change.body.contains("Your password has expired"));

    let weak = c
        .post(
            "/change",
            &[
                ("current", ALICE_PASSWORD),
                ("new", WEAK),
                ("confirm", WEAK),
            ],
        )
        .await;
    assert_eq!(weak.failure_kind(), Some("password-rules"), "{}", weak.body);
    assert_eq!(weak.status, 422);
    let listed = weak.body.matches("<li data-rule=").count();
    let violations = weak.failure_block().matches("<li").count();
    assert!(
        violations >= 2,
        "every unmet rule listed at once: {}",
        weak.failure_block()
    );
    assert!(listed > violations, "rules stay listed too");
    assert!(weak.body.contains("<meter id=\"strength\""));

    let mismatch = c
        .post(
            "/change",
            &[
                ("current", ALICE_PASSWORD),
                ("new", STRONG),
                ("confirm", "something else"),
            ],
        )
        .await;
    assert_eq!(mismatch.status, 422);
    assert!(mismatch.body.contains("confirmation differ"));

    let wrong_current = c
        .post(
            "/change",
            &[
                ("current", "not-her-password"),
                ("new", STRONG),
                ("confirm", STRONG),
            ],
        )
        .await;
    assert_eq!(wrong_current.failure_kind(), Some("wrong-credentials"));

    let done = c
        .post(
            "/change",
            &[
                ("current", ALICE_PASSWORD),
                ("new", STRONG),
                ("confirm", STRONG),
            ],
        )
        .await;
    assert_eq!(
        (done.status, done.location()),
        (303, "/done"),
        "{}",
        done.body
    );
    let done = c.get("/done").await;
    assert_eq!(done.status, 200);
    assert!(done.body.contains("Re-enter the new password"));
    assert!(done.body.contains("mapped network drives"));
    assert!(c.get("/change").await.location().starts_with("/signin"));

    let out = c.post("/signout", &[]).await;
    assert_eq!((out.status, out.location()), (303, "/signin?out=1"));
    assert!(
        c.get("/signin?out=1")
            .await
            .body
            .contains("You have signed out.")
    );
    assert_eq!(c.get("/done").await.location(), "/signin");

    let mut again = Client::new(&svc);
    let old = again.sign_in("", "alice", ALICE_PASSWORD).await;
    assert_eq!(old.failure_kind(), Some("wrong-credentials"));
    assert_eq!(old.status, 401);
    let new = again.sign_in("", "alice", STRONG).await;
    assert_eq!(new.location(), "/change");
}

#[actix_web::test]
async fn wrong_unknown_protected_answer_alike() {
    let s = setup(|_| {}).await;
    let svc = init_service(app(s.state.clone())).await;
    let mut pages = Vec::new();
    for (user, password) in [
        ("alice", "wrong-password"),
        ("nobody-here", "whatever"),
        ("truenas_admin", "admin-demo-pass"),
    ] {
        let mut c = Client::new(&svc);
        let page = c.sign_in("", user, password).await;
        assert_eq!(page.failure_kind(), Some("wrong-credentials"), "{user}");
        pages.push((page.status, page.failure_block().to_owned()));
    }
    assert!(pages.windows(2).all(|w| w[0] == w[1]), "{pages:?}");
}

#[actix_web::test]
async fn outcomes_after_proof_and_throttle() {
    let s = setup(|_| {}).await;
    let svc = init_service(app(s.state.clone())).await;

    let mut c = Client::new(&svc);
    let locked = c.sign_in("", "carol", "carol-demo-pass").await;
    assert_eq!(
        locked.failure_kind(),
        Some("account-locked"),
        "{}",
        locked.body
    );
    let locked_wrong = c.sign_in("", "carol", "not-carols").await;
    assert_eq!(locked_wrong.failure_kind(), Some("wrong-credentials"));

    let disabled = c.sign_in("", "dave", "dave-demo-pass").await;
    assert!(disabled.failure_kind().is_some(), "{}", disabled.body);
    assert_ne!(disabled.failure_kind(), Some("wrong-credentials"));

    let mut erin = Client::new(&svc);
    let signed = erin.sign_in("", "erin", "erin-demo-pass").await;
    assert_eq!(signed.location(), "/change", "{}", signed.body);
    assert!(
        erin.get("/change")
            .await
            .body
            .contains("Your password has expired")
    );

    // Throttle: an address with many failures is banned (a banned *name* answers like a wrong
    // password); the page says for how long.
    let mut t = Client::new(&svc);
    t.peer = "198.51.100.20:1".parse().unwrap();
    let mut last = None;
    for i in 0..30 {
        let page = t.sign_in("", &format!("user{i}"), "wrong").await;
        if page.failure_kind() == Some("too-many-attempts") {
            last = Some(page);
            break;
        }
    }
    let banned = last.expect("address throttled within 30 attempts");
    assert_eq!(banned.status, 429);
    assert!(
        banned
            .header("retry-after")
            .is_some_and(|v| v.parse::<u64>().is_ok())
    );
    assert!(
        banned.body.contains("Try again in"),
        "{}",
        banned.failure_block()
    );
    // Another address is not affected.
    let mut other = Client::new(&svc);
    other.peer = "198.51.100.21:1".parse().unwrap();
    assert_eq!(
        other.sign_in("", "bob", "bob-demo-pass").await.location(),
        "/change"
    );
}

#[actix_web::test]
async fn two_factor_step() {
    let s = setup(|_| {}).await;
    let svc = init_service(app(s.state.clone())).await;
    let mut c = Client::new(&svc);
    assert_eq!(c.get("/signin/code").await.location(), "/signin");
    let step = c.sign_in("", "frank", "frank-demo-pass").await;
    assert_eq!(step.location(), "/signin/code", "{}", step.body);
    let form = c.get("/signin/code").await;
    assert!(form.body.contains("autocomplete=\"one-time-code\""));
    let wrong = c.post("/signin/code", &[("code", "000000")]).await;
    assert_eq!(
        wrong.failure_kind(),
        Some("second-factor-wrong"),
        "{}",
        wrong.body
    );
    let code = totp("JBSWY3DPEHPK3PXP");
    let ok = c.post("/signin/code", &[("code", &code)]).await;
    assert_eq!(ok.location(), "/change", "{}", ok.body);
    let change = c.get("/change").await;
    assert!(
        change.body.contains("id=\"otp\""),
        "the change form asks for a code"
    );
}

#[actix_web::test]
async fn csrf_and_origin_checks() {
    let s = setup(|_| {}).await;
    let svc = init_service(app(s.state.clone())).await;
    let mut c = Client::new(&svc);
    c.get("/signin").await;
    let token = c.csrf.clone().unwrap();
    let body = |t: &str| format!("_csrf={t}&username=alice&password={ALICE_PASSWORD}").into_bytes();

    for origin in ["http://evil.example", "null", "https://portal.test"] {
        let page = c.post_raw("/signin", body(&token), Some(origin)).await;
        assert_eq!(page.status, 403, "Origin {origin}");
        assert_security_headers(&page, "refusal");
    }
    // No Origin and no Referer: refused. A same-origin Referer stands in for Origin.
    assert_eq!(c.post_raw("/signin", body(&token), None).await.status, 403);
    c.headers
        .push(("referer".into(), "http://evil.example/signin".into()));
    assert_eq!(c.post_raw("/signin", body(&token), None).await.status, 403);
    c.headers.pop();
    c.headers
        .push(("referer".into(), "http://portal.test/signin".into()));
    assert_eq!(c.post_raw("/signin", body(&token), None).await.status, 303);
    c.headers.pop();

    // Token missing or wrong.
    let mut d = Client::new(&svc);
    d.get("/signin").await;
    let origin = d.origin.clone();
    let page = d
        .post_raw(
            "/signin",
            b"username=alice&password=x".to_vec(),
            Some(&origin),
        )
        .await;
    assert_eq!(page.status, 403);
    assert!(page.body.contains("Reload the page"));
    let page = d.post_raw("/signin", body("0000"), Some(&origin)).await;
    assert_eq!(page.status, 403);
    // Another session's token does not work here.
    let page = d.post_raw("/signin", body(&token), Some(&origin)).await;
    assert_eq!(page.status, 403);
    // Sign-out is a POST with the token too.
    let mut e = Client::new(&svc);
    e.sign_in("", "bob", "bob-demo-pass").await;
    let origin = e.origin.clone();
    assert_eq!(
        e.post_raw("/signout", Vec::new(), Some(&origin))
            .await
            .status,
        403
    );
    assert_eq!(e.get("/change").await.status, 200, "still signed in");
}

#[actix_web::test]
async fn bad_forms_get_clear_pages_never_500() {
    let s = setup(|_| {}).await;
    let svc = init_service(app(s.state.clone())).await;
    let mut c = Client::new(&svc);
    c.get("/signin").await;
    let token = c.csrf.clone().unwrap();
    let origin = c.origin.clone();
    let cases: Vec<(Vec<u8>, u16, &str)> = vec![
        (
            format!("_csrf={token}&username=al%00ice&password=x").into_bytes(),
            400,
            "control character",
        ),
        (
            format!("_csrf={token}&username=%FF%FE&password=x").into_bytes(),
            400,
            "not valid text",
        ),
        (
            format!("_csrf={token}&username={}&password=x", "a".repeat(300)).into_bytes(),
            400,
            "too long",
        ),
        (
            format!("_csrf={token}&username=a&password=%ZZ").into_bytes(),
            400,
            "garbled",
        ),
        (
            format!("_csrf={token}&password={}", "a".repeat(20_000)).into_bytes(),
            413,
            "too large",
        ),
    ];
    for (body, status, words) in cases {
        let page = c.post_raw("/signin", body, Some(&origin)).await;
        assert_eq!(page.status, status, "{words}");
        assert!(page.body.contains(words), "{words}: {}", page.body);
        assert!(page.body.contains("<html"), "an HTML page");
    }
    let json = c
        .send(
            actix_web::test::TestRequest::post()
                .uri("/signin")
                .insert_header(("origin", "http://portal.test"))
                .insert_header(("content-type", "application/json"))
                .set_payload("{}"),
        )
        .await;
    assert_eq!(json.status, 415);
    let missing = c.get("/no/such/page").await;
    assert_eq!(missing.status, 404);
    assert_security_headers(&missing, "404");
}

#[actix_web::test]
async fn health_ready_metrics_static() {
    let s = setup(|c| c.portal.metrics = true).await;
    let svc = init_service(app(s.state.clone())).await;
    let mut c = Client::new(&svc);
    let health = c.get("/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    let ready = c.get("/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    c.sign_in("", "bob", "bob-demo-pass").await;
    Client::new(&svc).sign_in("", "bob", "wrong").await;
    let metrics = c.get("/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .body
            .contains("selfpass_signins_total{result=\"ok\"} 1"),
        "{}",
        metrics.body
    );
    assert!(
        metrics
            .body
            .contains("selfpass_signins_total{result=\"failed\"} 1")
    );
    assert!(metrics.body.contains("selfpass_core_call_seconds_count 2"));

    let css = c.get("/static/portal.css").await;
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.body.contains("prefers-color-scheme: dark"));
    assert!(css.body.contains("max-width"));
    let js = c.get("/static/portal.js").await;
    assert!(
        js.header("content-type")
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_security_headers(&js, "script");

    // No inline script or style anywhere (the CSP would block them).
    for path in ["/signin", "/change"] {
        let page = c.get(path).await;
        assert!(!page.body.contains("<script>"), "{path}");
        assert!(!page.body.contains("style="), "{path}");
        assert!(!page.body.contains("<style"), "{path}");
    }

    // Off by default.
    let s2 = setup(|_| {}).await;
    let svc2 = init_service(app(s2.state.clone())).await;
    assert_eq!(Client::new(&svc2).get("/metrics").await.status, 404);

    // The server-side strength meter behind the live one.
    let strength = c.post("/strength", &[("password", STRONG)]).await;
    assert_eq!(strength.status, 200, "{}", strength.body);
    let v: serde_json::Value = serde_json::from_str(&strength.body).unwrap();
    assert!(v["score"].as_u64().unwrap() >= v["required"].as_u64().unwrap());
}

#[actix_web::test]
async fn readyz_fails_when_truenas_is_gone() {
    let s = setup(|_| {}).await;
    let svc = init_service(app(s.state.clone())).await;
    s.demo.shutdown().await;
    let mut c = Client::new(&svc);
    let ready = c.get("/readyz").await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    assert_eq!(c.get("/healthz").await.status, 200);
    let page = c.sign_in("", "alice", ALICE_PASSWORD).await;
    assert_eq!(
        page.failure_kind(),
        Some("server-unreachable"),
        "{}",
        page.body
    );
    assert_eq!(page.status, 502, "the core's status for this kind");
}

#[actix_web::test]
async fn base_path_prefixes_every_link_and_redirect() {
    let s = setup(|c| {
        c.portal.base_path = "/passwd".into();
        c.portal.title = "Example NAS passwords".into();
        c.portal.logo_url = Some("/passwd-logo.svg".into());
        c.portal.admin_contact = "the help desk (ext. 123)".into();
    })
    .await;
    let svc = init_service(app(s.state.clone())).await;
    let mut c = Client::new(&svc);
    assert_eq!(c.get("/passwd").await.location(), "/passwd/signin");
    assert_eq!(c.get("/passwd/").await.location(), "/passwd/signin");
    assert_eq!(c.get("/signin").await.status, 404);
    let page = c.get("/passwd/signin").await;
    assert!(
        page.body
            .contains("<title>Sign in · Example NAS passwords</title>")
    );
    assert!(
        page.body
            .contains("<img src=\"/passwd-logo.svg\" alt=\"\">")
    );
    assert!(page.body.contains("ask the help desk (ext. 123)."));
    for link in [
        "/passwd/static/portal.css",
        "/passwd/static/portal.js",
        "action=\"/passwd/signin\"",
    ] {
        assert!(page.body.contains(link), "{link}");
    }
    let signed = c
        .post(
            "/passwd/signin",
            &[("username", "bob"), ("password", "bob-demo-pass")],
        )
        .await;
    assert_eq!(signed.location(), "/passwd/change");
    let change = c.get("/passwd/change").await;
    assert!(change.body.contains("action=\"/passwd/change\""));
    assert!(change.body.contains("data-url=\"/passwd/strength\""));
    assert_eq!(
        c.post("/passwd/signout", &[]).await.location(),
        "/passwd/signin?out=1"
    );
}

#[actix_web::test]
async fn https_behind_trusted_proxy_gets_host_cookie_and_hsts() {
    let s = setup(|c| c.portal.trusted_proxies = vec![Cidr::parse("10.0.0.0/8").unwrap()]).await;
    let svc = init_service(app(s.state.clone())).await;

    let mut c = Client::new(&svc);
    c.peer = "10.0.0.5:5000".parse().unwrap();
    c.headers.push(("x-forwarded-proto".into(), "https".into()));
    c.headers
        .push(("x-forwarded-for".into(), "203.0.113.50".into()));
    c.origin = "https://portal.test".into();
    let page = c.get("/signin").await;
    let cookie = &page.set_cookies()[0];
    assert!(cookie.starts_with("__Host-selfpass="), "{cookie}");
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{attr}: {cookie}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(page.header("strict-transport-security").is_some());
    let signed = c
        .post(
            "/signin",
            &[("username", "bob"), ("password", "bob-demo-pass")],
        )
        .await;
    assert_eq!(signed.location(), "/change", "{}", signed.body);
    assert_eq!(c.get("/change").await.status, 200);

    // The same headers from an untrusted peer are ignored: plain cookie, no HSTS.
    let mut u = Client::new(&svc);
    u.peer = "192.0.2.99:5000".parse().unwrap();
    u.headers.push(("x-forwarded-proto".into(), "https".into()));
    let page = u.get("/signin").await;
    assert!(page.set_cookies()[0].starts_with("selfpass="));
    assert!(page.header("strict-transport-security").is_none());
    // ...and an https Origin does not match what it really is.
    u.origin = "https://portal.test".into();
    assert_eq!(
        u.post(
            "/signin",
            &[("username", "bob"), ("password", "bob-demo-pass")]
        )
        .await
        .status,
        403
    );
}

#[actix_web::test]
async fn sessions_end_on_timeouts_and_on_change_elsewhere() {
    let s = setup(|c| {
        c.portal.idle_timeout = Duration::from_secs(1);
        c.portal.session_lifetime = Duration::from_secs(3);
    })
    .await;
    let svc = init_service(app(s.state.clone())).await;
    let mut c = Client::new(&svc);
    c.sign_in("", "bob", "bob-demo-pass").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let ended = c.get("/change").await;
    assert_eq!(ended.location(), "/signin?ended=1");
    assert!(
        c.get("/signin?ended=1")
            .await
            .body
            .contains("Your session has ended")
    );

    // Absolute lifetime: active all along, still ends.
    let s = setup(|c| {
        c.portal.idle_timeout = Duration::from_secs(60);
        c.portal.session_lifetime = Duration::from_secs(2);
    })
    .await;
    let svc = init_service(app(s.state.clone())).await;
    let mut c = Client::new(&svc);
    c.sign_in("", "bob", "bob-demo-pass").await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(800)).await;
        seen.push(c.get("/change").await.location().to_owned());
    }
    assert_eq!(seen, ["", "", "/signin?ended=1"]);

    // A change ends that user's other sessions (the cookie store cannot forget them: the core's
    // generation counter does).
    let s = setup(|_| {}).await;
    let svc = init_service(app(s.state.clone())).await;
    let mut a = Client::new(&svc);
    let mut b = Client::new(&svc);
    b.peer = "192.0.2.11:1".parse().unwrap();
    a.sign_in("", "alice", ALICE_PASSWORD).await;
    b.sign_in("", "alice", ALICE_PASSWORD).await;
    assert_eq!(b.get("/change").await.status, 200);
    a.get("/change").await;
    let changed = a
        .post(
            "/change",
            &[
                ("current", ALICE_PASSWORD),
                ("new", STRONG),
                ("confirm", STRONG),
            ],
        )
        .await;
    assert_eq!(changed.location(), "/done", "{}", changed.body);
    assert_eq!(b.get("/change").await.location(), "/signin?ended=1");
}

#[actix_web::test]
async fn warns_once_when_one_private_address_and_no_trusted_proxy() {
    let s = setup(|_| {}).await;
    let svc = init_service(app(s.state.clone())).await;
    let mut c = Client::new(&svc);
    c.peer = "10.9.8.7:1".parse().unwrap();
    for _ in 0..selfpass_web::client::PROXY_WARNING_AFTER {
        c.get("/healthz").await;
    }
    assert!(s.state.proxy_warning_logged());

    let s = setup(|c| c.portal.trusted_proxies = vec![Cidr::parse("10.9.8.7").unwrap()]).await;
    let svc = init_service(app(s.state.clone())).await;
    let mut c = Client::new(&svc);
    c.peer = "10.9.8.7:1".parse().unwrap();
    for _ in 0..selfpass_web::client::PROXY_WARNING_AFTER {
        c.get("/healthz").await;
    }
    assert!(!s.state.proxy_warning_logged());
}

#[test]
fn demo_command_line_parses() {
    let args = selfpass_web::cli::parse_from(["selfpass-web", "--demo", "--listen", "127.0.0.1:0"])
        .unwrap();
    assert!(args.demo);
}

#[actix_web::test]
async fn redis_sessions_shared_by_replicas_and_deleted_on_sign_out() {
    let Some(redis) = testkit::redis::RedisServer::start_for(
        "portal::routes::redis_sessions_shared_by_replicas_and_deleted_on_sign_out",
    )
    .unwrap() else {
        return;
    };
    let s = setup(|_| {}).await;
    let replica = || async {
        let store = selfpass_web::PortalStore::open(&redis.url()).await.unwrap();
        selfpass_web::AppState::with_session_store(s.state.core().clone(), &s.config.portal, store)
    };
    let svc_a = init_service(app(replica().await)).await;
    let svc_b = init_service(app(replica().await)).await;
    let mut a = Client::new(&svc_a);
    assert_eq!(
        a.sign_in("", "bob", "bob-demo-pass").await.location(),
        "/change"
    );
    assert_eq!(a.get("/change").await.status, 200);

    let mut b = Client::new(&svc_b);
    b.cookie = a.cookie.clone();
    let kept = a.cookie.clone();
    assert_eq!(
        b.get("/change").await.status,
        200,
        "the other replica knows the session"
    );

    assert_eq!(a.post("/signout", &[]).await.location(), "/signin?out=1");
    b.cookie = kept;
    assert_eq!(
        b.get("/change").await.location(),
        "/signin",
        "a replayed cookie of a signed-out session is void"
    );
    assert!(
        selfpass_web::PortalStore::open("memcached://x")
            .await
            .is_err()
    );
}
