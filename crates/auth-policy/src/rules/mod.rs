//! What a new password must meet. Every unmet rule is reported at once, so the form can show them
//! all; each reason has a stable key ([`RuleViolation::key`]).
//!
//! Non-NFC input is refused rather than normalised: TrueNAS hashes the bytes it is given, and a
//! person's other clients (SMB, SSH, the TrueNAS UI) send the bytes their keyboard produced. If we
//! stored the NFC form of an NFD password, those clients would no longer match it. Refusing tells
//! the person at the one moment they can still choose.
//!
//! Password history is the server's to enforce (only it holds old hashes); the minimum password
//! age is ours, because `user.update` does not enforce it.

mod common;

pub use common::{AdminList, builtin_len};

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
use unicode_segmentation::UnicodeSegmentation;

use crate::{Error, Result};

/// The shortest minimum length anyone may configure, in graphemes.
pub const FLOOR_MIN_LENGTH: u32 = 8;
/// The default minimum length, in graphemes.
pub const DEFAULT_MIN_LENGTH: u32 = 15;
/// The longest password accepted, in graphemes (never truncated: longer is refused).
pub const MAX_LENGTH: u32 = 128;
/// The default minimum zxcvbn score (0–4).
pub const DEFAULT_MIN_SCORE: u8 = 3;

/// A character class of TrueNAS's password complexity setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CharClass {
    /// An upper-case letter.
    Upper,
    /// A lower-case letter.
    Lower,
    /// A digit.
    Number,
    /// Anything else that is not a letter or digit.
    Special,
}

impl CharClass {
    fn of(c: char) -> CharClass {
        if c.is_uppercase() {
            CharClass::Upper
        } else if c.is_lowercase() {
            CharClass::Lower
        } else if c.is_numeric() {
            CharClass::Number
        } else {
            CharClass::Special
        }
    }
}

/// The server's own password policy (`system.security.config`) and the user's last change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerPolicy {
    /// The server's minimum length, if any.
    pub min_length: Option<u32>,
    /// Classes every password must contain.
    pub complexity: BTreeSet<CharClass>,
    /// How many earlier passwords the server refuses (it enforces this itself).
    pub history_length: Option<u32>,
    /// Days a password must be kept before the user may change it again.
    pub min_age_days: Option<u32>,
    /// When the user's password last changed.
    pub last_password_change: Option<SystemTime>,
}

/// Our own rule settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulesConfig {
    min_length: u32,
    min_score: u8,
    admin_list: AdminList,
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig {
            min_length: DEFAULT_MIN_LENGTH,
            min_score: DEFAULT_MIN_SCORE,
            admin_list: AdminList::default(),
        }
    }
}

impl RulesConfig {
    /// Sets the minimum length: between [`FLOOR_MIN_LENGTH`] and [`MAX_LENGTH`] graphemes.
    pub fn with_min_length(mut self, min_length: u32) -> Result<Self> {
        if min_length < FLOOR_MIN_LENGTH {
            return Err(Error::config(
                "password.min_length",
                format!("{min_length} is below the floor of {FLOOR_MIN_LENGTH}"),
            ));
        }
        if min_length > MAX_LENGTH {
            return Err(Error::config(
                "password.min_length",
                format!("{min_length} is above {MAX_LENGTH}"),
            ));
        }
        self.min_length = min_length;
        Ok(self)
    }

    /// Sets the minimum zxcvbn score (0–4).
    pub fn with_min_score(mut self, min_score: u8) -> Result<Self> {
        if min_score > 4 {
            return Err(Error::config(
                "password.min_score",
                "must be between 0 and 4",
            ));
        }
        self.min_score = min_score;
        Ok(self)
    }

    /// Adds the admin's list of refused passwords.
    pub fn with_admin_list(mut self, list: AdminList) -> Self {
        self.admin_list = list;
        self
    }

