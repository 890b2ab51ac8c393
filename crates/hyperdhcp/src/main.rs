//! `hyperdhcp`: the command-line entry point. A thin shell that parses the command line
//! ([`cli`]) and hands off to one module per subcommand: [`serve`] (the daemon, via
//! `hyperdhcp_server::serve`), [`check_config`] (validate a TOML file and print every error with
//! its key path) and [`leases_cmd`] (read the lease store, also while a server runs). Failures
//! end in one `Error: …` line on stderr and a non-zero exit status.

#![forbid(unsafe_code)]

mod check_config;
mod cli;
mod leases_cmd;
mod serve;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command, LeasesCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).map(|()| ExitCode::SUCCESS),
        Command::CheckConfig(args) => Ok(check_config::run(&args)),
        Command::Leases {
            command: LeasesCommand::List(args),
        } => leases_cmd::list(&args).map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|e| {
        // `{:#}` prints the whole anyhow context chain on one line: `a: b: c`.
        eprintln!("Error: {e:#}");
        ExitCode::FAILURE
    })
}
