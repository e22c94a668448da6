#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

const GOOD: &str = "correct horse battery staple quietly";

fn keys(config: &RulesConfig, password: &str, context: &PasswordContext<'_>) -> Vec<&'static str> {
    check(config, &SecretString::from(password), context)
        .iter()
        .map(RuleViolation::key)
        .collect()
}

#[test]
fn a_good_passphrase_passes() {
    assert_eq!(
        keys(
            &RulesConfig::default(),
            GOOD,
            &PasswordContext::new("alice")
        ),
        Vec::<&str>::new()
    );
}

#[test]
fn every_reason_at_once() {
    let current = SecretString::from("alicealicealice1");
    let hosts = ["truenas.example.com".to_owned()];
    let server = ServerPolicy {
        complexity: [CharClass::Upper, CharClass::Special].into(),
        ..Default::default()
    };
    let context = PasswordContext {
        current: Some(&current),
        host_names: &hosts,
        server: Some(&server),
        ..PasswordContext::new("alice")
    };
    let got = keys(&RulesConfig::default(), "alicealicealice1", &context);
    assert_eq!(
        got,
        [
            "same-as-current",
            "contains-personal-info",
            "too-weak",
            "missing-character-class",
            "missing-character-class"
        ]
    );
    let got = keys(
        &RulesConfig::default(),
        "pass\u{0}word",
        &PasswordContext::new("bob"),
    );
    assert_eq!(got, ["too-short", "not-printable", "too-weak"]);
}

#[test]
fn length_counts_graphemes_and_never_truncates() {
    let config = RulesConfig::default();
    let context = PasswordContext::new("alice");
    // 14 family emoji are 14 graphemes but many more code points: still too short.
    let family = "👨‍👩‍👧".repeat(14);
    let v = check(&config, &SecretString::from(family), &context);
    assert!(
        v.contains(&RuleViolation::TooShort {
            min: 15,
            length: 14
        }),
        "{v:?}"
    );
    let long = format!("{GOOD} ").repeat(4);
    let length = long.graphemes(true).count() as u32;
    assert!(length > MAX_LENGTH);
    let v = check(&config, &SecretString::from(long), &context);
    assert!(
        v.contains(&RuleViolation::TooLong { max: 128, length }),
        "{v:?}"
    );
}

#[test]
fn min_length_floor() {
    assert!(RulesConfig::default().with_min_length(7).is_err());
    assert!(RulesConfig::default().with_min_length(129).is_err());
    let config = RulesConfig::default()
        .with_min_length(8)
        .unwrap()
        .with_min_score(0)
        .unwrap();
    assert!(keys(&config, "Zq8#vLp2", &PasswordContext::new("alice")).is_empty());
    assert!(RulesConfig::default().with_min_score(5).is_err());
}

#[test]
fn server_policy_stricter_wins() {
    let server = ServerPolicy {
        min_length: Some(20),
        ..Default::default()
    };
    let eff = RulesConfig::default().effective(Some(&server));
    assert_eq!(eff.min_length, 20);
    let server = ServerPolicy {
        min_length: Some(10),
        ..Default::default()
    };
    assert_eq!(
        RulesConfig::default().effective(Some(&server)).min_length,
        15
    );
    let context = PasswordContext {
        server: Some(&ServerPolicy {
            min_length: Some(40),
            ..Default::default()
        }),
        ..PasswordContext::new("alice")
    };
    assert_eq!(keys(&RulesConfig::default(), GOOD, &context), ["too-short"]);
}

#[test]
fn minimum_age() {
    let now = SystemTime::now();
    let server = ServerPolicy {
        min_age_days: Some(1),
        last_password_change: Some(now - Duration::from_secs(3600)),
        ..Default::default()
    };
    let context = PasswordContext {
        server: Some(&server),
        now,
        ..PasswordContext::new("alice")
    };
    assert_eq!(keys(&RulesConfig::default(), GOOD, &context), ["too-soon"]);
    let later = PasswordContext {
        now: now + Duration::from_secs(86_400),
        ..context.clone()
    };
    assert!(keys(&RulesConfig::default(), GOOD, &later).is_empty());
    // Admins are not held to it.
    let admin = PasswordContext {
        purpose: Purpose::AdminReset {
            override_rules: false,
        },
        ..context
    };
    assert!(keys(&RulesConfig::default(), GOOD, &admin).is_empty());
}

#[test]
fn nfc_only() {
    let composed = "caf\u{e9} correct horse battery staple";
    let decomposed = "cafe\u{301} correct horse battery staple";
    assert!(
        keys(
            &RulesConfig::default(),
            composed,
            &PasswordContext::new("alice")
        )
        .is_empty()
    );
    assert_eq!(
        keys(
            &RulesConfig::default(),
            decomposed,
            &PasswordContext::new("alice")
        ),
        ["not-nfc"]
    );
}

#[test]
fn printable_unicode_is_fine_invisible_is_not() {
    let ok = "Ünïcødé пароль 密码 ✓ spaces too";
    assert!(keys(&RulesConfig::default(), ok, &PasswordContext::new("alice")).is_empty());
    for bad in ["\u{200B}", "\u{202E}", "\u{E000}", "\u{7}", "\u{FFFF}"] {
        let p = format!("{GOOD}{bad}");
        assert_eq!(
            keys(&RulesConfig::default(), &p, &PasswordContext::new("alice")),
            ["not-printable"],
            "{bad:?}"
        );
    }
}

#[test]
fn personal_info_case_insensitive_and_short_parts_ignored() {
    let hosts = ["nas01.example.com".to_owned()];
    let context = PasswordContext {
        full_name: Some("Alice Jo Liddell"),
        host_names: &hosts,
        ..PasswordContext::new("alice.l")
    };
    let config = RulesConfig::default().with_min_score(0).unwrap();
    // "alice" is both the user name's first part and a part of the full name.
    let v = check(
        &config,
        &SecretString::from("purple ALICE moonlight river"),
        &context,
    );
    assert_eq!(
        v,
        [
            RuleViolation::ContainsPersonalInfo {
                field: PersonalField::Username
            },
            RuleViolation::ContainsPersonalInfo {
                field: PersonalField::FullName
            },
        ]
    );
    assert_eq!(
        keys(&config, "purple liddell moonlight river", &context),
        ["contains-personal-info"]
    );
    assert_eq!(
        keys(&config, "purple NAS01 moonlight river", &context),
        ["contains-personal-info"]
    );
    // "jo" (2 chars) and "com" (a domain label) do not count.
    assert!(keys(&config, "jo jo composer moonlight river", &context).is_empty());
}

#[test]
fn common_lists() {
    assert!(builtin_len() >= 10_000);
    let config = RulesConfig::default()
        .with_min_length(8)
        .unwrap()
        .with_min_score(0)
        .unwrap();
    let v = check(
        &config,
        &SecretString::from("PASSWORD1"),
        &PasswordContext::new("bob"),
    );
    assert_eq!(
        v,
        [RuleViolation::Common {
            list: ListSource::Builtin
        }]
    );
    let admin = AdminList::parse("# ours\n\nAcmeCorp2024!\n");
    assert_eq!(admin.len(), 1);
    let config = config.with_admin_list(admin);
    let v = check(
        &config,
        &SecretString::from("acmecorp2024!"),
        &PasswordContext::new("bob"),
    );
    assert_eq!(
        v,
        [RuleViolation::Common {
            list: ListSource::Admin
        }]
    );
}

#[test]
fn admin_list_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("banned.txt");
    std::fs::write(&path, "Winter2025!\nsummer2025!\n").unwrap();
    assert_eq!(AdminList::load(&path).unwrap().len(), 2);
    assert!(matches!(
        AdminList::load(&dir.path().join("missing")),
        Err(Error::ReadFile { .. })
    ));
}