    /// Our rules merged with the server's, the stricter winning.
    pub fn effective(&self, server: Option<&ServerPolicy>) -> EffectivePolicy {
        let server_min = server.and_then(|s| s.min_length).unwrap_or(0);
        EffectivePolicy {
            min_length: self.min_length.max(server_min).min(MAX_LENGTH),
            max_length: MAX_LENGTH,
            min_score: self.min_score,
            complexity: server.map(|s| s.complexity.clone()).unwrap_or_default(),
            history_length: server.and_then(|s| s.history_length),
            min_age_days: server.and_then(|s| s.min_age_days),
        }
    }
}

/// The rules in force after merging: what a form shows before anyone types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EffectivePolicy {
    /// Minimum length in graphemes.
    pub min_length: u32,
    /// Maximum length in graphemes.
    pub max_length: u32,
    /// Minimum zxcvbn score.
    pub min_score: u8,
    /// Required character classes.
    pub complexity: BTreeSet<CharClass>,
    /// Earlier passwords the server refuses (enforced by the server).
    pub history_length: Option<u32>,
    /// Minimum days between changes (enforced by the core, for self-service).
    pub min_age_days: Option<u32>,
}

/// Who sets the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The user, proving the current password.
    SelfService,
    /// An admin (CLI). "Differs from the current one" and the minimum age do not apply. With
    /// `override_rules` (audited by the caller) only the rules that keep the password usable stay:
    /// maximum length, printable, NFC and the absolute floor of [`FLOOR_MIN_LENGTH`].
    AdminReset {
        /// The admin explicitly overrode the quality rules.
        override_rules: bool,
    },
}

/// What the rules know about the user and the moment.
#[derive(Debug, Clone)]
pub struct PasswordContext<'a> {
    /// The exact user name.
    pub username: &'a str,
    /// The user's full name, if any.
    pub full_name: Option<&'a str>,
    /// Names of the server (host name, FQDN, NetBIOS name).
    pub host_names: &'a [String],
    /// The current password, when the user just proved it.
    pub current: Option<&'a SecretString>,
    /// The server's policy, if read.
    pub server: Option<&'a ServerPolicy>,
    /// Now (for the minimum age).
    pub now: SystemTime,
    /// Who sets the password.
    pub purpose: Purpose,
}

impl<'a> PasswordContext<'a> {
    /// A self-service context for `username` with nothing else known.
    pub fn new(username: &'a str) -> Self {
        PasswordContext {
            username,
            full_name: None,
            host_names: &[],
            current: None,
            server: None,
            now: SystemTime::now(),
            purpose: Purpose::SelfService,
        }
    }
}

/// Which personal detail a password contains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonalField {
    /// The user name.
    Username,
    /// The full name.
    FullName,
    /// A name of the server.
    HostName,
}

/// Which list a password is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ListSource {
    /// The list shipped with selfpass.
    Builtin,
    /// The admin's list.
    Admin,
}

/// One unmet rule. The serialised form carries the stable key in `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "key")]
#[non_exhaustive]
pub enum RuleViolation {
    /// Fewer graphemes than the minimum.
    #[serde(rename = "too-short")]
    TooShort {
        /// The minimum.
        min: u32,
        /// The length given.
        length: u32,
    },
    /// More graphemes than the maximum.
    #[serde(rename = "too-long")]
    TooLong {
        /// The maximum.
        max: u32,
        /// The length given.
        length: u32,
    },
    /// Contains control, format, private-use or non-characters.
    #[serde(rename = "not-printable")]
    NotPrintable,
    /// Not in Unicode NFC form.
    #[serde(rename = "not-nfc")]
    NotNfc,
    /// The same as the current password.
    #[serde(rename = "same-as-current")]
    SameAsCurrent,
    /// Contains the user name, full name or a server name.
    #[serde(rename = "contains-personal-info")]
    ContainsPersonalInfo {
        /// Which detail.
        field: PersonalField,
    },
    /// On a list of common passwords.
    #[serde(rename = "common-password")]
    Common {
        /// Which list.
        list: ListSource,
    },
    /// Too easy to guess by zxcvbn's estimate.
    #[serde(rename = "too-weak")]
    Weak {
        /// zxcvbn's score.
        score: u8,
        /// The required score.
        required: u8,
        /// zxcvbn's warning, if any.
        warning: Option<String>,
        /// zxcvbn's suggestions.
        suggestions: Vec<String>,
    },
    /// A character class the server requires is missing.
    #[serde(rename = "missing-character-class")]
    MissingClass {
        /// The class.
        class: CharClass,
    },
    /// Changed too recently (the server's minimum password age).
    #[serde(rename = "too-soon")]
    TooSoon {
        /// Seconds since the Unix epoch from which a change is allowed.
        allowed_from_unix: u64,
    },
}

