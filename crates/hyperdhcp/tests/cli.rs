//! Runs the built `hyperdhcp` binary: `check-config` on good and bad files, `leases list` on a
//! store written through `hyperdhcp-store` (also while a writer holds it open), error output.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Output};

use hyperdhcp_engine::{HwAddr, Lease, LeaseChange, LeaseFqdn, LeaseState};
use hyperdhcp_store::{LeaseStore, SqliteStore};

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_hyperdhcp");

/// A small valid configuration: one subnet, two pools, one reservation.
const GOOD_CONFIG: &str = r#"
[server]
interfaces = ["hd0"]

[store]
path = "leases.db"

[[subnet]]
cidr = "198.18.0.0/24"

[[subnet.pool]]
start = "198.18.0.10"
end = "198.18.0.99"

[[subnet.pool]]
start = "198.18.0.100"
end = "198.18.0.199"

[[subnet.reservation]]
mac = "02:00:00:00:00:01"
ip = "198.18.0.5"
hostname = "printer"
"#;

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("run hyperdhcp")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn version_and_help() {
    let out = run(&["--version"]);
    assert!(out.status.success());
    assert!(stdout(&out).starts_with("hyperdhcp "), "{}", stdout(&out));
    let out = run(&["--help"]);
    assert!(out.status.success());
    for sub in ["serve", "check-config", "leases"] {
        assert!(stdout(&out).contains(sub), "{}", stdout(&out));
    }
}

#[test]
fn check_config_accepts_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "good.toml", GOOD_CONFIG);
    let out = run(&["check-config", &file]);
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains(&format!("{file}: OK")), "{text}");
    assert!(text.contains("1 subnet, 2 pools, 1 reservation"), "{text}");
}

