//! The command line, declared with clap's derive API.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Shown after the top-level `--help`.
const EXAMPLES: &str = "Examples:
  hyperdhcp check-config /etc/hyperdhcp/hyperdhcp.toml
  hyperdhcp serve --config /etc/hyperdhcp/hyperdhcp.toml
  hyperdhcp leases list --config /etc/hyperdhcp/hyperdhcp.toml --json
  hyperdhcp explain --config /etc/hyperdhcp/hyperdhcp.toml --mac 02:00:00:00:00:01 --option 93=7 --option 60=PXEClient
  hyperdhcp leases history --config /etc/hyperdhcp/hyperdhcp.toml --ip 198.18.0.10 --at 2026-11-26T01:00:00Z";

/// A fast, durable DHCPv4 server.
#[derive(Debug, Parser)]
#[command(name = "hyperdhcp", version, about, propagate_version = true, after_help = EXAMPLES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the DHCPv4 server until SIGTERM or SIGINT.
    ///
    /// Without --config the built-in lab configuration (examples/lab.toml) is used. Logs go to
    /// stderr; RUST_LOG, when set, overrides the configured log level.
    Serve(ServeArgs),

    /// Validate a configuration file and print every error with its key path.
    ///
    /// Exit status: 0 when valid, 1 when the file has errors (each printed on stderr as
    /// `path: message`, e.g. `subnet[0].pool[0].end: ...`), 2 when the file cannot be read or
    /// the command line is wrong.
    CheckConfig(CheckConfigArgs),

    /// Load generator: simulated clients doing DORA, renewals and releases against a server.
    ///
    /// Relay mode (default, like perfdhcp): --local ADDR is both giaddr and the address replies
    /// come back to; run it only inside a network namespace you own. Prints offered and achieved
    /// rates, loss and latency percentiles; --json prints one JSON object.
    Bench(hyperdhcp_bench::BenchArgs),

    /// Explain what the server would answer to a DHCPDISCOVER, and why, without sending
    /// anything.
    ///
    /// Builds the DISCOVER from the flags, runs it through the same engine code as `serve`
    /// (with no leases, or the store's with --store) and prints the subnet, pool, classes and
    /// reservation that apply, the result, and every option of the reply with its value and
    /// source (subnet, class NAME, reservation, server, lease).
    Explain(ExplainArgs),

    /// Inspect the lease store.
    Leases {
        /// What to do with the leases.
        #[command(subcommand)]
        command: LeasesCommand,
    },

    /// Addresses found in use by another host (ARP/ICMP probes, DECLINE): list or clear them.
    Conflicts {
        /// What to do with the conflict records.
        #[command(subcommand)]
        command: ConflictsCommand,
    },
}

/// `hyperdhcp serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (TOML). Default: the built-in lab configuration.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log line format, overriding `server.log_format` from the configuration.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormatArg>,
}

/// `--log-format` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `hyperdhcp check-config`.
#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    /// The configuration file to check.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `hyperdhcp explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Configuration file (TOML).
    #[arg(short, long, value_name = "FILE")]
    pub config: PathBuf,

    /// Client hardware address (chaddr).
    #[arg(long, value_name = "MAC")]
    pub mac: hyperdhcp_engine::HwAddr,

    /// Relay agent address: the request is relayed (giaddr, hops 1).
    #[arg(long, value_name = "ADDRESS")]
    pub giaddr: Option<std::net::Ipv4Addr>,

    /// An option of the DISCOVER, CODE=VALUE; repeatable. VALUE: an IPv4 address, a number
    /// for 57/93, a comma list of byte values (55=1,3,6,66,67), hex (01:02:0a or 0x01020a),
    /// else text (60=PXEClient:Arch:00007).
    #[arg(long = "option", value_name = "CODE=VALUE")]
    pub option: Vec<String>,

    /// Receiving interface name (default: the first of server.interfaces).
    #[arg(long, value_name = "NAME")]
    pub interface: Option<String>,

    /// Receiving interface address with prefix (default: the first host of the first subnet
    /// served there).
    #[arg(long, value_name = "CIDR")]
    pub interface_addr: Option<ipnet::Ipv4Net>,

    /// Load the leases of this store (read-only) before explaining.
    #[arg(long, value_name = "PATH")]
    pub store: Option<PathBuf>,

    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// `hyperdhcp leases ...`.