impl RuleViolation {
    /// The stable key, the same as the serialised `key` field.
    pub fn key(&self) -> &'static str {
        match self {
            RuleViolation::TooShort { .. } => "too-short",
            RuleViolation::TooLong { .. } => "too-long",
            RuleViolation::NotPrintable => "not-printable",
            RuleViolation::NotNfc => "not-nfc",
            RuleViolation::SameAsCurrent => "same-as-current",
            RuleViolation::ContainsPersonalInfo { .. } => "contains-personal-info",
            RuleViolation::Common { .. } => "common-password",
            RuleViolation::Weak { .. } => "too-weak",
            RuleViolation::MissingClass { .. } => "missing-character-class",
            RuleViolation::TooSoon { .. } => "too-soon",
        }
    }
}

impl fmt::Display for RuleViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleViolation::TooShort { min, .. } => write!(f, "Use at least {min} characters."),
            RuleViolation::TooLong { max, .. } => write!(f, "Use at most {max} characters."),
            RuleViolation::NotPrintable => f.write_str("Use only visible characters and spaces."),
            RuleViolation::NotNfc => f.write_str(
                "Your keyboard sent decomposed accents; retype the password or use composed characters.",
            ),
            RuleViolation::SameAsCurrent => f.write_str("Choose a password different from the current one."),
            RuleViolation::ContainsPersonalInfo { field } => match field {
                PersonalField::Username => f.write_str("Do not include your user name."),
                PersonalField::FullName => f.write_str("Do not include your name."),
                PersonalField::HostName => f.write_str("Do not include the server's name."),
            },
            RuleViolation::Common { .. } => f.write_str("This password is too common."),
            RuleViolation::Weak { warning, .. } => match warning {
                Some(w) => write!(f, "Too easy to guess: {w}"),
                None => f.write_str("Too easy to guess; add more words."),
            },
            RuleViolation::MissingClass { class } => match class {
                CharClass::Upper => f.write_str("Include an upper-case letter."),
                CharClass::Lower => f.write_str("Include a lower-case letter."),
                CharClass::Number => f.write_str("Include a digit."),
                CharClass::Special => f.write_str("Include a symbol."),
            },
            RuleViolation::TooSoon { .. } => f.write_str("Your password was changed too recently."),
        }
    }
}

fn is_unprintable(c: char) -> bool {
    let cp = u32::from(c);
    c.is_control()
        // Invisible format characters: zero-width, bidi controls, word joiners, BOM.
        || matches!(cp, 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0xFEFF | 0x00AD)
        // Private use: renders differently everywhere, cannot be typed back reliably.
        || matches!(cp, 0xE000..=0xF8FF | 0xF0000..=0x10FFFF)
        // Non-characters.
        || matches!(cp, 0xFDD0..=0xFDEF)
        || cp & 0xFFFE == 0xFFFE
}

/// Splits into parts of at least three characters; shorter parts would refuse too much.
fn parts(text: &str, split: impl Fn(char) -> bool) -> Vec<String> {
    let folded = common::fold(text);
    let mut out: Vec<String> = folded
        .split(split)
        .filter(|p| p.chars().count() >= 3)
        .map(str::to_owned)
        .collect();
    if folded.chars().count() >= 3 {
        out.push(folded);
    }
    out
}

