//! Command-line options of `hyperdhcp bench` and their validation.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use crate::BenchError;
use crate::ident::MAX_CLIENTS;

/// Default `--timeout-ms`: an exchange not answered within a second is lost.
pub const DEFAULT_TIMEOUT_MS: u64 = 1000;

/// Default `--tick-us`: 50 µs. At 5,000 exchanges/s (Kea's range) a turn holds about one send
/// anyway; at 50,000/s it groups about 2–3 sends and their replies per syscall, and 50 µs is
/// the kernel's default timer slack, the precision a shorter sleep would not get.
pub const DEFAULT_TICK_US: u64 = 50;

/// Options of the load generator (`hyperdhcp bench`).
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// DHCP server address; DISCOVERs and REQUESTs are sent to SERVER:67 (relay mode).
    #[arg(long, default_value = "198.18.0.1")]
    pub server: Ipv4Addr,

    /// Relay mode: local address to bind (port 67) and put in giaddr; the server replies there.
    #[arg(long, conflicts_with = "interface")]
    pub local: Option<Ipv4Addr>,

    /// Broadcast mode instead of relay mode: bind 0.0.0.0:68 on this interface and broadcast.
    #[arg(long)]
    pub interface: Option<String>,

    /// New DORA exchanges started per second; 0 = as fast as the `--window` allows.
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,

    /// Seconds during which new exchanges are started (late replies are awaited after).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,

    /// Number of distinct simulated clients (MACs), walked in order.
    #[arg(long, default_value_t = 10_000)]
    pub clients: u32,

    /// Stop after starting this many DORA exchanges (0 = bounded by --duration only).
    #[arg(long, default_value_t = 0)]
    pub count: u64,

    /// Milliseconds after which an unanswered DISCOVER or REQUEST counts as lost.
    #[arg(long, default_value_t = DEFAULT_TIMEOUT_MS)]
    pub timeout_ms: u64,

    /// Second octet of every generated MAC (02:SEED:...), to keep runs' clients apart.
    #[arg(long, default_value_t = 0)]
    pub mac_seed: u8,

    /// Renewals per second (REQUEST in RENEWING state) of clients already bound; 0 = none.
    #[arg(long, default_value_t = 0)]
    pub renew_rate: u64,

    /// RELEASEs per second of clients already bound; 0 = none.
    #[arg(long, default_value_t = 0)]
    pub release_rate: u64,

    /// Before the measured run, bind this many clients (DORA as fast as a window of 256 allows,
    /// not counted in the report), so renewals and releases start with a full population
    /// instead of only the clients bound so far.
    #[arg(long, default_value_t = 0)]
    pub warmup_clients: u32,

    /// With --rate 0: most DORA exchanges in flight at once.
    #[arg(long, default_value_t = 64)]
    pub window: u32,

    /// Most datagrams per sendmmsg/recvmmsg call.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,

    /// Shortest loop turn in microseconds: after a turn shorter than this the generator sleeps
    /// out the rest before it sends what is due and reads what arrived, so at high rates each
    /// sendmmsg/recvmmsg carries several datagrams instead of one. Adds at most this much to
    /// every measured latency; 0 = wake for every single due send and every reply.
    #[arg(long, default_value_t = DEFAULT_TICK_US)]
    pub tick_us: u64,

    /// Send every request as its own datagram instead of grouping equal-length requests into
    /// UDP GSO sends (the server receives separate datagrams either way; GSO only makes the
    /// generator's sending cheaper).
    #[arg(long)]
    pub no_gso: bool,

    /// Print one JSON object instead of the human-readable report.
    #[arg(long)]
    pub json: bool,

    /// Append every acknowledged lease as "ip mac" lines to this file, flushed per batch.
    #[arg(long)]
    pub ack_log: Option<PathBuf>,
}

impl Default for BenchArgs {
    fn default() -> Self {
        Self {
            server: Ipv4Addr::new(198, 18, 0, 1),
            local: None,
            interface: None,
            rate: 1000,
            duration: 10.0,
            clients: 10_000,
            count: 0,
            timeout_ms: DEFAULT_TIMEOUT_MS,
            mac_seed: 0,
            renew_rate: 0,
            release_rate: 0,
            warmup_clients: 0,
            window: 64,
            batch: 64,
            tick_us: DEFAULT_TICK_US,
            no_gso: false,
            json: false,
            ack_log: None,
        }
    }
}