#[test]
fn weak_passwords_get_zxcvbn_feedback() {
    let v = check(
        &RulesConfig::default(),
        &SecretString::from("aaaaaaaaaaaaaaaa"),
        &PasswordContext::new("bob"),
    );
    let Some(RuleViolation::Weak {
        score,
        required,
        warning,
        suggestions,
    }) = v.first()
    else {
        panic!("{v:?}")
    };
    assert!(*score < 3 && *required == 3);
    assert!(warning.is_some() || !suggestions.is_empty());
}

#[test]
fn admin_resets() {
    let current = SecretString::from(GOOD);
    let context = PasswordContext {
        current: Some(&current),
        purpose: Purpose::AdminReset {
            override_rules: false,
        },
        ..PasswordContext::new("alice")
    };
    // "Differs from the current one" does not apply to an admin.
    assert!(keys(&RulesConfig::default(), GOOD, &context).is_empty());
    // Other rules do, unless overridden; the override keeps the floor and the structural rules.
    assert_eq!(
        keys(&RulesConfig::default(), "password", &context),
        ["too-short", "common-password", "too-weak"]
    );
    let overridden = PasswordContext {
        purpose: Purpose::AdminReset {
            override_rules: true,
        },
        ..context
    };
    assert!(keys(&RulesConfig::default(), "password", &overridden).is_empty());
    assert_eq!(
        keys(&RulesConfig::default(), "passwor", &overridden),
        ["too-short"]
    );
    assert_eq!(
        keys(&RulesConfig::default(), "passwor\u{0}d", &overridden),
        ["not-printable"]
    );
}

#[test]
fn serialised_key_is_the_stable_key_and_holds_no_password() {
    let secret = "hunter2-hunter2-hunter2";
    let current = SecretString::from(secret);
    let context = PasswordContext {
        current: Some(&current),
        ..PasswordContext::new("hunter")
    };
    let v = check(
        &RulesConfig::default(),
        &SecretString::from(secret),
        &context,
    );
    assert!(!v.is_empty());
    for violation in &v {
        let json = serde_json::to_value(violation).unwrap();
        assert_eq!(json["key"], violation.key());
        assert!(!json.to_string().contains(secret));
        assert!(!violation.to_string().contains(secret));
    }
}
