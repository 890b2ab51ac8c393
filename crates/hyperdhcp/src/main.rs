//! `hyperdhcp`: the command-line entry point. A thin shell that parses the command line
//! ([`cli`]) and hands off to one module per subcommand: [`serve`] (composes the daemon:
//! store, serving loop, the async runtime for hooks and metrics, signals, reload), [`check_config`] (validate a TOML file and print every error with
//! its key path), [`leases_cmd`] (read the lease store, also while a server runs), [`history_cmd`] (who had an address when), [`explain_cmd`] (what a DISCOVER would get, and why), [`conflicts_cmd`] (list/clear
//! conflict records) and `bench`
//! (the load generator in `hyperdhcp_bench`). Failures end in one `Error: …` line on stderr and
//! a non-zero exit status.

#![forbid(unsafe_code)]

mod check_config;
mod cli;
mod conflicts_cmd;
mod explain_cmd;
mod history_cmd;
mod leases_cmd;
mod serve;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, ConflictsCommand, LeasesCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).map(|()| ExitCode::SUCCESS),
        Command::CheckConfig(args) => Ok(check_config::run(&args)),
        Command::Explain(args) => explain_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Leases {
            command: LeasesCommand::List(args),
        } => leases_cmd::list(&args).map(|()| ExitCode::SUCCESS),
        Command::Leases {
            command: LeasesCommand::History(args),
        } => history_cmd::run(&args).map(|()| ExitCode::SUCCESS),
        Command::Conflicts {
            command: ConflictsCommand::List(args),
        } => conflicts_cmd::list(&args).map(|()| ExitCode::SUCCESS),
        Command::Conflicts {
            command: ConflictsCommand::Clear(args),
        } => conflicts_cmd::clear(&args).map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => bench(&args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("Error: {}", error_line(&e));
        ExitCode::FAILURE
    })
}

/// `hyperdhcp bench`: runs the generator and prints its report (human or `--json`).
fn bench(args: &hyperdhcp_bench::BenchArgs) -> anyhow::Result<ExitCode> {
    let report = hyperdhcp_bench::run(args)?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        report.print_human();
    }
    Ok(ExitCode::SUCCESS)
}

/// The error and its causes joined with `: `, like anyhow's `{:#}`, but skipping a cause whose
/// text an outer message already includes (several library errors embed their source).
fn error_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let msg = cause.to_string();
        if line.contains(&msg) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&msg);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_line_joins_the_chain_without_repeats() {
        /// An error that, like many library errors, repeats its source in its own message.
        #[derive(Debug)]
        struct Inner(std::io::Error);
        impl std::fmt::Display for Inner {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "lease store /x: open: {}", self.0)
            }
        }
        impl std::error::Error for Inner {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let io = std::io::Error::other("disk on fire");
        let e = anyhow::Error::new(Inner(io)).context("server failed");
        assert_eq!(
            error_line(&e),
            "server failed: lease store /x: open: disk on fire"
        );
        let plain = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_line(&plain), "outer: inner");
    }
}