/// How the generator reaches the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Acts as a relay agent (like perfdhcp): bound to LOCAL:67, giaddr = LOCAL, hops = 1.
    Relay {
        /// The relay address.
        local: Ipv4Addr,
    },
    /// Acts as directly attached clients: bound to 0.0.0.0:68 on the interface, broadcasts.
    Broadcast {
        /// The interface name.
        interface: String,
    },
}

impl BenchArgs {
    /// Checks the options and returns the mode they select.
    pub fn validate(&self) -> Result<Mode, BenchError> {
        let bad = |m: String| Err(BenchError::InvalidArgs(m));
        if self.clients == 0 || self.clients > MAX_CLIENTS {
            return bad(format!(
                "--clients {} must be in 1..={MAX_CLIENTS}",
                self.clients
            ));
        }
        if !(self.duration.is_finite() && self.duration > 0.0) {
            return bad(format!(
                "--duration {} must be a positive number of seconds",
                self.duration
            ));
        }
        if self.timeout_ms == 0 {
            return bad("--timeout-ms must be at least 1".into());
        }
        if self.warmup_clients > self.clients {
            return bad(format!(
                "--warmup-clients {} exceeds --clients {}",
                self.warmup_clients, self.clients
            ));
        }
        if self.rate == 0 && self.window == 0 {
            return bad("--rate 0 needs --window of at least 1".into());
        }
        if self.batch == 0 {
            return bad("--batch must be at least 1".into());
        }
        match (&self.local, &self.interface) {
            (Some(local), None) => Ok(Mode::Relay { local: *local }),
            (None, Some(interface)) => {
                if self.renew_rate > 0 || self.release_rate > 0 {
                    // RFC 2131 §4.1: a REQUEST with ciaddr is answered by unicast to ciaddr,
                    // which a generator without the address on its interface cannot receive.
                    return bad("--renew-rate/--release-rate need relay mode (--local)".into());
                }
                Ok(Mode::Broadcast {
                    interface: interface.clone(),
                })
            }
            (Some(_), Some(_)) => bad("--local and --interface are exclusive".into()),
            (None, None) => {
                bad("give --local ADDR (relay mode) or --interface IF (broadcast mode)".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_mode_needs_local() {
        let a = BenchArgs {
            local: Some(Ipv4Addr::new(198, 18, 0, 2)),
            ..BenchArgs::default()
        };
        assert_eq!(
            a.validate().ok(),
            Some(Mode::Relay {
                local: Ipv4Addr::new(198, 18, 0, 2)
            })
        );
        assert!(BenchArgs::default().validate().is_err());
    }

    #[test]
    fn broadcast_mode_refuses_renewals() {
        let mut a = BenchArgs {
            interface: Some("cli0".into()),
            ..BenchArgs::default()
        };
        assert!(matches!(a.validate(), Ok(Mode::Broadcast { .. })));
        a.renew_rate = 10;
        assert!(a.validate().is_err());
    }

    #[test]
    fn rejects_bad_numbers() {
        let ok = BenchArgs {
            local: Some(Ipv4Addr::LOCALHOST),
            ..BenchArgs::default()
        };
        for bad in [
            BenchArgs {
                clients: 0,
                ..ok.clone()
            },
            BenchArgs {
                clients: MAX_CLIENTS + 1,
                ..ok.clone()
            },
            BenchArgs {
                duration: 0.0,
                ..ok.clone()
            },
            BenchArgs {
                duration: f64::NAN,
                ..ok.clone()
            },
            BenchArgs {
                timeout_ms: 0,
                ..ok.clone()
            },
            BenchArgs {
                rate: 0,
                window: 0,
                ..ok.clone()
            },
            BenchArgs {
                batch: 0,
                ..ok.clone()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
        assert!(ok.validate().is_ok());
    }
}