/// Every unmet rule for `password` in `context`; empty when it may be used.
pub fn check(
    config: &RulesConfig,
    password: &SecretString,
    context: &PasswordContext<'_>,
) -> Vec<RuleViolation> {
    let password = password.expose_secret();
    let policy = config.effective(context.server);
    let mut out = Vec::new();
    let length = u32::try_from(password.graphemes(true).count()).unwrap_or(u32::MAX);
    let quality = !matches!(
        context.purpose,
        Purpose::AdminReset {
            override_rules: true
        }
    );
    let self_service = context.purpose == Purpose::SelfService;

    let min = if quality {
        policy.min_length
    } else {
        FLOOR_MIN_LENGTH
    };
    if length < min {
        out.push(RuleViolation::TooShort { min, length });
    }
    if length > policy.max_length {
        out.push(RuleViolation::TooLong {
            max: policy.max_length,
            length,
        });
    }
    if password.chars().any(is_unprintable) {
        out.push(RuleViolation::NotPrintable);
    }
    let nfc = match is_nfc_quick(password.chars()) {
        IsNormalized::Yes => true,
        IsNormalized::No => false,
        IsNormalized::Maybe => password.nfc().eq(password.chars()),
    };
    if !nfc {
        out.push(RuleViolation::NotNfc);
    }
    if self_service && let Some(since) = too_soon(context) {
        out.push(RuleViolation::TooSoon {
            allowed_from_unix: since,
        });
    }
    if !quality {
        return out;
    }
    if self_service
        && context
            .current
            .is_some_and(|c| c.expose_secret() == password)
    {
        out.push(RuleViolation::SameAsCurrent);
    }

    let folded = common::fold(password);
    let user_parts = parts(context.username, |c| {
        matches!(c, '.' | '_' | '-' | '@' | '\\')
    });
    let name_parts = context
        .full_name
        .map(|n| parts(n, |c: char| !c.is_alphanumeric()))
        .unwrap_or_default();
    // A host's first label and its full name only: splitting `example.com` would refuse "com".
    let host_parts: Vec<String> = context
        .host_names
        .iter()
        .flat_map(|h| {
            let h = common::fold(h);
            let first = h.split('.').next().unwrap_or_default().to_owned();
            [h, first]
        })
        .filter(|p| p.chars().count() >= 3)
        .collect();
    for (field, list) in [
        (PersonalField::Username, &user_parts),
        (PersonalField::FullName, &name_parts),
        (PersonalField::HostName, &host_parts),
    ] {
        if list.iter().any(|p| folded.contains(p.as_str())) {
            out.push(RuleViolation::ContainsPersonalInfo { field });
        }
    }

    if common::in_builtin(&folded) {
        out.push(RuleViolation::Common {
            list: ListSource::Builtin,
        });
    } else if config.admin_list.contains(&folded) {
        out.push(RuleViolation::Common {
            list: ListSource::Admin,
        });
    }

    let inputs: Vec<&str> = user_parts
        .iter()
        .chain(&name_parts)
        .chain(&host_parts)
        .map(String::as_str)
        .collect();
    let entropy = zxcvbn::zxcvbn(password, &inputs);
    let score = entropy.score() as u8;
    if score < policy.min_score {
        let feedback = entropy.feedback();
        out.push(RuleViolation::Weak {
            score,
            required: policy.min_score,
            warning: feedback.and_then(|f| f.warning()).map(|w| w.to_string()),
            suggestions: feedback
                .map(|f| f.suggestions().iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
        });
    }

    let present: BTreeSet<CharClass> = password.chars().map(CharClass::of).collect();
    for &class in &policy.complexity {
        if !present.contains(&class) {
            out.push(RuleViolation::MissingClass { class });
        }
    }
    out
}

/// When the minimum age forbids a change now, the Unix second from which it is allowed.
fn too_soon(context: &PasswordContext<'_>) -> Option<u64> {
    let server = context.server?;
    let days = server.min_age_days.filter(|&d| d > 0)?;
    let last = server.last_password_change?;
    let allowed = last.checked_add(Duration::from_secs(u64::from(days) * 86_400))?;
    (context.now < allowed).then(|| {
        allowed
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

#[cfg(test)]
mod tests;
