//! The pages, server-rendered with maud. No inline script or style (the CSP forbids both): one
//! stylesheet and one small progressive script, served as files.

use crate::PortalSettings;
use maud::{DOCTYPE, Markup, html};
use selfpass_core::{Failure, RuleText, Strength};

/// The stylesheet, embedded in the binary.
pub const CSS: &str = include_str!("../assets/portal.css");
/// The progressive script (show-password toggle, live strength meter), embedded in the binary.
pub const JS: &str = include_str!("../assets/portal.js");

/// A message shown above a form.
#[derive(Debug, Clone, Default)]
pub enum Notice {
    /// Nothing.
    #[default]
    None,
    /// Information (signed out, session ended).
    Info(String),
    /// A failure from the core, rendered with its own sentence.
    Failure(Failure),
    /// A problem found by the page itself (e.g. the two new passwords differ).
    Problem(String),
}

fn layout(s: &PortalSettings, page: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                meta name="referrer" content="same-origin";
                title { (page) " · " (s.title) }
                link rel="stylesheet" href=(s.url("/static/portal.css"));
                script src=(s.url("/static/portal.js")) defer {}
            }
            body {
                main {
                    header {
                        @if let Some(logo) = &s.logo_url {
                            img src=(logo) alt="";
                        }
                        h1 { (s.title) }
                    }
                    (body)
                }
                footer { "selfpass " (selfpass_core::version()) }
            }
        }
    }
}

fn retry_words(secs: u64) -> String {
    match secs {
        0..=1 => "Try again in a second.".to_owned(),
        2..=119 => format!("Try again in {secs} seconds."),
        _ => format!("Try again in {} minutes.", secs.div_ceil(60)),
    }
}

fn notice(n: &Notice) -> Markup {
    html! {
        @match n {
            Notice::None => {}
            Notice::Info(text) => div.notice role="status" { p { (text) } }
            Notice::Problem(text) => div.failure role="alert" { p { strong { (text) } } }
            Notice::Failure(f) => div.failure role="alert" data-kind=(f.key()) {
                p { strong { (f.message()) } }
                @if let Some(after) = f.retry_after() {
                    p.retry { (retry_words(after.as_secs().max(1))) }
                }
                @if !f.violations().is_empty() {
                    ul.violations {
                        @for v in f.violations() { li data-rule=(v.key) { (v.message) } }
                    }
                }
                @if let Some(detail) = f.detail() { p { (detail) } }
                @if !f.hint().is_empty() { p.hint { (f.hint()) } }
            }
        }
    }
}

fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="_csrf" value=(token); }
}

/// The sign-in page.
pub fn sign_in(s: &PortalSettings, token: &str, username: &str, n: &Notice) -> Markup {
    layout(
        s,
        "Sign in",
        html! {
            h2 { "Sign in to change your password" }
            (notice(n))
            form method="post" action=(s.url("/signin")) {
                (csrf(token))
                label for="username" { "Username" }
                input type="text" id="username" name="username" value=(username) required
                    autocomplete="username" autocapitalize="none" spellcheck="false" autofocus;
                label for="password" { "Current password" }
                div.field {
                    input type="password" id="password" name="password" required
                        autocomplete="current-password" data-toggle;
                }
                button.primary type="submit" { "Sign in" }
            }
            p.forgot {
                "Forgot your password? It cannot be reset here: ask " (s.admin_contact) "."
            }
        },
    )
}

/// The two-factor step.
pub fn second_factor(s: &PortalSettings, token: &str, username: &str, n: &Notice) -> Markup {
    layout(
        s,
        "Two-factor code",
        html! {
            h2 { "Enter your two-factor code" }
            (notice(n))
            p.muted { "Signing in as " strong { (username) } ". Open your authenticator app for the current code." }
            form method="post" action=(s.url("/signin/code")) {
                (csrf(token))
                label for="code" { "Two-factor code" }
                input type="text" id="code" name="code" required autocomplete="one-time-code"
                    inputmode="numeric" pattern="[0-9 ]*" autofocus;
                button.primary type="submit" { "Continue" }
            }
            p.muted { a href=(s.url("/signin")) { "Start again" } }
        },
    )
}

