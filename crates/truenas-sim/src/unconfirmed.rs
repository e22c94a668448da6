//! Every behaviour the spec marks UNCONFIRMED (or that it leaves open), in one place, so each is
//! easy to change once it is seen on a live server.

use serde_json::{Value, json};

use crate::accounts::Store;
use crate::wire_error::{MethodError, errno};

/// aiohttp's default `max_msg_size` (4 MiB): a larger frame closes 1009 before the middleware
/// sees it (UNCONFIRMED, §1.6).
pub(crate) const TRANSPORT_MAX_MESSAGE: usize = 4 * 1024 * 1024;
/// The close reason for such a frame (aiohttp's wording is not in the spec).
pub(crate) const TRANSPORT_TOO_BIG: &str = "Message too big";

/// The synthetic container-root user `user.query` appends (`idmap.synthetic_user`): its name,
/// uid and id are not in the spec. Its id is above 100000000, so `user.update` on it is EPERM.
pub(crate) fn add_synthetic_container_root(store: &mut Store) {
    let id = 2_147_000_001_i64;
    let entry = json!({
        "id": id, "uid": id, "username": "truenas_container_root",
        "unixhash": "*", "smbhash": null, "home": "/var/empty", "shell": "/usr/sbin/nologin",
        "full_name": "Container root", "builtin": true, "smb": false, "userns_idmap": null,
        "group": {"id": id, "bsdgrp_gid": id, "bsdgrp_group": "truenas_container_root",
                  "bsdgrp_builtin": true, "bsdgrp_sudo_commands": [], "bsdgrp_sudo_commands_nopasswd": [],
                  "bsdgrp_smb": false, "bsdgrp_userns_idmap": null},
        "groups": [], "password_disabled": true, "ssh_password_enabled": false, "sshpubkey": null,
        "locked": true, "sudo_commands": [], "sudo_commands_nopasswd": [], "email": null,
        "local": true, "immutable": true, "twofactor_auth_configured": false, "sid": null,
        "last_password_change": null, "password_history": [],
    });
    if let Value::Object(m) = entry {
        store.users.push(m);
    }
}

/// 25.10.1 `user.set_password` by a FULL_ADMIN for a user that does not exist: the next line
/// indexes an empty result and raises a TypeError (-32001). The exact text is derived.
pub(crate) fn set_password_missing_user_25() -> MethodError {
    MethodError::Exception {
        class: "TypeError".into(),
        reason: "'NoneType' object is not subscriptable".into(),
        repr: "TypeError(\"'NoneType' object is not subscriptable\")".into(),
        errno: errno::EINVAL,
    }
}

/// `get_instance` / `user.update` of an id that does not exist (`InstanceNotFound`).
pub(crate) fn instance_not_found(attr: &str, id: &Value) -> MethodError {
    MethodError::Validation(vec![(
        attr.to_owned(),
        format!("User {id} does not exist"),
        errno::ENOENT,
    )])
}

/// `auth.mechanism_choices` before login reads an attribute of `None` (derived from source).
pub(crate) fn mechanism_choices_before_login() -> MethodError {
    MethodError::Exception {
        class: "AttributeError".into(),
        reason: "'NoneType' object has no attribute 'may_create_auth_token'".into(),
        repr: "AttributeError(\"'NoneType' object has no attribute 'may_create_auth_token'\")"
            .into(),
        errno: errno::EINVAL,
    }
}

/// `auth.generate_token` in a one-time-password session (`may_create_auth_token = False`).
pub(crate) fn token_refused_for_otpw() -> MethodError {
    MethodError::call(
        errno::EPERM,
        "Authentication token may not be generated for this session",
    )
}

/// Whether a one-time-password login bypasses a hard-expired password (UNCONFIRMED §2.5): yes,
/// since an admin hands one out precisely to recover such an account.
pub(crate) const OTPW_BYPASSES_EXPIRY: bool = true;

/// Python `json` parse-error text approximated from serde_json's error position.
pub(crate) fn python_json_error(text: &str, err: &serde_json::Error) -> String {
    let chars: Vec<char> = text.chars().collect();
    let line = err.line().max(1);
    let col = err.column().max(1);
    let mut pos: usize = text
        .split('\n')
        .take(line - 1)
        .map(|l| l.chars().count() + 1)
        .sum::<usize>()
        + col
        - 1;
    let msg = err.to_string();
    let what = if text.trim().is_empty()
        || msg.starts_with("expected value")
        || msg.starts_with("expected ident")
    {
        // Python points at the start of the bad token; serde_json somewhere inside it.
        pos = pos.min(chars.len());
        while pos > 0 && chars[pos - 1].is_alphanumeric() {
            pos -= 1;
        }
        if text.trim().is_empty() {
            pos = chars.iter().take_while(|c| c.is_whitespace()).count();
        }
        "Expecting value"
    } else if msg.starts_with("EOF while parsing a string") {
        "Unterminated string starting at"
    } else if msg.starts_with("key must be a string") {
        "Expecting property name enclosed in double quotes"
    } else if msg.starts_with("expected `:`") {
        "Expecting ':' delimiter"
    } else if msg.starts_with("trailing characters") {
        "Extra data"
    } else {
        "Expecting ',' delimiter"
    };
    let pos = pos.min(chars.len());
    let before = &chars[..pos];
    let line = before.iter().filter(|c| **c == '\n').count() + 1;
    let col = pos - before.iter().rposition(|c| *c == '\n').map_or(0, |i| i + 1) + 1;
    format!("{what}: line {line} column {col} (char {pos})")
}

/// `~` filter: Python `re.search` for the subset `^ $ . * + ?` and literals (no regex crate).
pub(crate) fn regex_search(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    if p.first() == Some(&'^') {
        return match_here(&p[1..], &t);
    }
    (0..=t.len()).any(|i| match_here(&p, &t[i..]))
}

fn match_here(p: &[char], t: &[char]) -> bool {
    if p.is_empty() {
        return true;
    }
    if p == ['$'] {
        return t.is_empty();
    }
    if p.len() >= 2 && matches!(p[1], '*' | '+' | '?') {
        let c = p[0];
        let one = |x: Option<&char>| x.is_some_and(|x| c == '.' || *x == c);
        let rest = &p[2..];
        return match p[1] {
            '?' => (one(t.first()) && match_here(rest, &t[1..])) || match_here(rest, t),
            op => {
                let mut i = 0;
                while i < t.len() && one(t.get(i)) {
                    i += 1;
                }
                let min = usize::from(op == '+');
                (min..=i).rev().any(|k| match_here(rest, &t[k..]))
            }
        };
    }
    match t.first() {
        Some(c) if p[0] == '.' || p[0] == *c => match_here(&p[1..], &t[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_regex() {
        assert!(regex_search("^a.i", "alice"));
        assert!(regex_search("ce$", "alice"));
        assert!(!regex_search("^b", "alice"));
        assert!(regex_search("l+", "alice"));
        assert!(regex_search("^x*alice$", "alice"));
    }

    #[test]
    fn json_error_text() {
        let e = serde_json::from_str::<serde_json::Value>("").unwrap_err();
        assert_eq!(
            python_json_error("", &e),
            "Expecting value: line 1 column 1 (char 0)"
        );
        let e = serde_json::from_str::<serde_json::Value>("nope").unwrap_err();
        assert_eq!(
            python_json_error("nope", &e),
            "Expecting value: line 1 column 1 (char 0)"
        );
    }
}
