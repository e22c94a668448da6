//! The handlers: read the request, call the core, render the answer. No decisions here beyond
//! HTTP ones (which page, which status, which redirect).

use crate::form::{Form, FormError};
use crate::metrics::Event;
use crate::pages::{self, ChangeView, Notice};
use crate::websession::{self, Freshness};
use crate::{AppState, BODY_LIMIT, ClientView};
use actix_session::Session as WebSession;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpRequest, HttpResponse, web};
use maud::Markup;
use selfpass_core::{ClientInfo, Failure, Kind, PendingSecondFactor, Session, SignIn};
use std::time::Instant;

type State = web::Data<AppState>;

pub(crate) fn configure(cfg: &mut web::ServiceConfig, state: AppState) {
    let base = state.settings().base_path.clone();
    let mut scope = web::scope(&base)
        .route("/", web::get().to(index))
        .route("/signin", web::get().to(sign_in_page))
        .route("/signin", web::post().to(sign_in))
        .route("/signin/code", web::get().to(code_page))
        .route("/signin/code", web::post().to(code))
        .route("/change", web::get().to(change_page))
        .route("/change", web::post().to(change))
        .route("/strength", web::post().to(strength))
        .route("/done", web::get().to(done_page))
        .route("/signout", web::post().to(sign_out))
        .route("/static/portal.css", web::get().to(css))
        .route("/static/portal.js", web::get().to(js))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz));
    if state.settings().metrics {
        scope = scope.route("/metrics", web::get().to(metrics));
    }
    if !base.is_empty() {
        // "/passwd" without the slash.
        cfg.route(&base, web::get().to(index));
    }
    cfg.service(scope);
}

fn html(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(ContentType::html())
        .body(markup.into_string())
}

fn redirect(state: &AppState, path: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, state.settings().url(path)))
        .finish()
}

