//! The one canonical form of a name a person types.
//!
//! SMB names are case-insensitive, so `ALICE`, `WORKGROUP\alice` and `alice@REALM` must all count
//! against the same throttle key as `alice`, or an attacker gets fresh attempts by changing case.
//! The name is canonicalised once, before anything else, and the result is the throttle key, the
//! SMB user name and the audit name.

use unicode_normalization::UnicodeNormalization;

use crate::{Error, Result};

/// Longest accepted typed name, in characters; keeps keys and logs bounded.
pub const MAX_NAME_CHARS: usize = 256;

/// The names by which this server may be addressed in a typed user name.
#[derive(Debug, Clone, Default)]
pub struct NameConfig {
    own_names: Vec<String>,
}

impl NameConfig {
    /// `own_names`: NetBIOS domain / workgroup names and Kerberos realms that mean "this server"
    /// (compared case-insensitively). A prefix or suffix naming anything else is kept, so the name
    /// resolves to nobody.
    pub fn new<I, S>(own_names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let own_names = own_names
            .into_iter()
            .map(|n| fold_case(&n.as_ref().trim().nfc().collect::<String>()))
            .filter(|n| !n.is_empty())
            .collect();
        NameConfig { own_names }
    }

    fn is_own(&self, name: &str) -> bool {
        let name = fold_case(name);
        self.own_names.contains(&name)
    }
}

/// Trims, normalises to NFC and strips a `DOMAIN\` prefix or `@REALM` suffix naming this server.
///
/// Case is kept: resolution to the exact local name happens in [`resolve`].
pub fn canonicalize(typed: &str, config: &NameConfig) -> Result<String> {
    let name: String = typed.trim().nfc().collect();
    if name.is_empty() {
        return Err(Error::InvalidName("empty"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::InvalidName("too long"));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::InvalidName("contains control characters"));
    }
    let name = match name.split_once('\\') {
        Some((domain, rest)) if config.is_own(domain) => rest.trim(),
        _ => name.as_str(),
    };
    let name = match name.rsplit_once('@') {
        Some((rest, realm)) if config.is_own(realm) => rest.trim(),
        _ => name,
    };
    if name.is_empty() {
        return Err(Error::InvalidName("empty"));
    }
    Ok(name.to_owned())
}

/// A typed name after canonicalisation and resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedName {
    key: String,
    user: Option<String>,
}

impl ResolvedName {
    /// The throttle key and audit name: the exact local user name, or for a name that resolves to
    /// nobody, its case-folded canonical form ([`fold_case`]), so unknown names are counted like real ones.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The exact local user name, when the name resolved to a user.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// True when the name resolved to a local user.
    pub fn is_known(&self) -> bool {
        self.user.is_some()
    }
}

/// The case-insensitive form of a name: upper-cased, then lower-cased. Plain lower-casing is not
/// enough (`ᲀ` lower-cases to itself but upper-cases to `В`, whose lower case is `в`), and Samba
/// compares names by upper-casing; going through upper case first makes every case variant of a
/// name fold to one key. Use it in the `lookup` given to [`resolve`] too.
pub fn fold_case(name: &str) -> String {
    // Case mappings can decompose (`ῢ` upper-cases to three code points): renormalise.
    name.to_uppercase().to_lowercase().nfc().collect()
}

/// True when `a` and `b` are the same name, ignoring case as [`fold_case`] does.
pub fn same_name(a: &str, b: &str) -> bool {
    fold_case(a) == fold_case(b)
}

/// Canonicalises `typed` and resolves it with `lookup`, which must match case-insensitively and
/// return the exact stored user name (the core holds the user list).
pub fn resolve(
    typed: &str,
    config: &NameConfig,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<ResolvedName> {
    let canonical = canonicalize(typed, config)?;
    Ok(match lookup(&canonical) {
        Some(user) => ResolvedName {
            key: user.clone(),
            user: Some(user),
        },
        None => ResolvedName {
            key: fold_case(&canonical),
            user: None,
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn config() -> NameConfig {
        NameConfig::new(["WORKGROUP", "REALM", "EXAMPLE.COM"])
    }

    fn users(name: &str) -> Option<String> {
        ["alice", "Bob", "zoë"]
            .iter()
            .find(|u| same_name(u, name))
            .map(|u| u.to_string())
    }

    #[test]
    fn variants_share_one_key() {
        for typed in [
            "alice",
            "ALICE",
            "WORKGROUP\\alice",
            "workgroup\\Alice",
            "alice@REALM",
            "alice@example.com",
            " alice ",
            "\talice\n",
        ] {
            let r = resolve(typed, &config(), &users).unwrap();
            assert_eq!(r.key(), "alice", "{typed:?}");
            assert_eq!(r.user(), Some("alice"));
        }
    }

    #[test]
    fn decomposed_unicode_is_one_key() {
        let composed = resolve("zo\u{eb}", &config(), &users).unwrap();
        let decomposed = resolve("zoe\u{308}", &config(), &users).unwrap();
        assert_eq!(composed, decomposed);
        assert_eq!(composed.key(), "zoë");
        // Unknown names too: normalised before lower-casing.
        let a = resolve("MAR\u{cd}A", &config(), &users).unwrap();
        let b = resolve("MARI\u{301}A", &config(), &users).unwrap();
        assert_eq!(a.key(), b.key());
        assert!(!a.is_known());
    }

    #[test]
    fn exact_stored_case_is_the_key() {
        assert_eq!(resolve("bob", &config(), &users).unwrap().key(), "Bob");
    }

    #[test]
    fn unknown_names_are_lower_cased() {
        let r = resolve("  Mallory ", &config(), &users).unwrap();
        assert_eq!(r.key(), "mallory");
        assert_eq!(r.user(), None);
    }

    #[test]
    fn foreign_domains_are_kept() {
        let r = resolve("OTHER\\alice", &config(), &users).unwrap();
        assert_eq!(r.key(), "other\\alice");
        assert!(!r.is_known());
        let r = resolve("alice@elsewhere.org", &config(), &users).unwrap();
        assert_eq!(r.key(), "alice@elsewhere.org");
    }

    proptest::proptest! {
        #[test]
        fn canonical_form_is_stable(typed in "\\PC{0,40}") {
            if let Ok(once) = canonicalize(&typed, &config()) {
                // Canonicalising again changes nothing (unless stripping revealed another prefix).
                if !once.contains('\\') && !once.contains('@') {
                    proptest::prop_assert_eq!(canonicalize(&once, &config()).ok(), Some(once.clone()));
                }
                let upper = resolve(&typed.to_uppercase(), &config(), &users);
                let lower = resolve(&typed.to_lowercase(), &config(), &users);
                if let (Ok(u), Ok(l)) = (upper, lower) {
                    proptest::prop_assert_eq!(u.key(), l.key());
                }
            }
        }
    }

    #[test]
    fn bad_names_are_refused() {
        for typed in ["", "   ", "WORKGROUP\\", "@REALM", "al\u{0}ice", "al\nice"] {
            assert!(
                matches!(canonicalize(typed, &config()), Err(Error::InvalidName(_))),
                "{typed:?}"
            );
        }
        assert!(canonicalize(&"a".repeat(MAX_NAME_CHARS + 1), &config()).is_err());
    }
}