/// What the change page shows.
#[derive(Debug, Default)]
pub struct ChangeView<'a> {
    /// The signed-in user's name.
    pub username: &'a str,
    /// How to greet them.
    pub display_name: &'a str,
    /// The password has expired: say so.
    pub must_change: bool,
    /// Ask for a two-factor code.
    pub two_factor: bool,
    /// The rules, shown before typing.
    pub rules: &'a [RuleText],
    /// Server-side strength of the refused new password.
    pub strength: Option<&'a Strength>,
}

/// The change-password page.
pub fn change(s: &PortalSettings, token: &str, v: &ChangeView<'_>, n: &Notice) -> Markup {
    layout(
        s,
        "Change password",
        html! {
            p.muted { "Signed in as " strong { (v.display_name) } "." }
            @if v.must_change {
                div.notice role="status" { p { strong { "Your password has expired." } " Choose a new one now to keep using your account." } }
            }
            h2 { "Choose a new password" }
            (notice(n))
            section.rules id="rules" aria-label="Password rules" {
                h3 { "Your new password must:" }
                ul { @for rule in v.rules { li data-rule=(rule.key) { (rule.text) } } }
            }
            form method="post" action=(s.url("/change")) {
                (csrf(token))
                input type="text" name="username" value=(v.username) autocomplete="username" hidden readonly;
                label for="current" { "Current password" }
                div.field {
                    input type="password" id="current" name="current" required
                        autocomplete="current-password" data-toggle;
                }
                label for="new-password" { "New password" }
                div.field {
                    input type="password" id="new-password" name="new" required
                        autocomplete="new-password" aria-describedby="rules strength-text" data-toggle;
                }
                div.strength {
                    meter id="strength" min="0" max="4" low="2" high="3" optimum="4"
                        value=(v.strength.map_or(0, |st| st.score)) data-url=(s.url("/strength"))
                        aria-label="Password strength" {}
                    span id="strength-text" aria-live="polite" {
                        @if let Some(st) = v.strength {
                            "Strength " (st.score) " of 4 (" (st.required) " needed)."
                            @for f in &st.feedback { " " (f) }
                        }
                    }
                }
                label for="confirm" { "New password again" }
                div.field {
                    input type="password" id="confirm" name="confirm" required
                        autocomplete="new-password" data-toggle;
                }
                @if v.two_factor {
                    label for="otp" { "Two-factor code" }
                    input type="text" id="otp" name="otp" required autocomplete="one-time-code"
                        inputmode="numeric";
                }
                button.primary type="submit" { "Change password" }
            }
            (sign_out_form(s, token, "Sign out"))
        },
    )
}

fn sign_out_form(s: &PortalSettings, token: &str, words: &str) -> Markup {
    html! {
        form.signout method="post" action=(s.url("/signout")) {
            (csrf(token))
            button.link type="submit" { (words) }
        }
    }
}

/// The page after a successful change.
pub fn done(s: &PortalSettings, token: &str, username: &str) -> Markup {
    layout(
        s,
        "Password changed",
        html! {
            div.success role="status" {
                h2 { "Your password has been changed" }
                p { "The password of " strong { (username) } " is now the new one." }
            }
            p {
                strong { "Re-enter the new password wherever a device saved the old one: " }
                "mapped network drives, phones and tablets, laptops, backup jobs and mail or sync apps. "
                "Until you do, they keep trying the old password, fail, and may get your address blocked for a while."
            }
            p.muted { "Every other signed-in session of yours on this portal has ended." }
            (sign_out_form(s, token, "Sign out"))
        },
    )
}

/// A page for requests the portal refuses before any operation (bad form, foreign origin, 404).
pub fn error(s: &PortalSettings, heading: &str, text: &str) -> Markup {
    layout(
        s,
        heading,
        html! {
            h2 { (heading) }
            div.failure role="alert" { p { (text) } }
            p { a href=(s.url("/signin")) { "Back to the start" } }
        },
    )
}
