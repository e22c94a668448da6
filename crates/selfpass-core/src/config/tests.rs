use super::*;

const KEY: &str = "1-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const SECRET: &str = "0123456789abcdef0123456789abcdef-strong";

fn sources(env: &[(&str, &str)]) -> Sources {
    Sources {
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..Sources::default()
    }
}

fn load(env: &[(&str, &str)], scope: Scope) -> Result<Config, ConfigError> {
    Config::load(&sources(env), scope)
}

#[test]
fn flask_variables_keep_their_meaning_and_defaults() {
    let c = load(&[("TRUENAS_API_KEY", KEY)], Scope::Both).unwrap();
    assert_eq!(c.truenas.host, "localhost");
    assert_eq!(c.truenas.port, 443);
    assert!(c.truenas.use_ssl);
    let c = load(
        &[
            ("TRUENAS_API_KEY", KEY),
            ("TRUENAS_HOST", "nas.lan"),
            ("TRUENAS_PORT", "8443"),
            ("TRUENAS_USE_SSL", "false"),
        ],
        Scope::Both,
    )
    .unwrap();
    assert_eq!(
        (c.truenas.host.as_str(), c.truenas.port, c.truenas.use_ssl),
        ("nas.lan", 8443, false)
    );
    assert_eq!(c.auth.server_names, vec!["WORKGROUP", "nas.lan"]);
}

#[test]
fn errors_name_the_setting() {
    let e = load(&[], Scope::Both).unwrap_err();
    assert_eq!(e.env, "TRUENAS_API_KEY");
    let e = load(
        &[("TRUENAS_API_KEY", KEY), ("TRUENAS_PORT", "http")],
        Scope::Both,
    )
    .unwrap_err();
    assert_eq!(e.env, "TRUENAS_PORT");
    assert!(e.to_string().contains("'http' is not a port number"), "{e}");
    let e = load(&[("TRUENAS_API_KEY", "not a key")], Scope::Both).unwrap_err();
    assert_eq!(e.env, "TRUENAS_API_KEY");
    assert!(
        !e.to_string().contains("not a key"),
        "the key must not be echoed: {e}"
    );
    let e = load(
        &[("TRUENAS_API_KEY", KEY), ("SELFPASS_MIN_LENGTH", "6")],
        Scope::Both,
    )
    .unwrap_err();
    assert_eq!(e.env, "SELFPASS_MIN_LENGTH");
}

#[test]
fn portal_refuses_weak_or_placeholder_secret_keys() {
    let e = load(&[("TRUENAS_API_KEY", KEY)], Scope::Portal).unwrap_err();
    assert_eq!(e.env, "SECRET_KEY");
    let e = load(
        &[
            ("TRUENAS_API_KEY", KEY),
            ("SECRET_KEY", "change-this-secret-key-in-production"),
        ],
        Scope::Portal,
    )
    .unwrap_err();
    assert!(e.problem.contains("placeholder"), "{e}");
    let e = load(
        &[("TRUENAS_API_KEY", KEY), ("SECRET_KEY", "short")],
        Scope::Portal,
    )
    .unwrap_err();
    assert!(e.problem.contains("at least 32"), "{e}");
    assert!(
        load(
            &[("TRUENAS_API_KEY", KEY), ("SECRET_KEY", SECRET)],
            Scope::Portal
        )
        .is_ok()
    );
}

#[test]
fn flags_beat_env_beat_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("selfpass.toml");
    std::fs::write(
        &file,
        "[truenas]\nhost = \"from-file\"\nport = 1111\n[smb]\nworkgroup = \"FILEGROUP\"\n",
    )
    .unwrap();
    let mut s = sources(&[("TRUENAS_API_KEY", KEY), ("TRUENAS_PORT", "2222")]);
    s.file = Some(file.clone());
    let c = Config::load(&s, Scope::Both).unwrap();
    assert_eq!(
        (c.truenas.host.as_str(), c.truenas.port),
        ("from-file", 2222)
    );
    assert_eq!(c.smb.workgroup, "FILEGROUP");
    s.overrides = vec![("truenas.port".into(), "3333".into())];
    assert_eq!(Config::load(&s, Scope::Both).unwrap().truenas.port, 3333);

    std::fs::write(&file, "[truenas]\nhots = \"typo\"\n").unwrap();
    let e = Config::load(&s, Scope::Both).unwrap_err();
    assert!(e.problem.contains("unknown setting truenas.hots"), "{e}");
}

#[test]
fn secrets_come_from_files_and_not_twice() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let path = key_file.to_str().unwrap();
    let c = load(&[("TRUENAS_API_KEY_FILE", path)], Scope::Both).unwrap();
    assert_eq!(c.truenas.api_key.expose_secret(), KEY);
    let e = load(
        &[("TRUENAS_API_KEY_FILE", path), ("TRUENAS_API_KEY", KEY)],
        Scope::Both,
    )
    .unwrap_err();
    assert!(e.problem.contains("both"), "{e}");
}

#[test]
fn tls_trust_is_one_choice() {
    let fp = "AB:CD:".to_owned() + &"0".repeat(60);
    let c = load(
        &[("TRUENAS_API_KEY", KEY), ("TRUENAS_TLS_FINGERPRINT", &fp)],
        Scope::Both,
    )
    .unwrap();
    assert_eq!(
        c.truenas.tls,
        TlsTrust::Fingerprint(format!("sha256:abcd{}", "0".repeat(60)))
    );
    assert!(
        load(
            &[
                ("TRUENAS_API_KEY", KEY),
                ("TRUENAS_TLS_FINGERPRINT", &fp),
                ("TRUENAS_INSECURE_TLS", "true")
            ],
            Scope::Both
        )
        .is_err()
    );
}

#[test]
fn cidrs() {
    let net = Cidr::parse("10.0.0.0/8").unwrap();
    assert!(net.contains("10.2.3.4".parse().unwrap()));
    assert!(!net.contains("11.0.0.1".parse().unwrap()));
    assert!(Cidr::parse("::1").unwrap().contains("::1".parse().unwrap()));
    assert!(
        Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap())
    );
    assert!(Cidr::parse("10.0.0.0/33").is_none());
}