#[test]
fn check_config_reports_errors_with_their_key_paths() {
    // (what, file text, key path the error line must start with, text it must mention)
    // The range check names the pool (`subnet[0].pool[0]`), not `.end`: the error concerns
    // both bounds.
    let cases = [
        (
            "unknown key",
            GOOD_CONFIG.replace("[server]\n", "[server]\nbogus_key = 1\n"),
            "server.bogus_key",
            "bogus_key",
        ),
        (
            "pool end before start",
            GOOD_CONFIG.replace("end = \"198.18.0.99\"", "end = \"198.18.0.5\""),
            "subnet[0].pool[0]",
            "198.18.0.5",
        ),
        (
            "bad cidr",
            GOOD_CONFIG.replace("198.18.0.0/24", "198.18.0.0/33"),
            "subnet[0].cidr",
            "198.18.0.0/33",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (what, text, path, mention) in cases {
        let file = write(dir.path(), "bad.toml", &text);
        let out = run(&["check-config", &file]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{what}: {err}");
        assert!(
            err.lines()
                .any(|l| l.starts_with(path) && l.contains(mention)),
            "{what}: expected a line `{path}...: ...{mention}...` in:\n{err}"
        );
        assert!(
            err.contains(&format!("{file}: invalid (1 error)")),
            "{what}: {err}"
        );
        assert!(stdout(&out).is_empty(), "{what}");
    }
}

#[test]
fn check_config_reports_every_error_not_just_the_first() {
    let text = GOOD_CONFIG
        .replace("198.18.0.0/24", "198.18.0.0/33")
        .replace("[server]\n", "[server]\nbogus_key = 1\n")
        .replace("ip = \"198.18.0.5\"", "ip = \"banana\"");
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.toml", &text);
    let out = run(&["check-config", &file]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    for path in [
        "server.bogus_key",
        "subnet[0].cidr",
        "subnet[0].reservation[0].ip",
    ] {
        assert!(
            err.lines().any(|l| l.starts_with(path)),
            "{path} missing in:\n{err}"
        );
    }
}

#[test]
fn check_config_on_missing_file_is_a_usage_error() {
    let out = run(&["check-config", "/nonexistent/hyperdhcp.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).starts_with("Error: cannot read /nonexistent/hyperdhcp.toml"));
}

#[test]
fn serve_with_invalid_config_fails_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "bad.toml", "[[subnet]]\ncidr = \"nope\"\n");
    let out = run(&["serve", "--config", &file]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.starts_with("Error: invalid configuration"), "{err}");
    assert!(err.contains(&file), "{err}");
}

fn sample_leases() -> Vec<Lease> {
    vec![
        Lease {
            ip: Ipv4Addr::new(198, 18, 0, 20),
            hwaddr: HwAddr::ethernet([0x02, 0, 0, 0, 0, 0x20]),
            client_id: None,
            hostname: None,
            fqdn: None,
            state: LeaseState::Released,
            starts: 1_700_000_000,
            ends: 1_700_000_000,
        },
        Lease {
            ip: Ipv4Addr::new(198, 18, 0, 10),
            hwaddr: HwAddr::ethernet([0x02, 0, 0, 0, 0, 0x10]),
            client_id: Some(vec![0x01, 0x02, 0, 0, 0, 0, 0x10].into_boxed_slice()),
            hostname: Some("alpha".into()),
            fqdn: Some(Box::new(LeaseFqdn {
                flags: 0x05,
                name: "alpha.lab.test".into(),
            })),
            state: LeaseState::Bound,
            starts: 1_700_000_000,
            ends: 1_700_003_600,
        },
    ]
}

#[test]
fn leases_list_json_while_a_writer_holds_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state/leases.db");
    // The writer stays open for the whole test, like a running server.
    let mut writer = SqliteStore::open(&db).unwrap();
    let changes: Vec<_> = sample_leases()
        .into_iter()
        .map(LeaseChange::Upsert)
        .collect();
    writer.commit(&changes).unwrap();

    let out = run(&["leases", "list", "--store", &db.to_string_lossy(), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    // Sorted by IP.
    assert_eq!(rows[0]["ip"], "198.18.0.10");
    assert_eq!(rows[0]["mac"], "02:00:00:00:00:10");
    assert_eq!(rows[0]["client_id"], "01:02:00:00:00:00:10");
    assert_eq!(rows[0]["hostname"], "alpha");
    assert_eq!(rows[0]["fqdn"], "alpha.lab.test");
    assert_eq!(rows[0]["fqdn_flags"], 5);
    assert_eq!(rows[0]["state"], "bound");
    assert_eq!(rows[0]["starts"], "2023-11-14T22:13:20Z");
    assert_eq!(rows[0]["ends"], "2023-11-14T23:13:20Z");
    assert_eq!(rows[1]["ip"], "198.18.0.20");
    assert!(rows[1]["client_id"].is_null());
    assert!(rows[1]["hostname"].is_null());
    assert!(rows[1]["fqdn"].is_null() && rows[1]["fqdn_flags"].is_null());
    assert_eq!(rows[1]["state"], "released");

    // A later commit by the writer is visible to the next read-only run.
    writer
        .commit(&[LeaseChange::Remove(Ipv4Addr::new(198, 18, 0, 10))])
        .unwrap();
    let out = run(&["leases", "list", "--store", &db.to_string_lossy(), "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 1);
}

#[test]
fn leases_list_table_after_the_writer_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("leases.db");
    {
        let mut writer = SqliteStore::open(&db).unwrap();
        let changes: Vec<_> = sample_leases()
            .into_iter()
            .map(LeaseChange::Upsert)
            .collect();
        writer.commit(&changes).unwrap();
    }
    let out = run(&["leases", "list", "--store", &db.to_string_lossy()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("IP"), "{text}");
    assert!(lines[1].starts_with("198.18.0.10 "), "{text}");
    assert!(lines[2].starts_with("198.18.0.20 "), "{text}");
}

#[test]
fn leases_list_on_missing_store_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("missing.db");
    let out = run(&["leases", "list", "--store", &db.to_string_lossy()]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.starts_with("Error: "), "{err}");
    assert!(err.contains(&*db.to_string_lossy()), "{err}");
    assert_eq!(err.lines().count(), 1, "one clean line: {err}");
    assert!(!db.exists());
}

#[test]
fn leases_list_takes_the_store_path_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("from-config.db");
    let mut writer = SqliteStore::open(&db).unwrap();
    let changes: Vec<_> = sample_leases()
        .into_iter()
        .map(LeaseChange::Upsert)
        .collect();
    writer.commit(&changes).unwrap();
    let config = GOOD_CONFIG.replace("\"leases.db\"", &format!("{:?}", db.to_string_lossy()));
    let file = write(dir.path(), "c.toml", &config);
    let out = run(&["leases", "list", "--config", &file, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
}
