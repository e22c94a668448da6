//! End to end in real headless Chromium (chromedriver + fantoccini over plain HTTP), against the
//! demo backend: alice signs in, sees the rules, is refused a weak password with the reasons,
//! changes to a strong one, signs out; then the old password fails and the new one works.
//! Each page is saved as a screenshot in `target/screenshots/`.

use crate::support::*;
use fantoccini::{Client, ClientBuilder, Locator};
use std::time::{Duration, Instant};
use testkit::chromedriver::{CHROMIUM_ARGS, ChromeDriver};

/// A browser session; `phone` emulates a 390 px wide screen in dark mode.
async fn browser(driver: &ChromeDriver, phone: bool) -> Client {
    let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| (*a).to_owned()).collect();
    let mut options = serde_json::json!({ "binary": driver.chromium().to_string_lossy() });
    if phone {
        args.push("--blink-settings=preferredColorScheme=0".into()); // 0 = dark
        options["mobileEmulation"] = serde_json::json!({
            "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 1.0 }
        });
    } else {
        args.push("--window-size=1024,900".into());
    }
    options["args"] = serde_json::json!(args);
    let mut caps = serde_json::Map::new();
    caps.insert("goog:chromeOptions".into(), options);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .expect("WebDriver session")
}

async fn wait_for_path(client: &Client, path: &str) {
    let started = Instant::now();
    loop {
        let url = client.current_url().await.unwrap();
        let here = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        };
        if here == path {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "still at {here}, waiting for {path}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn shot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
}

async fn type_into(client: &Client, css: &str, text: &str) {
    let field = client.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(text).await.unwrap();
}

async fn submit(client: &Client) {
    client
        .find(Locator::Css("form button.primary"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

async fn sign_in(client: &Client, base: &str, user: &str, password: &str) {
    client.goto(&format!("{base}/signin")).await.unwrap();
    type_into(client, "#username", user).await;
    type_into(client, "#password", password).await;
    submit(client).await;
}

async fn failure_kind(client: &Client) -> Option<String> {
    let el = client.find(Locator::Css(".failure")).await.ok()?;
    el.attr("data-kind").await.ok().flatten()
}

#[actix_web::test]
async fn alice_in_chromium() {
    let Some(driver) = ChromeDriver::start_for("portal::browser::alice_in_chromium").unwrap()
    else {
        return;
    };
    let s = setup(|_| {}).await;
    let base = format!("http://{}", serve(&s.state));
    let client = browser(&driver, false).await;
    client.goto(&format!("{base}/signin")).await.unwrap();
    shot(&client, "1-signin").await;

    sign_in(&client, &base, "alice", ALICE_PASSWORD).await;
    wait_for_path(&client, "/change").await;
    let rules = client.find_all(Locator::Css("#rules li")).await.unwrap();
    assert!(!rules.is_empty(), "rules shown before typing");
    shot(&client, "2-change").await;

    // The show-password toggle comes from the script (the CSP allows it: same origin).
    let toggle = client
        .find(Locator::Css("button.toggle[aria-controls=current]"))
        .await
        .expect("toggle button added by portal.js");
    type_into(&client, "#current", ALICE_PASSWORD).await;
    toggle.click().await.unwrap();
    let current = client.find(Locator::Css("#current")).await.unwrap();
    assert_eq!(current.attr("type").await.unwrap().as_deref(), Some("text"));
    toggle.click().await.unwrap();
    assert_eq!(
        current.attr("type").await.unwrap().as_deref(),
        Some("password")
    );

    // A weak password: refused with every reason.
    type_into(&client, "#new-password", WEAK).await;
    type_into(&client, "#confirm", WEAK).await;
    submit(&client).await;
    wait_for_path(&client, "/change").await;
    assert_eq!(
        failure_kind(&client).await.as_deref(),
        Some("password-rules")
    );
    let reasons = client.find_all(Locator::Css(".failure li")).await.unwrap();
    assert!(reasons.len() >= 2, "every unmet rule listed");
    shot(&client, "3-refused").await;

    // The live meter scores a strong password.
    type_into(&client, "#current", ALICE_PASSWORD).await;
    type_into(&client, "#new-password", STRONG).await;
    let started = Instant::now();
    loop {
        let value = client
            .execute("return document.getElementById('strength').value;", vec![])
            .await
            .unwrap();
        if value.as_f64().unwrap_or(0.0) >= 3.0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "meter stuck at {value}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    type_into(&client, "#confirm", STRONG).await;
    shot(&client, "4-strong").await;
    submit(&client).await;
    wait_for_path(&client, "/done").await;
    let body = client
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("Re-enter the new password"), "{body}");
    shot(&client, "5-done").await;

    client
        .find(Locator::Css("form.signout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/signin?out=1").await;
    shot(&client, "6-signed-out").await;

    sign_in(&client, &base, "alice", ALICE_PASSWORD).await;
    wait_for_path(&client, "/signin").await;
    assert_eq!(
        failure_kind(&client).await.as_deref(),
        Some("wrong-credentials")
    );
    shot(&client, "7-old-password-refused").await;

    sign_in(&client, &base, "alice", STRONG).await;
    wait_for_path(&client, "/change").await;
    client
        .find(Locator::Css("form.signout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for_path(&client, "/signin?out=1").await;

    // The two-factor step (frank): the code page, then the change form asks for a code too.
    sign_in(&client, &base, "frank", "frank-demo-pass").await;
    wait_for_path(&client, "/signin/code").await;
    shot(&client, "9-second-factor").await;
    type_into(&client, "#code", &totp("JBSWY3DPEHPK3PXP")).await;
    submit(&client).await;
    wait_for_path(&client, "/change").await;
    assert!(
        client.find(Locator::Css("#otp")).await.is_ok(),
        "code field on the change form"
    );
    client.close().await.unwrap();

    // Phone width, dark mode: the pages fit without sideways scrolling and follow the scheme.
    let phone = browser(&driver, true).await;
    sign_in(&phone, &base, "bob", "bob-demo-pass").await;
    wait_for_path(&phone, "/change").await;
    let check = phone
        .execute(
            "return [window.innerWidth, document.documentElement.scrollWidth <= window.innerWidth, \
             matchMedia('(prefers-color-scheme: dark)').matches, \
             getComputedStyle(document.body).backgroundColor];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(check[0], serde_json::json!(390), "{check}");
    assert_eq!(
        check[1],
        serde_json::Value::Bool(true),
        "no sideways scrolling: {check}"
    );
    assert_eq!(
        check[2],
        serde_json::Value::Bool(true),
        "dark scheme: {check}"
    );
    assert_eq!(
        check[3],
        serde_json::json!("rgb(17, 24, 39)"),
        "dark background: {check}"
    );
    shot(&phone, "8-change-phone-dark").await;
    phone.close().await.unwrap();
}