fn status_of(failure: &Failure) -> StatusCode {
    StatusCode::from_u16(failure.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn failure_page(failure: &Failure, markup: Markup) -> HttpResponse {
    let mut res = html(status_of(failure), markup);
    if let Some(value) = failure
        .retry_after()
        .and_then(|after| header::HeaderValue::from_str(&after.as_secs().max(1).to_string()).ok())
    {
        res.headers_mut().insert(header::RETRY_AFTER, value);
    }
    res
}

fn error_page(state: &AppState, status: StatusCode, heading: &str, text: &str) -> HttpResponse {
    html(status, pages::error(state.settings(), heading, text))
}

/// The checks every POST passes before anything else: same origin, a form of sane size and
/// content, and the session's CSRF token.
async fn post_guard(
    state: &AppState,
    req: &HttpRequest,
    client: &ClientView,
    ws: &WebSession,
    payload: web::Payload,
) -> Result<Form, HttpResponse> {
    let forbidden = |text: &str| error_page(state, StatusCode::FORBIDDEN, "Request refused", text);
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let expected = client.origin();
    let same_origin = match origin {
        Some(origin) => origin == expected,
        None => req
            .headers()
            .get(header::REFERER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|r| {
                r.strip_prefix(&expected)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            }),
    };
    if !same_origin {
        tracing::info!(
            origin = origin.unwrap_or("-"),
            expected,
            "POST from another origin refused"
        );
        return Err(forbidden(
            "This form was sent from another site, or your browser did not say where from. Open this portal's address directly and try again.",
        ));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    let form_error = |e: FormError| {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
        error_page(state, status, "Form refused", &e.message())
    };
    if !is_form {
        return Err(form_error(FormError::NotAForm));
    }
    let body = match payload.to_bytes_limited(BODY_LIMIT).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return Err(form_error(FormError::Malformed)),
        Err(_) => return Err(form_error(FormError::TooLarge)),
    };
    let form = Form::parse(&body).map_err(form_error)?;
    if !websession::csrf_matches(ws, form.text("_csrf")) {
        return Err(forbidden(
            "This form has expired or was not sent from this portal's page. Reload the page and try again.",
        ));
    }
    Ok(form)
}

/// The signed-in user, after the timeouts and the generation check; otherwise the response to
/// send instead (a redirect to sign-in).
/// A POST from a signed-in user: the CSRF/origin guard, then the session's user.
async fn signed_in_post(
    state: &AppState,
    req: &HttpRequest,
    client: &ClientView,
    ws: &WebSession,
    payload: web::Payload,
) -> Result<(Form, selfpass_core::Session), HttpResponse> {
    let form = post_guard(state, req, client, ws, payload).await?;
    let user = require_user(state, ws).await?;
    Ok((form, user))
}

async fn require_user(
    state: &AppState,
    ws: &WebSession,
) -> Result<selfpass_core::Session, HttpResponse> {
    match websession::touch(ws, state.settings()) {
        Freshness::Ended => return Err(redirect(state, "/signin?ended=1")),
        Freshness::Anonymous => return Err(redirect(state, "/signin")),
        Freshness::Live => {}
    }
    let Some(user) = websession::user(ws) else {
        return Err(redirect(state, "/signin"));
    };
    if !state.core().session_is_current(&user).await {
        ws.purge();
        return Err(redirect(state, "/signin?ended=1"));
    }
    Ok(user)
}

async fn index(state: State, ws: WebSession) -> HttpResponse {
    match websession::user(&ws) {
        Some(_) => redirect(&state, "/change"),
        None => redirect(&state, "/signin"),
    }
}

async fn sign_in_page(state: State, ws: WebSession, req: HttpRequest) -> HttpResponse {
    if websession::touch(&ws, state.settings()) == Freshness::Live
        && websession::user(&ws).is_some()
    {
        return redirect(&state, "/change");
    }
    let query = req.query_string();
    let notice = if query.contains("ended=1") {
        Notice::Info("Your session has ended. Sign in again.".to_owned())
    } else if query.contains("out=1") {
        Notice::Info("You have signed out.".to_owned())
    } else {
        Notice::None
    };
    let token = websession::csrf_token(&ws);
    html(
        StatusCode::OK,
        pages::sign_in(state.settings(), &token, "", &notice),
    )
}

async fn sign_in(
    state: State,
    req: HttpRequest,
    client: ClientView,
    ws: WebSession,
    payload: web::Payload,
) -> HttpResponse {
    let form = match post_guard(&state, &req, &client, &ws, payload).await {
        Ok(form) => form,
        Err(res) => return res,
    };
    let started = Instant::now();
    let result = state
        .core()
        .sign_in(
            form.text("username"),
            form.secret("password"),
            ClientInfo::new(client.ip),
        )
        .await;
    state.metrics().observe(started.elapsed());
    match result {
        Ok(SignIn::Done(session)) => signed_in(&state, &ws, &session),
        Ok(SignIn::SecondFactor(pending)) => {
            websession::await_code(&ws, &pending);
            redirect(&state, "/signin/code")
        }
        Err(failure) => {
            count_failure(&state, &failure, Event::SignInFailed);
            let token = websession::csrf_token(&ws);
            let page = pages::sign_in(
                state.settings(),
                &token,
                form.text("username"),
                &Notice::Failure(failure.clone()),
            );
            failure_page(&failure, page)
        }
    }
}

/// The password (and code, if asked) proved: the session is the user's; on to the change page.
fn signed_in(state: &AppState, ws: &WebSession, session: &Session) -> HttpResponse {
    state.metrics().count(Event::SignedIn);
    websession::sign_in(ws, session);
    redirect(state, "/change")
}

/// The sign-in waiting for its two-factor code, or where to send a browser that has none.
// The same shape as the guards above: the error is the early response itself.
#[allow(clippy::result_large_err)]
fn awaiting_code(state: &AppState, ws: &WebSession) -> Result<PendingSecondFactor, HttpResponse> {
    if websession::touch(ws, state.settings()) == Freshness::Ended {
        return Err(redirect(state, "/signin?ended=1"));
    }
    websession::pending(ws).ok_or_else(|| redirect(state, "/signin"))
}

fn count_failure(state: &AppState, failure: &Failure, otherwise: Event) {
    if failure.kind() == Kind::TooManyAttempts {
        state.metrics().count(Event::Throttled);
    } else {
        state.metrics().count(otherwise);
    }
}

async fn code_page(state: State, ws: WebSession) -> HttpResponse {
    let pending = match awaiting_code(&state, &ws) {
        Ok(pending) => pending,
        Err(res) => return res,
    };
    let token = websession::csrf_token(&ws);
    html(
        StatusCode::OK,
        pages::second_factor(state.settings(), &token, &pending.username, &Notice::None),
    )
}

async fn code(
    state: State,
    req: HttpRequest,
    client: ClientView,
    ws: WebSession,
    payload: web::Payload,
) -> HttpResponse {
    let form = match post_guard(&state, &req, &client, &ws, payload).await {
        Ok(form) => form,
        Err(res) => return res,
    };
    let pending = match awaiting_code(&state, &ws) {
        Ok(pending) => pending,
        Err(res) => return res,
    };
    let started = Instant::now();
    let result = state
        .core()
        .second_factor(
            &pending,
            form.text("code").trim(),
            ClientInfo::new(client.ip),
        )
        .await;
    state.metrics().observe(started.elapsed());
    match result {
        Ok(session) => signed_in(&state, &ws, &session),
        Err(failure) => {
            count_failure(&state, &failure, Event::SignInFailed);
            let token = websession::csrf_token(&ws);
            let page = pages::second_factor(
                state.settings(),
                &token,
                &pending.username,
                &Notice::Failure(failure.clone()),
            );
            failure_page(&failure, page)
        }
    }
}

async fn change_page(state: State, ws: WebSession) -> HttpResponse {
    let user = match require_user(&state, &ws).await {
        Ok(user) => user,
        Err(res) => return res,
    };
    let rules = state.core().rules(&user).await;
    let token = websession::csrf_token(&ws);
    let view = change_view(&user, &rules, None);
    html(
        StatusCode::OK,
        pages::change(state.settings(), &token, &view, &Notice::None),
    )
}

fn change_view<'a>(
    user: &'a selfpass_core::Session,
    rules: &'a [selfpass_core::RuleText],
    strength: Option<&'a selfpass_core::Strength>,
) -> ChangeView<'a> {
    ChangeView {
        username: &user.username,
        display_name: if user.full_name.trim().is_empty() {
            &user.username
        } else {
            &user.full_name
        },
        must_change: user.must_change,
        two_factor: user.two_factor,
        rules,
        strength,
    }
}

