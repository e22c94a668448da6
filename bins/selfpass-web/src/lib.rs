//! selfpass-web: the self-service password portal.
//!
//! Thin glue over [`selfpass_core`]: HTTP, sessions and HTML live here, every decision (names,
//! throttling, verifiers, rules, the change itself) lives in the core. [`app`] builds the whole
//! actix-web [`App`] from an [`AppState`], so tests drive it without a socket; `main.rs` only
//! parses flags, sets up logging and serves it.

pub mod cli;
pub mod client;
mod edge;
pub mod form;
pub mod metrics;
pub mod pages;
mod routes;
pub mod server;
pub mod store;
mod websession;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy};
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, middleware, web};
use selfpass_core::config::{Cidr, PortalConfig};
use selfpass_core::{Core, ExposeSecret};
use std::sync::Arc;
use std::time::Duration;

pub use client::ClientView;
pub use store::PortalStore;

/// Name of the session cookie over plain HTTP; over HTTPS it is `__Host-` + this.
pub const COOKIE_NAME: &str = "selfpass";
/// Largest request body accepted (forms are small).
pub const BODY_LIMIT: usize = 16 * 1024;

/// Portal settings the handlers read (a copy of the core configuration's portal part).
#[derive(Debug, Clone)]
pub struct PortalSettings {
    /// Path prefix, "" or e.g. "/passwd" (no trailing slash).
    pub base_path: String,
    /// Page title.
    pub title: String,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// Whom to ask about a forgotten password.
    pub admin_contact: String,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<Cidr>,
    /// Idle timeout of a portal session.
    pub idle_timeout: Duration,
    /// Absolute lifetime of a portal session.
    pub session_lifetime: Duration,
    /// Serve `/metrics`.
    pub metrics: bool,
}

impl PortalSettings {
    /// The portal part of a loaded configuration.
    pub fn from_config(portal: &PortalConfig) -> Self {
        Self {
            base_path: portal.base_path.clone(),
            title: portal.title.clone(),
            logo_url: portal.logo_url.clone(),
            admin_contact: portal.admin_contact.clone(),
            trusted_proxies: portal.trusted_proxies.clone(),
            idle_timeout: portal.idle_timeout,
            session_lifetime: portal.session_lifetime,
            metrics: portal.metrics,
        }
    }

    /// `path` below the base path (`path` starts with '/').
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_path, path)
    }
}

/// Everything the handlers share: the core, the settings, the session key and counters.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    core: Core,
    settings: PortalSettings,
    key: Key,
    store: PortalStore,
    metrics: metrics::Metrics,
    proxy_watch: client::ProxyWatch,
}

impl AppState {
    /// State for a portal serving `core` with the portal settings of `portal`, sessions in the
    /// cookie. The session key is derived from `SECRET_KEY` (HKDF); without one, a random key.
    pub fn new(core: Core, portal: &PortalConfig) -> Self {
        Self::with_session_store(core, portal, PortalStore::Cookie)
    }

    /// Like [`AppState::new`], with sessions in `store` (see [`PortalStore::open`]).
    pub fn with_session_store(core: Core, portal: &PortalConfig, store: PortalStore) -> Self {
        let key = match &portal.secret_key {
            Some(secret) if secret.expose_secret().len() >= 32 => {
                Key::derive_from(secret.expose_secret().as_bytes())
            }
            _ => Key::generate(),
        };
        Self {
            inner: Arc::new(Inner {
                core,
                settings: PortalSettings::from_config(portal),
                key,
                store,
                metrics: metrics::Metrics::default(),
                proxy_watch: client::ProxyWatch::default(),
            }),
        }
    }

    /// The core.
    pub fn core(&self) -> &Core {
        &self.inner.core
    }

    /// The portal settings.
    pub fn settings(&self) -> &PortalSettings {
        &self.inner.settings
    }

    /// The counters behind `/metrics`.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// Whether the "every request from one private address" warning has been logged.
    pub fn proxy_warning_logged(&self) -> bool {
        self.inner.proxy_watch.warned()
    }

    pub(crate) fn proxy_watch(&self) -> &client::ProxyWatch {
        &self.inner.proxy_watch
    }
}

/// The session middleware: cookie (or Redis) store, cookie encrypted and signed with the derived
/// key, a browser-session cookie (closing the browser forgets it; the idle and absolute timeouts
/// are enforced server-side from times kept in the session), `HttpOnly`,
/// `SameSite=Strict`, `Path=/`. The `__Host-` prefix and `Secure` are added per request by the edge
/// middleware when the request came over HTTPS.
fn session_middleware(state: &AppState) -> SessionMiddleware<store::StoreHandle> {
    let ttl = state.settings().session_lifetime;
    SessionMiddleware::builder(state.inner.store.handle(), state.inner.key.clone())
        .cookie_name(COOKIE_NAME.to_owned())
        .cookie_secure(false)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Strict)
        .cookie_path("/".to_owned())
        .cookie_content_security(CookieContentSecurity::Private)
        .session_lifecycle(
            BrowserSession::default()
                .state_ttl(actix_web::cookie::time::Duration::seconds(
                    i64::try_from(ttl.as_secs()).unwrap_or(3600),
                ))
                .state_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
        )
        .build()
}

/// The portal's routes, below the base path (for use inside an [`App`] that already has the
/// session and edge middleware; [`app`] is the usual entry).
pub fn configure(state: &AppState) -> impl FnOnce(&mut web::ServiceConfig) + use<> {
    let state = state.clone();
    move |cfg| routes::configure(cfg, state)
}

/// The whole portal: routes, sessions, security headers, trusted-proxy handling.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let session = session_middleware(&state);
    App::new()
        .app_data(web::Data::new(state.clone()))
        .configure(configure(&state))
        .default_service(web::to(routes::not_found))
        .wrap(session)
        .wrap(middleware::from_fn(edge::edge))
}
