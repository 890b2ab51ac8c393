//! The test bed's floor: a "DHCP server" that does no work. It answers every DISCOVER with an
//! OFFER and every REQUEST with an ACK at once (no lease table, no disk), with the same batched
//! syscalls the real server uses (recvmmsg, sendmmsg with UDP GSO). Run against it, the load
//! generator measures what the kernel, the veth pair, the VM's scheduling and the generator
//! itself add to every exchange, so docs/benchmarks.md can tell the server's own latency and
//! rate apart from the bench's. Relay mode only: replies go to giaddr, port 67.
//!
//! ```text
//! null_responder --listen 198.18.0.1 --seconds 30
//! ```
//!
//! It stops by itself after `--seconds` (bounded like every load in this repository).

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use clap::Parser;
use hyperdhcp_bench::sys;
use hyperdhcp_wire::{Message, MessageBuilder, MessageType, code};
use socket2::{Domain, Protocol, Socket, Type};

/// Answers DISCOVER/REQUEST at once, for measuring the test bed without a server.
#[derive(Parser, Debug)]
struct Cli {
    /// Address to bind port 67 on (the generator's `--server`).
    #[arg(long)]
    listen: Ipv4Addr,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
}

fn main() -> std::io::Result<()> {
    let cli = Cli::parse();
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    sock.set_reuse_address(true)?;
    sock.bind(&SocketAddrV4::new(cli.listen, 67).into())?;
    // Same 4 MiB the server uses by default, so bursts are absorbed alike.
    sys::force_buffer_sizes(&sock, 4 << 20)?;
    let mut bufs = sys::RecvBuffers::new(128);
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(128);
    let end = Instant::now() + Duration::from_secs(cli.seconds);
    let (mut answered, mut ignored) = (0u64, 0u64);
    while Instant::now() < end {
        sys::wait_readable(&sock, Duration::from_millis(200))?;
        loop {
            let n = sys::recv_batch(&sock, &mut bufs)?;
            if n == 0 {
                break;
            }
            // Replies grouped by relay address, as they leave in one sendmmsg each.
            let mut dest: Option<Ipv4Addr> = None;
            for d in bufs.datagrams() {
                let Ok(req) = Message::parse(d) else {
                    ignored += 1;
                    continue;
                };
                let (kind, yiaddr) = match req.message_type() {
                    // A made-up address from the client's MAC, stable across its exchanges.
                    Some(MessageType::Discover) => (MessageType::Offer, made_up(req.chaddr())),
                    Some(MessageType::Request) => (
                        MessageType::Ack,
                        req.requested_ip()
                            .filter(|ip| !ip.is_unspecified())
                            .unwrap_or(req.ciaddr()),
                    ),
                    _ => {
                        ignored += 1;
                        continue;
                    }
                };
                let giaddr = req.giaddr();
                if giaddr.is_unspecified() || dest.is_some_and(|g| g != giaddr) {
                    ignored += 1;
                    continue;
                }
                dest = Some(giaddr);
                let mut b = MessageBuilder::reply(&req, kind);
                b.set_yiaddr(yiaddr)
                    .option_ip(code::SERVER_ID, cli.listen)
                    .option_u32(code::LEASE_TIME, 3600);
                out.push(b.finish());
            }
            if let Some(g) = dest {
                let mut sent = 0;
                while sent < out.len() {
                    let rest = out.get(sent..).unwrap_or(&[]);
                    sent += sys::send_batch(&sock, rest, SocketAddrV4::new(g, 67), true)?;
                }
                answered += out.len() as u64;
            }
            out.clear();
        }
    }
    eprintln!("null_responder: answered {answered}, ignored {ignored}");
    Ok(())
}

/// 198.19.x.y from the last two bytes of the MAC.
fn made_up(chaddr: &[u8]) -> Ipv4Addr {
    let b = |i: usize| chaddr.get(i).copied().unwrap_or(0);
    Ipv4Addr::new(198, 19, b(4), b(5))
}
