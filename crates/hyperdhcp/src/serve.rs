//! `hyperdhcp serve`: load the configuration, set up logging, run the server.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::Context;
use hyperdhcp_config::LogFormat;
use hyperdhcp_config::{Config, ConfigErrors};
use tracing_subscriber::EnvFilter;

use crate::cli::{LogFormatArg, ServeArgs};

mod daemon;
mod logwriter;
mod runtime;

/// The configuration used when `serve` is given no `--config`: the lab example.
pub const DEFAULT_CONFIG: &str = include_str!("../../../examples/lab.toml");

/// Environment variable whose filter directives override `server.log_level`.
const LOG_ENV: &str = "RUST_LOG";

/// Runs the server until SIGTERM/SIGINT.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = load_config(args.config.as_ref())?;
    let format = match args.log_format {
        Some(LogFormatArg::Json) => LogFormat::Json,
        Some(LogFormatArg::Text) => LogFormat::Text,
        None => config.server.log_format,
    };
    // Held to the end of `run`: queued log lines are written out before the process exits.
    let _log_flush = init_tracing(format, &config.server.log_level)?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %args.config.as_ref().map_or("(built-in lab.toml)".into(), |p| p.display().to_string()),
        "hyperdhcp starting"
    );
    daemon::serve(config, args.config).context("server failed")?;
    tracing::info!("hyperdhcp stopped");
    Ok(())
}

/// Reads and validates `--config`, or the built-in default.
fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    match path {
        Some(path) => Config::load(path)
            .map_err(|e| config_error(&format!("invalid configuration {}", path.display()), e)),
        None => Config::from_toml_str(DEFAULT_CONFIG)
            .map_err(|e| config_error("invalid built-in configuration (examples/lab.toml)", e)),
    }
}

/// `heading: path: message` for one error; for several, the heading and one indented
/// `path: message` line each.
pub fn config_error(heading: &str, errors: ConfigErrors) -> anyhow::Error {
    match errors.0.as_slice() {
        [one] => anyhow::anyhow!("{heading}: {one}"),
        many => {
            let mut text = format!("{heading} ({} errors):", many.len());
            for e in many {
                text.push_str("\n  ");
                text.push_str(&e.to_string());
            }
            anyhow::anyhow!(text)
        }
    }
}

/// Installs the global tracing subscriber on stderr: `RUST_LOG` if set, else `level`. Lines go
/// through a writer thread ([`logwriter`]) so the serving loop never blocks on stderr (one info
/// line per DHCP decision is tens of thousands of lines per second under load); if stderr cannot
/// keep up, lines are dropped and counted rather than slowing the server.
fn init_tracing(format: LogFormat, level: &str) -> anyhow::Result<logwriter::FlushGuard> {
    let filter = match std::env::var(LOG_ENV) {
        Ok(directives) if !directives.is_empty() => EnvFilter::try_new(&directives)
            .with_context(|| format!("invalid {LOG_ENV}={directives:?}"))?,
        _ => EnvFilter::try_new(level)
            .with_context(|| format!("invalid server.log_level {level:?}"))?,
    };
    let (writer, guard) = logwriter::NonBlockingStderr::spawn(std::io::stderr())
        .context("cannot start the log writer thread")?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        // Colour only for a person at a terminal, never into journald or a log file.
        .with_ansi(std::io::stderr().is_terminal());
    let installed = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
    installed.map_err(|e| anyhow::anyhow!("cannot install the log subscriber: {e}"))?;
    Ok(guard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_error_formats_one_or_many() {
        use hyperdhcp_config::ConfigError;
        let err = |path: &str| ConfigError {
            path: path.into(),
            message: "bad".into(),
        };
        let one = config_error("invalid configuration f", ConfigErrors(vec![err("a.b")]));
        assert_eq!(one.to_string(), "invalid configuration f: a.b: bad");
        let two = config_error("h", ConfigErrors(vec![err("a"), err("subnet[0].cidr")]));
        assert_eq!(
            two.to_string(),
            "h (2 errors):\n  a: bad\n  subnet[0].cidr: bad"
        );
    }

    #[test]
    fn built_in_config_is_valid() {
        let config = Config::from_toml_str(DEFAULT_CONFIG).unwrap();
        assert!(!config.subnets.is_empty());
    }
}
