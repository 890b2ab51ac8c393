//! Every example configuration in examples/ parses and validates unchanged.

use std::path::PathBuf;

use hyperdhcp_config::Config;

fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

#[test]
fn every_example_config_is_valid() {
    let mut checked = Vec::new();
    let entries = std::fs::read_dir(examples_dir()).expect("examples/ exists");
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.extension().is_some_and(|e| e == "toml") {
            if let Err(errors) = Config::load(&path) {
                panic!("{} is invalid:\n{errors}", path.display());
            }
            checked.push(
                path.file_name()
                    .expect("file name")
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    checked.sort();
    for required in ["full.toml", "lab.toml", "minimal.toml"] {
        assert!(
            checked.iter().any(|c| c == required),
            "examples/{required} missing: {checked:?}"
        );
    }
}

#[test]
fn lab_config_matches_the_lab() {
    let config = Config::load(&examples_dir().join("lab.toml")).expect("lab.toml is valid");
    assert_eq!(config.server.interfaces, ["srv0"]);
    assert_eq!(
        config.store.path,
        PathBuf::from("/tmp/hyperdhcp-lab/leases.db")
    );
    let [subnet] = config.subnets.as_slice() else {
        panic!("lab.toml has one subnet");
    };
    assert_eq!(subnet.cidr.to_string(), "198.18.0.0/16");
    assert_eq!(subnet.lease_time, 600);
    let pools: Vec<String> = subnet
        .pools
        .iter()
        .map(|p| format!("{}-{}", p.start, p.end))
        .collect();
    assert_eq!(pools, ["198.18.1.10-198.18.1.250"]);
    assert_eq!(subnet.options.get(3), Some(&[198, 18, 0, 1][..]));
    assert_eq!(subnet.options.get(6), Some(&[198, 18, 0, 1][..]));
    let [reservation] = subnet.reservations.as_slice() else {
        panic!("lab.toml has one reservation");
    };
    assert_eq!(
        reservation.mac.map(|m| m.to_string()).as_deref(),
        Some("02:00:00:00:00:aa")
    );
    assert_eq!(reservation.ip.to_string(), "198.18.0.50");
    assert_eq!(reservation.hostname.as_deref(), Some("printer"));
}

#[test]
fn full_example_sets_every_key() {
    let text = std::fs::read_to_string(examples_dir().join("full.toml")).expect("full.toml");
    let config = Config::from_toml_str(&text).expect("full.toml is valid");
    assert_eq!(config.subnets.len(), 2);
    let subnet = &config.subnets[0];
    for code in [
        1, 2, 3, 6, 15, 19, 22, 23, 26, 28, 32, 35, 42, 43, 66, 119, 121, 150,
    ] {
        assert!(subnet.options.get(code).is_some(), "option {code} missing");
    }
    // Every documented key appears in full.toml.
    for key in [
        "interfaces",
        "server_id",
        "offer_timeout",
        "decline_hold",
        "receive_buffer",
        "log_format",
        "log_level",
        "path",
        "cidr",
        "interface",
        "lease_time",
        "renewal_time",
        "rebinding_time",
        "broadcast_address",
        "routers",
        "dns_servers",
        "domain_name",
        "domain_search",
        "ntp_servers",
        "mtu",
        "classless_routes",
        "destination",
        "gateway",
        "[[subnet.pool]]",
        "start",
        "end",
        "[[subnet.option]]",
        "code",
        "type",
        "value",
        "[[subnet.reservation]]",
        "mac",
        "client_id",
        "ip",
        "hostname",
        "[[subnet.reservation.option]]",
    ] {
        assert!(text.contains(key), "full.toml does not show `{key}`");
    }
}

/// The complete examples in docs/configuration.md (fenced `toml` blocks starting with
/// `[server]`) stay valid as the format evolves.
#[test]
fn complete_examples_in_the_docs_are_valid() {
    let doc_path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let doc = std::fs::read_to_string(&doc_path).expect("docs/configuration.md");
    let mut complete = 0;
    for block in doc.split("```toml\n").skip(1) {
        let Some((body, _)) = block.split_once("```") else {
            panic!("unterminated toml block in {}", doc_path.display());
        };
        if body.starts_with("[server]") {
            if let Err(errors) = Config::from_toml_str(body) {
                panic!("example in docs/configuration.md is invalid:\n{errors}\n---\n{body}");
            }
            complete += 1;
        }
    }
    assert!(
        complete >= 2,
        "expected the minimal and the complete example, found {complete}"
    );
}
