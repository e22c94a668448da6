//! Offline lists of passwords that must never be used.
//!
//! The built-in list (`data/common-passwords.txt`, 30,000 entries) is the `passwords` frequency list
//! that the zxcvbn crate 3.1.1 ships (src/frequency_lists.rs, MIT), itself taken from Dropbox's
//! zxcvbn, which built it from Mark Burnett's 10 million password corpus (xato.net, released to
//! the public domain in 2015). Entries are lower-case; one per line, most common first.

use std::collections::HashSet;
use std::path::Path;
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

use crate::{Error, Result};

const BUILTIN: &str = include_str!("../../data/common-passwords.txt");

fn builtin() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| {
        BUILTIN
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    })
}

/// How many entries the built-in list holds.
pub fn builtin_len() -> usize {
    builtin().len()
}

/// The form passwords are compared in: NFC, lower-case.
pub(crate) fn fold(password: &str) -> String {
    password.nfc().collect::<String>().to_lowercase()
}

/// True when `folded` (see [`fold`]) is on the built-in list.
pub(crate) fn in_builtin(folded: &str) -> bool {
    builtin().contains(folded)
}

/// An admin's own list of refused passwords (one per line; blank lines and `#` comments ignored;
/// compared case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdminList {
    entries: HashSet<String>,
}

impl AdminList {
    /// Reads the list at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        Ok(Self::parse(&text))
    }

    /// Parses a list from text.
    pub fn parse(text: &str) -> Self {
        let entries = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(fold)
            .collect();
        AdminList { entries }
    }

    /// How many entries it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn contains(&self, folded: &str) -> bool {
        self.entries.contains(folded)
    }
}
