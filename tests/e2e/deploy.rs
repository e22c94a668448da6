//! docs/deploy/: the Dockerfile and the TrueNAS compose file. Docker is not on the CI machine, so
//! the Dockerfile is checked instruction by instruction, the binary's shared libraries against what
//! the runtime image has, and the compose file's settings are started for real against the
//! simulator (over TLS with a pinned certificate, secrets read from files).

use crate::support::*;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

fn read(relative: &str) -> String {
    std::fs::read_to_string(workspace_root().join(relative)).unwrap()
}

/// Dockerfile instructions as (KEYWORD, arguments), continuation lines joined, comments dropped.
fn instructions(dockerfile: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in dockerfile.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head.trim_end());
            pending.push(' ');
            continue;
        }
        pending.push_str(line);
        let (keyword, args) = pending.split_once(' ').unwrap_or((&pending, ""));
        out.push((keyword.to_uppercase(), args.trim().to_owned()));
        pending.clear();
    }
    out
}

/// `ENV A=1 B=2` → {A: 1, B: 2}, over every ENV instruction given.
fn env_of<'a>(
    instructions: impl Iterator<Item = &'a (String, String)>,
) -> BTreeMap<String, String> {
    instructions
        .filter(|(k, _)| k == "ENV")
        .flat_map(|(_, args)| args.split_whitespace())
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.trim_matches('"').to_owned()))
        .collect()
}

/// The environment variable names docs/configuration.md documents.
fn documented_settings() -> Vec<String> {
    read("docs/configuration.md")
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect()
}

fn workspace_rust_version() -> String {
    read("Cargo.toml")
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"')
        .to_owned()
}

fn port_of(listen: &str) -> &str {
    listen.rsplit(':').next().unwrap()
}

#[test]
fn dockerfile_is_multi_stage_non_root_and_builds_the_portal() {
    let all = instructions(&read("docs/deploy/Dockerfile"));
    let stages: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, (k, _))| k == "FROM")
        .map(|(i, _)| i)
        .collect();
    assert!(stages.len() >= 2, "a build stage and a runtime stage");

    let builder = &all[stages[0]].1;
    let toolchain = builder
        .strip_prefix("rust:")
        .and_then(|t| t.split('-').next())
        .unwrap_or_else(|| panic!("the build stage uses the rust image: {builder}"));
    assert_eq!(
        toolchain,
        workspace_rust_version(),
        "toolchain = rust-version"
    );
    let build = all
        .iter()
        .find(|(k, a)| k == "RUN" && a.contains("cargo build"))
        .expect("a cargo build step");
    for flag in ["--release", "--locked", "--bin selfpass-web"] {
        assert!(build.1.contains(flag), "cargo build without {flag}");
    }

    let runtime = &all[*stages.last().unwrap()..];
    let user = runtime
        .iter()
        .find(|(k, _)| k == "USER")
        .map(|(_, a)| a.as_str())
        .expect("the runtime stage sets USER");
    let uid = user.split(':').next().unwrap();
    assert!(uid != "root" && uid != "0", "runs as root: USER {user}");

    let installed = runtime
        .iter()
        .find(|(k, a)| k == "COPY" && a.starts_with("--from="))
        .and_then(|(_, a)| a.split_whitespace().last())
        .expect("the binary is copied from the build stage");
    let entrypoint = &runtime.iter().find(|(k, _)| k == "ENTRYPOINT").unwrap().1;
    assert_eq!(entrypoint, &format!("[\"{installed}\"]"));

    let env = env_of(runtime.iter());
    let settings = documented_settings();
    for name in env.keys() {
        assert!(
            settings.contains(name),
            "ENV {name} is not a documented setting"
        );
    }
    let exposed = &runtime.iter().find(|(k, _)| k == "EXPOSE").unwrap().1;
    assert_eq!(port_of(&env["SELFPASS_LISTEN"]), exposed);
}

#[test]
fn the_portal_binary_needs_only_what_the_runtime_image_has() {
    // distroless/cc: glibc (libc, libm, libpthread, libdl, librt, the loader) and libgcc_s.
    let provided = [
        "linux-vdso",
        "libc.so",
        "libm.so",
        "libpthread.so",
        "libdl.so",
        "librt.so",
        "libgcc_s.so",
        "ld-linux",
    ];
    let out = Command::new("ldd")
        .arg(binary("selfpass-web"))
        .output()
        .unwrap();
    let libraries = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "ldd failed: {libraries}");
    for line in libraries.lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        assert!(
            provided.iter().any(|p| name.contains(p)),
            "selfpass-web links {name}, which the runtime image lacks"
        );
    }
}

/// The compose file, read just as far as this test needs: the service's user, ports,
/// environment, secrets and volumes, and the top-level secrets.
#[derive(Default)]
struct Compose {
    user: String,
    ports: Vec<String>,
    environment: BTreeMap<String, String>,
    service_secrets: Vec<String>,
    volumes: Vec<(String, String)>,
    secrets: Vec<String>,
}

fn unquote(value: &str) -> String {
    let value = value.split(" #").next().unwrap().trim();
    value.trim_matches('"').to_owned()
}

