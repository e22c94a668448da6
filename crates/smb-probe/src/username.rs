//! Username forms: `alice`, `WORKGROUP\alice`, `alice@REALM` (sent as `REALM\alice`).

use crate::error::{ProbeError, Result};

/// Longest account or domain name accepted (NTLM allows more, SAM account names far less).
const MAX_LEN: usize = 256;

/// A parsed logon name: the account and the domain (workgroup) it is sent with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogonName {
    /// The account name.
    pub account: String,
    /// The NetBIOS domain / workgroup; empty means "none".
    pub domain: String,
}

/// Parses `input`; `default_domain` is used when the name carries none.
///
/// `alice@REALM` is sent as `REALM\alice`: a standalone Samba answers LOGON_FAILURE to the UPN form.
pub(crate) fn parse(input: &str, default_domain: Option<&str>) -> Result<LogonName> {
    if input.is_empty() {
        return Err(ProbeError::InvalidUsername("empty"));
    }
    if input.chars().any(char::is_control) {
        return Err(ProbeError::InvalidUsername("control character"));
    }
    let (domain, account) = match (input.split_once('\\'), input.rsplit_once('@')) {
        (Some(_), Some(_)) => return Err(ProbeError::InvalidUsername("both `\\` and `@`")),
        (Some((domain, account)), None) => {
            if domain.is_empty() {
                return Err(ProbeError::InvalidUsername("empty domain before `\\`"));
            }
            (domain, account)
        }
        (None, Some((account, realm))) => {
            if realm.is_empty() {
                return Err(ProbeError::InvalidUsername("empty realm after `@`"));
            }
            (realm, account)
        }
        (None, None) => (default_domain.unwrap_or(""), input),
    };
    if account.is_empty() {
        return Err(ProbeError::InvalidUsername("empty account name"));
    }
    if account.contains(['\\', '@']) || domain.contains(['\\', '@']) {
        return Err(ProbeError::InvalidUsername("more than one separator"));
    }
    if domain.chars().any(char::is_control) {
        return Err(ProbeError::InvalidUsername("control character"));
    }
    if account.len() > MAX_LEN || domain.len() > MAX_LEN {
        return Err(ProbeError::InvalidUsername("too long"));
    }
    Ok(LogonName {
        account: account.to_owned(),
        domain: domain.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str, default: Option<&str>) -> (String, String) {
        let name = parse(input, default).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        (name.domain, name.account)
    }

    #[test]
    fn accepted_forms() {
        let cases: &[(&str, Option<&str>, &str, &str)] = &[
            ("alice", None, "", "alice"),
            ("alice", Some("WORKGROUP"), "WORKGROUP", "alice"),
            ("WORKGROUP\\alice", None, "WORKGROUP", "alice"),
            ("WG\\alice", Some("OTHER"), "WG", "alice"),
            ("alice@REALM", None, "REALM", "alice"),
            ("alice@realm.example", Some("WG"), "realm.example", "alice"),
            ("jörg", None, "", "jörg"),
            ("first.last", None, "", "first.last"),
        ];
        for &(input, default, domain, account) in cases {
            assert_eq!(
                ok(input, default),
                (domain.to_owned(), account.to_owned()),
                "{input:?}"
            );
        }
    }

    #[test]
    fn rejected_forms() {
        for input in [
            "",
            "\\alice",
            "WG\\",
            "@REALM",
            "alice@",
            "a\\b\\c",
            "a@b@c",
            "WG\\a@b",
            "al\nice",
            "al\u{0}ice",
            "alice\t",
            "\u{7f}",
            "WG\r\\alice",
        ] {
            let err = parse(input, None).expect_err(input);
            assert!(matches!(err, ProbeError::InvalidUsername(_)), "{input:?}");
            assert!(err.is_invalid_input());
        }
        assert!(parse(&"a".repeat(MAX_LEN + 1), None).is_err());
    }
}
