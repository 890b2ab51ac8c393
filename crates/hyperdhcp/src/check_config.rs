//! `hyperdhcp check-config FILE`: validate a configuration and report every problem.

use std::process::ExitCode;

use hyperdhcp_config::Config;

use crate::cli::CheckConfigArgs;

/// Exit status for a configuration that has errors.
pub const EXIT_INVALID: u8 = 1;
/// Exit status for a file that cannot be read (same as clap's usage errors).
pub const EXIT_USAGE: u8 = 2;

/// Checks the file; prints `FILE: OK` plus a summary on stdout, or every error on stderr.
pub fn run(args: &CheckConfigArgs) -> ExitCode {
    let file = args.file.display();
    let text = match std::fs::read_to_string(&args.file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("Error: cannot read {file}: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match Config::from_toml_str(&text) {
        Ok(config) => {
            println!("{file}: OK");
            println!("{}", summary(&config));
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors.0 {
                if e.path.is_empty() {
                    eprintln!("{}", e.message);
                } else {
                    eprintln!("{e}");
                }
            }
            eprintln!("{file}: invalid ({})", plural(errors.0.len(), "error"));
            ExitCode::from(EXIT_INVALID)
        }
    }
}

/// `2 subnets, 3 pools, 1 reservation`.
pub fn summary(config: &Config) -> String {
    let pools = config.subnets.iter().map(|s| s.pools.len()).sum();
    let reservations = config.subnets.iter().map(|s| s.reservations.len()).sum();
    format!(
        "{}, {}, {}",
        plural(config.subnets.len(), "subnet"),
        plural(pools, "pool"),
        plural(reservations, "reservation")
    )
}

/// `1 pool`, `2 pools`.
fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plural_forms() {
        assert_eq!(plural(0, "pool"), "0 pools");
        assert_eq!(plural(1, "pool"), "1 pool");
        assert_eq!(plural(2, "subnet"), "2 subnets");
    }
}
