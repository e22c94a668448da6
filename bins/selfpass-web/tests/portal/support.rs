//! Shared helpers: a demo backend per test, the portal's state, and a tiny cookie-keeping client
//! over actix's test service (no socket).

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderMap;
use actix_web::test::{self, TestRequest};
use selfpass_core::demo::Demo;
use selfpass_core::{Config, Core};
use selfpass_web::AppState;
use std::net::SocketAddr;
use std::time::Duration;

pub const ALICE_PASSWORD: &str = "alice-demo-pass";
pub const STRONG: &str = "Glacier-Trombone-Quiet-47-Lamp";
pub const WEAK: &str = "password";

pub struct Setup {
    pub state: AppState,
    pub config: Config,
    pub demo: Demo,
}

/// A demo simulator, a core connected to it and the portal state; `tweak` adjusts the config.
pub async fn setup(tweak: impl FnOnce(&mut Config)) -> Setup {
    let demo = selfpass_core::demo::start().await.unwrap();
    let mut config = demo.config.clone();
    config.auth.signin_floor = Duration::from_millis(50);
    tweak(&mut config);
    let core = Core::connect(config.clone()).await.unwrap();
    let state = AppState::new(core, &config.portal);
    Setup {
        state,
        config,
        demo,
    }
}

pub fn totp(secret: &str) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .unwrap();
    totp_rs::TOTP::new_unchecked(totp_rs::Algorithm::SHA1, 6, 1, 30, bytes)
        .generate_current()
        .unwrap()
}

/// One response, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn location(&self) -> &str {
        self.header("location").unwrap_or("")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The `data-kind` of the failure shown, if any.
    pub fn failure_kind(&self) -> Option<&str> {
        let start = self.body.find("data-kind=\"")? + "data-kind=\"".len();
        let end = self.body[start..].find('"')?;
        Some(&self.body[start..start + end])
    }

    /// The failure block (for byte comparisons).
    pub fn failure_block(&self) -> &str {
        let Some(start) = self.body.find("<div class=\"failure\"") else {
            return "";
        };
        let end = self.body[start..]
            .find("</div>")
            .map_or(self.body.len(), |e| start + e);
        &self.body[start..end]
    }

    pub fn csrf(&self) -> Option<String> {
        let marker = "name=\"_csrf\" value=\"";
        let start = self.body.find(marker)? + marker.len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].to_owned())
    }
}

/// A browser-like client: keeps the session cookie and the last CSRF token, sends `Origin`.
pub struct Client<'a, S> {
    svc: &'a S,
    pub cookie: Option<String>,
    pub peer: SocketAddr,
    pub headers: Vec<(String, String)>,
    pub csrf: Option<String>,
    pub origin: String,
}

impl<'a, S, B> Client<'a, S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    pub fn new(svc: &'a S) -> Self {
        Self {
            svc,
            cookie: None,
            peer: "192.0.2.10:40000".parse().unwrap(),
            headers: vec![("host".into(), "portal.test".into())],
            csrf: None,
            origin: "http://portal.test".into(),
        }
    }

    pub async fn send(&mut self, mut req: TestRequest) -> Page {
        req = req.peer_addr(self.peer);
        for (k, v) in &self.headers {
            req = req.insert_header((k.as_str(), v.as_str()));
        }
        if let Some(cookie) = &self.cookie {
            req = req.insert_header(("cookie", cookie.as_str()));
        }
        let res = test::call_service(self.svc, req.to_request()).await;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = test::read_body(res).await;
        let page = Page {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        for set in page.set_cookies() {
            let pair = set.split(';').next().unwrap_or("").to_owned();
            let removed = set.contains("Max-Age=0") || pair.ends_with('=');
            self.cookie = if removed { None } else { Some(pair) };
        }
        if let Some(token) = page.csrf() {
            self.csrf = Some(token);
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(TestRequest::get().uri(path)).await
    }

    /// A form POST with the current CSRF token and a same-origin `Origin`.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut body = format!("_csrf={}", self.csrf.clone().unwrap_or_default());
        for (k, v) in fields {
            body.push('&');
            body.push_str(&encode(k));
            body.push('=');
            body.push_str(&encode(v));
        }
        let origin = self.origin.clone();
        self.post_raw(path, body.into_bytes(), Some(&origin)).await
    }

    pub async fn post_raw(&mut self, path: &str, body: Vec<u8>, origin: Option<&str>) -> Page {
        let mut req = TestRequest::post()
            .uri(path)
            .insert_header(("content-type", "application/x-www-form-urlencoded"))
            .set_payload(body);
        if let Some(origin) = origin {
            req = req.insert_header(("origin", origin));
        }
        self.send(req).await
    }

    /// GET the sign-in page, then POST the credentials.
    pub async fn sign_in(&mut self, base: &str, user: &str, password: &str) -> Page {
        self.get(&format!("{base}/signin")).await;
        self.post(
            &format!("{base}/signin"),
            &[("username", user), ("password", password)],
        )
        .await
    }
}