#[derive(Debug, Subcommand)]
pub enum LeasesCommand {
    /// List every stored lease, sorted by IP address.
    ///
    /// Opens the store read-only, so it works while the server is running (it sees the last
    /// committed state) as well as when it is stopped.
    List(LeasesListArgs),

    /// Lease history: who had an address (`--ip`, optionally `--at TIME`) or which addresses a
    /// client had (`--mac`), with every offer, ack, renew, release, decline and expiry.
    ///
    /// Opens the store read-only, like `leases list`.
    History(LeasesHistoryArgs),
}

/// Where a store-reading command finds the lease database: `--store PATH`, or the `[store]
/// path` of `--config FILE` (exactly one of the two).
#[derive(Debug, Args)]
pub struct StoreSource {
    /// The lease database (SQLite file).
    #[arg(
        long,
        value_name = "PATH",
        required_unless_present = "config",
        conflicts_with = "config"
    )]
    pub store: Option<PathBuf>,

    /// Take the lease database path from this configuration file's `[store] path`.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `hyperdhcp leases history`.
#[derive(Debug, Args)]
pub struct LeasesHistoryArgs {
    /// Which lease database to read.
    #[command(flatten)]
    pub source: StoreSource,

    /// The address whose history to show.
    #[arg(
        long,
        value_name = "ADDRESS",
        required_unless_present = "mac",
        conflicts_with = "mac"
    )]
    pub ip: Option<std::net::Ipv4Addr>,

    /// With --ip: show only the lease that held the address at this time (RFC 3339 such as
    /// 2026-11-26T01:00:00Z, Unix seconds, or `now`).
    #[arg(long, value_name = "TIME", requires = "ip")]
    pub at: Option<String>,

    /// The client hardware address whose history to show (02:00:00:00:00:aa).
    #[arg(long, value_name = "MAC")]
    pub mac: Option<hyperdhcp_engine::HwAddr>,

    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `hyperdhcp conflicts ...`.
#[derive(Debug, Subcommand)]
pub enum ConflictsCommand {
    /// List the conflict records: address, method (arp, icmp, client_decline), responder MAC,
    /// count, temporary (held for the hold time after the last detection) or permanent, first
    /// and last detection. Read-only; works while the server runs.
    List(ConflictsListArgs),

    /// Delete the conflict record of one address so it can be offered again. A running server
    /// applies it on SIGHUP (it re-reads the records then).
    Clear(ConflictsClearArgs),
}

/// `hyperdhcp conflicts list`.
#[derive(Debug, Args)]
pub struct ConflictsListArgs {
    /// Which lease database to read.
    #[command(flatten)]
    pub source: StoreSource,

    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `hyperdhcp conflicts clear`.
#[derive(Debug, Args)]
pub struct ConflictsClearArgs {
    /// The address whose record to delete.
    #[arg(value_name = "IP")]
    pub ip: std::net::Ipv4Addr,

    /// Which lease database to read.
    #[command(flatten)]
    pub source: StoreSource,
}

/// `hyperdhcp leases list`.
#[derive(Debug, Args)]
pub struct LeasesListArgs {
    /// Which lease database to read.
    #[command(flatten)]
    pub source: StoreSource,

    /// Print a JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn leases_list_needs_exactly_one_source() {
        let parse = |args: &[&str]| Cli::try_parse_from(args.iter().copied());
        assert!(parse(&["hyperdhcp", "leases", "list"]).is_err());
        assert!(
            parse(&[
                "hyperdhcp",
                "leases",
                "list",
                "--store",
                "a",
                "--config",
                "b"
            ])
            .is_err()
        );
        assert!(parse(&["hyperdhcp", "leases", "list", "--store", "a", "--json"]).is_ok());
        assert!(parse(&["hyperdhcp", "leases", "list", "--config", "b"]).is_ok());
    }
}