fn parse_compose(text: &str) -> Compose {
    let mut compose = Compose::default();
    let (mut top, mut section) = (String::new(), String::new());
    for line in text.lines() {
        let content = line.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        match indent {
            0 => top = content.trim_end_matches(':').to_owned(),
            2 if top == "secrets" => compose.secrets.push(content.trim_end_matches(':').into()),
            4 if top == "services" => match content.split_once(':') {
                Some(("user", value)) => compose.user = unquote(value),
                Some((key, "")) => section = format!("service.{key}"),
                _ => section = "service".into(),
            },
            6 => {
                let item = content.strip_prefix("- ").map(unquote);
                match (section.as_str(), item) {
                    _ if top != "services" => {}
                    ("service.ports", Some(port)) => compose.ports.push(port),
                    ("service.secrets", Some(name)) => compose.service_secrets.push(name),
                    ("service.volumes", Some(volume)) => {
                        let (host, container) = volume.split_once(':').unwrap();
                        compose.volumes.push((host.into(), container.into()));
                    }
                    ("service.environment", None) => {
                        let (key, value) = content.split_once(':').unwrap();
                        compose.environment.insert(key.into(), unquote(value));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    compose
}

#[test]
fn the_compose_file_is_consistent_with_the_dockerfile_and_the_docs() {
    let compose = parse_compose(&read("docs/deploy/compose.yaml"));
    let settings = documented_settings();
    assert!(compose.environment.len() >= 5, "{:?}", compose.environment);
    for name in compose.environment.keys() {
        assert!(
            settings.contains(name),
            "{name} is not a documented setting"
        );
    }
    for secret in ["TRUENAS_API_KEY", "SECRET_KEY"] {
        assert!(
            !compose.environment.contains_key(secret),
            "{secret} in plain text: use {secret}_FILE and a Docker secret"
        );
        let path = &compose.environment[&format!("{secret}_FILE")];
        let name = path.strip_prefix("/run/secrets/").unwrap();
        assert!(compose.service_secrets.iter().any(|s| s == name), "{name}");
        assert!(compose.secrets.iter().any(|s| s == name), "{name}");
    }
    assert_eq!(compose.user, "568:568", "TrueNAS's apps user, not root");

    let dockerfile = instructions(&read("docs/deploy/Dockerfile"));
    let exposed = &dockerfile.iter().find(|(k, _)| k == "EXPOSE").unwrap().1;
    assert!(
        compose
            .ports
            .iter()
            .any(|p| p.ends_with(&format!(":{exposed}"))),
        "{:?} publishes no port {exposed}",
        compose.ports
    );
    let audit_dir = compose.environment["SELFPASS_AUDIT_LOG"]
        .rsplit_once('/')
        .unwrap()
        .0;
    assert!(
        compose.volumes.iter().any(|(_, c)| c == audit_dir),
        "the audit log's directory is not a volume"
    );
}

#[test]
fn the_compose_settings_start_a_ready_portal() {
    let (_sim, sim_addr, fingerprint) = simulator_tls();
    let compose = parse_compose(&read("docs/deploy/compose.yaml"));
    let dockerfile = instructions(&read("docs/deploy/Dockerfile"));
    let dir = tempfile::tempdir().unwrap();

    // The container's environment: the image's ENV, then the compose file's, with what only a
    // real NAS has (its address, certificate, key owner) and the container paths swapped.
    let mut env = env_of(dockerfile.iter());
    env.extend(compose.environment.clone());
    let listen = format!("127.0.0.1:{}", testkit::free_port().unwrap());
    env.insert("SELFPASS_LISTEN".into(), listen.clone());
    env.insert("TRUENAS_HOST".into(), sim_addr.ip().to_string());
    env.insert("TRUENAS_PORT".into(), sim_addr.port().to_string());
    env.insert("TRUENAS_TLS_FINGERPRINT".into(), fingerprint);
    env.insert("TRUENAS_API_KEY_USER".into(), "passwd-service".into());
    env.insert("SELFPASS_SMB_HOST".into(), "127.0.0.1".into());
    let secrets = [
        ("truenas_api_key", "1-selfpass-demo-service-key"),
        (
            "selfpass_secret_key",
            "a-compose-test-secret-key-long-enough-0123456789",
        ),
    ];
    for (name, value) in secrets {
        std::fs::write(dir.path().join(name), value).unwrap();
    }
    for value in env.values_mut() {
        if let Some(name) = value.strip_prefix("/run/secrets/") {
            *value = dir.path().join(name).display().to_string();
        }
        for (_, container) in &compose.volumes {
            if let Some(rest) = value.strip_prefix(container.as_str()) {
                *value = format!("{}{rest}", dir.path().display());
            }
        }
    }

    let mut command = Command::new(binary("selfpass-web"));
    command
        .env_clear()
        .envs(&env)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _portal = Server::spawn(command);
    let addr = listen.parse().unwrap();
    assert!(
        wait_for_port(addr, Duration::from_secs(30)),
        "the portal did not start"
    );
    let (status, body) = http_get(addr, "/readyz").unwrap();
    assert_eq!(status, 200, "{body}");
}

#[test]
fn the_compose_reader_reads_what_it_claims() {
    let compose = parse_compose(
        "services:\n  app:\n    user: \"1:1\"\n    ports:\n      - \"80:8080\"\n    environment:\n      A: \"x\"  # note\n      B: y\n    secrets:\n      - s\n    volumes:\n      - /h:/c  # note\nsecrets:\n  s:\n    file: /f\n",
    );
    assert_eq!(compose.user, "1:1");
    assert_eq!(compose.ports, ["80:8080"]);
    assert_eq!(compose.environment["A"], "x");
    assert_eq!(compose.environment["B"], "y");
    assert_eq!(compose.service_secrets, ["s"]);
    assert_eq!(compose.volumes, [("/h".to_owned(), "/c".to_owned())]);
    assert_eq!(compose.secrets, ["s"]);
}