async fn change(
    state: State,
    req: HttpRequest,
    client: ClientView,
    ws: WebSession,
    payload: web::Payload,
) -> HttpResponse {
    let (form, user) = match signed_in_post(&state, &req, &client, &ws, payload).await {
        Ok(both) => both,
        Err(res) => return res,
    };
    let token = websession::csrf_token(&ws);
    let new = form.secret("new");
    if form.text("new") != form.text("confirm") {
        let rules = state.core().rules(&user).await;
        let view = change_view(&user, &rules, None);
        let notice = Notice::Problem(
            "The new password and its confirmation differ. Type the same new password twice."
                .to_owned(),
        );
        return html(
            StatusCode::UNPROCESSABLE_ENTITY,
            pages::change(state.settings(), &token, &view, &notice),
        );
    }
    let otp = user.two_factor.then(|| form.text("otp").trim().to_owned());
    let started = Instant::now();
    let result = state
        .core()
        .change_own_password(
            &user,
            form.secret("current"),
            new,
            otp,
            ClientInfo::new(client.ip),
        )
        .await;
    state.metrics().observe(started.elapsed());
    match result {
        Ok(changed) => {
            state.metrics().count(Event::Changed);
            websession::changed(&ws, &changed.username);
            redirect(&state, "/done")
        }
        Err(failure) => {
            count_failure(&state, &failure, Event::ChangeFailed);
            let rules = state.core().rules(&user).await;
            let strength = if failure.kind() == Kind::PasswordRules {
                Some(state.core().strength(&user, &form.secret("new")).await)
            } else {
                None
            };
            let view = change_view(&user, &rules, strength.as_ref());
            let page = pages::change(
                state.settings(),
                &token,
                &view,
                &Notice::Failure(failure.clone()),
            );
            failure_page(&failure, page)
        }
    }
}

async fn strength(
    state: State,
    req: HttpRequest,
    client: ClientView,
    ws: WebSession,
    payload: web::Payload,
) -> HttpResponse {
    let (form, user) = match signed_in_post(&state, &req, &client, &ws, payload).await {
        Ok(both) => both,
        Err(res) => return res,
    };
    let strength = state.core().strength(&user, &form.secret("password")).await;
    HttpResponse::Ok().json(strength)
}

async fn done_page(state: State, ws: WebSession) -> HttpResponse {
    let Some(username) = websession::done(&ws) else {
        return redirect(&state, "/signin");
    };
    let token = websession::csrf_token(&ws);
    html(
        StatusCode::OK,
        pages::done(state.settings(), &token, &username),
    )
}

async fn sign_out(
    state: State,
    req: HttpRequest,
    client: ClientView,
    ws: WebSession,
    payload: web::Payload,
) -> HttpResponse {
    if let Err(res) = post_guard(&state, &req, &client, &ws, payload).await {
        return res;
    }
    ws.purge();
    redirect(&state, "/signin?out=1")
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(pages::CSS)
}

async fn js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(pages::JS)
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body("ok\n")
}

async fn readyz(state: State) -> HttpResponse {
    match state.core().ready().await {
        Ok(()) => HttpResponse::Ok()
            .content_type(ContentType::plaintext())
            .body("ready\n"),
        Err(failure) => HttpResponse::ServiceUnavailable()
            .content_type(ContentType::plaintext())
            .body(format!(
                "not ready: {} ({})\n",
                failure.key(),
                failure.message()
            )),
    }
}

async fn metrics(state: State) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics().render())
}

pub(crate) async fn not_found(state: State) -> HttpResponse {
    error_page(
        &state,
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no page at this address.",
    )
}