pub fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Serves the portal on a real socket (127.0.0.1, free port) in this runtime; returns its address.
pub fn serve(state: &AppState) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = selfpass_web::server::start(state.clone(), listener, 1).unwrap();
    actix_web::rt::spawn(server);
    addr
}

/// A minimal async HTTP/1.1 client (one request per connection) that keeps one cookie and sends
/// whatever extra headers the test sets.
pub struct Http {
    pub addr: SocketAddr,
    pub host: String,
    pub cookie: Option<String>,
    pub headers: Vec<(String, String)>,
    pub csrf: Option<String>,
}

impl Http {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            host: addr.to_string(),
            cookie: None,
            headers: Vec::new(),
            csrf: None,
        }
    }

    pub async fn request(&mut self, method: &str, path: &str, body: Option<String>) -> Page {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.host
        );
        if let Some(cookie) = &self.cookie {
            req.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        for (k, v) in &self.headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        let body = body.unwrap_or_default();
        if method == "POST" {
            req.push_str(&format!(
                "Origin: http://{}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
                self.host,
                body.len()
            ));
        }
        req.push_str("\r\n");
        req.push_str(&body);
        let mut stream = tokio::net::TcpStream::connect(self.addr).await.unwrap();
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let mut lines = head.lines();
        let status: u16 = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut headers = HeaderMap::new();
        for line in lines {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if let (Ok(k), Ok(v)) = (
                actix_web::http::header::HeaderName::from_bytes(k.trim().as_bytes()),
                actix_web::http::header::HeaderValue::from_str(v.trim()),
            ) {
                headers.append(k, v);
            }
        }
        let chunked = headers
            .get("transfer-encoding")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"chunked"));
        let body = if chunked {
            dechunk(rest)
        } else {
            rest.to_owned()
        };
        let page = Page {
            status,
            headers,
            body,
        };
        for set in page.set_cookies() {
            let pair = set.split(';').next().unwrap_or("").to_owned();
            let removed = set.contains("Max-Age=0") || pair.ends_with('=');
            self.cookie = if removed { None } else { Some(pair) };
        }
        if let Some(token) = page.csrf() {
            self.csrf = Some(token);
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.request("GET", path, None).await
    }

    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut body = format!("_csrf={}", self.csrf.clone().unwrap_or_default());
        for (k, v) in fields {
            body.push_str(&format!("&{}={}", encode(k), encode(v)));
        }
        self.request("POST", path, Some(body)).await
    }

    pub async fn sign_in(&mut self, base: &str, user: &str, password: &str) -> Page {
        self.get(&format!("{base}/signin")).await;
        self.post(
            &format!("{base}/signin"),
            &[("username", user), ("password", password)],
        )
        .await
    }
}

fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// Where browser screenshots go: `target/screenshots/`.
pub fn screenshot_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
