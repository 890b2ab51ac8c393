//! Hostile input end to end: while `hyperdhcp serve` runs, a sender in the client namespace
//! fires a few thousand malformed, truncated, oversized, wrong-op and random-option datagrams
//! at 198.18.0.1:67 and at the broadcast addresses. Afterwards the server process must still
//! be alive and a real client (udhcpc) must still get a lease.
//!
//! The sender is this test binary itself, re-run inside the client namespace with
//! `ip netns exec NS <test binary> --exact hostile_sender_entry_point` and [`SENDER_ENV`] set;
//! without that variable the entry point does nothing.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::process::Command;

use anyhow::{Context, Result, ensure};
use common::*;

/// Environment variable that turns [`hostile_sender_entry_point`] into the sender; its value
/// is `COUNT:SEED`.
const SENDER_ENV: &str = "HD_E2E_HOSTILE_SENDER";
/// Datagrams sent (bounded load).
const HOSTILE_PACKETS: u32 = 6000;
/// Largest datagram sent: a full Ethernet payload minus IP and UDP headers.
const MAX_DATAGRAM: usize = 1472;
/// The sender's static address on its interface (the server's subnet, outside its pool).
const SENDER_CIDR: &str = "198.18.0.3/16";
/// DHCP server port (RFC 2131 §4.1).
const SERVER_PORT: u16 = 67;
/// DHCP client port.
const CLIENT_PORT: u16 = 68;
/// Fixed BOOTP header length before the magic cookie (RFC 2131 §2).
const BOOTP_HEADER: usize = 236;
/// The DHCP magic cookie (RFC 2131 §3).
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];

/// xorshift64*: a small deterministic generator, so a failure can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
    /// An address in 198.18.0.0/15 or 0.0.0.0: the only addresses these packets name.
    fn lab_addr(&mut self) -> [u8; 4] {
        if self.below(3) == 0 {
            [0; 4]
        } else {
            [198, 18 + self.below(2) as u8, self.byte(), self.byte()]
        }
    }
}

/// A well-formed BOOTREQUEST header with a random chaddr and lab-only addresses.
fn header(rng: &mut Rng, op: u8) -> Vec<u8> {
    let mut p = vec![0u8; BOOTP_HEADER];
    p[0] = op;
    p[1] = 1; // htype Ethernet
    p[2] = 6; // hlen
    p[4..8].copy_from_slice(&rng.bytes(4)); // xid
    if rng.below(4) == 0 {
        p[10] = 0x80; // broadcast flag
    }
    p[12..16].copy_from_slice(&rng.lab_addr()); // ciaddr
    p[24..28].copy_from_slice(&rng.lab_addr()); // giaddr
    p[28] = 0x02; // locally administered MAC
    p[29..34].copy_from_slice(&rng.bytes(5));
    p.extend_from_slice(&MAGIC_COOKIE);
    p
}

/// Appends option 53 (message type) with a random, mostly valid value.
fn message_type(rng: &mut Rng, p: &mut Vec<u8>) {
    let t = if rng.below(4) == 0 {
        rng.byte()
    } else {
        1 + rng.below(8) as u8
    };
    p.extend_from_slice(&[53, 1, t]);
}

/// Random options: valid-looking TLVs, bogus lengths, overruns, pads, no END.
fn random_options(rng: &mut Rng, p: &mut Vec<u8>, budget: usize) {
    while p.len() < budget {
        match rng.below(10) {
            0 => p.push(0),                                 // pad
            1 => p.extend_from_slice(&[rng.byte(), 255]),   // length runs past the end
            2 => p.extend_from_slice(&[53, 0]),             // empty message type
            3 => p.extend_from_slice(&[52, 1, rng.byte()]), // option overload, any value
            4 => p.extend_from_slice(&[50, 3, 198, 18, 1]), // short requested address
            5 => p.extend_from_slice(&[55, 0]),             // empty parameter list
            _ => {
                let len = rng.below(40);
                p.push(rng.byte());
                p.push(len as u8);
                let body = rng.bytes(len);
                p.extend_from_slice(&body);
            }
        }
        if rng.below(8) == 0 {
            break;
        }
    }
    if rng.below(2) == 0 {
        p.push(255);
    }
}

/// One hostile datagram of kind `i % 10`.
fn hostile_packet(rng: &mut Rng, i: u32) -> Vec<u8> {
    let mut p = match i % 10 {
        // Pure noise of any length, including empty.
        0 => {
            let n = rng.below(MAX_DATAGRAM + 1);
            rng.bytes(n)
        }
        // A valid DISCOVER cut short anywhere.
        1 => {
            let mut p = header(rng, 1);
            message_type(rng, &mut p);
            p.push(255);
            let cut = rng.below(p.len());
            p.truncate(cut);
            p
        }
        // Valid header, random options.
        2 => {
            let mut p = header(rng, 1);
            if rng.below(2) == 0 {
                message_type(rng, &mut p);
            }
            let budget = BOOTP_HEADER + 4 + rng.below(300);
            random_options(rng, &mut p, budget);
            p
        }
        // BOOTREPLY (wrong op) and unknown ops.
        3 => {
            let op = if rng.below(2) == 0 { 2 } else { rng.byte() };
            let mut p = header(rng, op);
            p.extend_from_slice(&[53, 1, 2, 54, 4, 198, 18, 0, 1, 255]);
            p
        }
        // Impossible hardware address lengths and types.
        4 => {
            let mut p = header(rng, 1);
            p[1] = rng.byte();
            p[2] = 17 + rng.below(239) as u8;
            message_type(rng, &mut p);
            p.push(255);
            p
        }
        // Oversized: long options up to a full Ethernet frame.
        5 => {
            let mut p = header(rng, 1);
            p.extend_from_slice(&[53, 1, 1]);
            while p.len() + 257 < MAX_DATAGRAM {
                let code = [12, 55, 60, 61, 81, 43, 77, 119][rng.below(8)];
                p.push(code);
                p.push(255);
                let body = rng.bytes(255);
                p.extend_from_slice(&body);
            }
            p.push(255);
            p
        }
        // Option overload with garbage in sname/file.
        6 => {
            let mut p = header(rng, 1);
            let garbage = rng.bytes(64 + 128);
            p[44..44 + 192].copy_from_slice(&garbage);
            p.extend_from_slice(&[53, 1, 1, 52, 1, 1 + rng.below(3) as u8, 255]);
            p
        }
        // REQUEST / RELEASE / DECLINE / INFORM naming random lab addresses, bad server ids.
        7 => {
            let mut p = header(rng, 1);
            let t = [3, 4, 7, 8][rng.below(4)];
            p.extend_from_slice(&[53, 1, t, 50, 4]);
            p.extend_from_slice(&rng.lab_addr());
            p.extend_from_slice(&[54, 4]);
            p.extend_from_slice(&rng.lab_addr());
            p.push(255);
            p
        }
        // Bad magic cookie.
        8 => {
            let mut p = header(rng, 1);
            let n = p.len();
            p[n - 4..].copy_from_slice(&rng.bytes(4));
            p.extend_from_slice(&[53, 1, 1, 255]);
            p
        }
        // Relayed-looking: hops 255, lab giaddr, random options.
        _ => {
            let mut p = header(rng, 1);
            p[3] = 255;
            p[24..28].copy_from_slice(&[198, 18, rng.byte(), rng.byte()]);
            message_type(rng, &mut p);
            random_options(rng, &mut p, BOOTP_HEADER + 64);
            p
        }
    };
    p.truncate(MAX_DATAGRAM);
    p
}

/// Sends `count` hostile datagrams (run inside the client namespace).
fn send_hostile(count: u32, seed: u64) -> Result<()> {
    let client = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CLIENT_PORT))
        .context("bind port 68")?;
    let relay = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, SERVER_PORT))
        .context("bind port 67")?;
    let ephemeral = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))?;
    for s in [&client, &relay, &ephemeral] {
        s.set_broadcast(true)?;
    }
    let targets = [
        SocketAddrV4::new(SERVER_IP, SERVER_PORT),
        SocketAddrV4::new(Ipv4Addr::BROADCAST, SERVER_PORT),
        SocketAddrV4::new(Ipv4Addr::new(198, 18, 255, 255), SERVER_PORT),
    ];
    let mut rng = Rng(seed | 1);
    let mut sent = 0u32;
    for i in 0..count {
        let packet = hostile_packet(&mut rng, i);
        let socket = [&client, &client, &relay, &ephemeral][rng.below(4)];
        let target = targets[if rng.below(3) == 0 {
            1 + rng.below(2)
        } else {
            0
        }];
        // A full socket buffer (ENOBUFS) is fine: this is a flood, not a conversation.
        if socket.send_to(&packet, target).is_ok() {
            sent += 1;
        }
    }
    println!("hostile sender: {sent}/{count} datagrams sent (seed {seed})");
    Ok(())
}

/// Not a test on its own: the sender process entry point (see the module doc).
#[test]
fn hostile_sender_entry_point() -> Result<()> {
    let Ok(spec) = std::env::var(SENDER_ENV) else {
        return Ok(());
    };
    let (count, seed) = spec.split_once(':').context("COUNT:SEED")?;
    send_hostile(count.parse()?, seed.parse()?)
}

#[test]
fn hostile_packets_do_not_stop_the_server() -> Result<()> {
    let mut lab = Lab::new()?;
    let cfg = LabConfig::new(lab.path());
    let mut server = lab.start_server(&cfg)?;
    let c = lab.client(0).clone();
    lab.add_client_addr(0, SENDER_CIDR)?;
    // Limited broadcast needs a route; this one exists only inside the client namespace.
    lab.exec(&c.ns, "ip", &["route", "add", "default", "dev", &c.ifname])?;

    let seed = u64::from(std::process::id()) << 16 | 0x5eed;
    let exe = std::env::current_exe()?;
    let out = run_output(
        Command::new("ip")
            .args(["netns", "exec", &c.ns])
            .arg(exe)
            .args([
                "--exact",
                "hostile_sender_entry_point",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(SENDER_ENV, format!("{HOSTILE_PACKETS}:{seed}")),
    )?;
    let sender = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(out.status.success(), "hostile sender failed: {sender}");
    let sent: u32 = sender
        .split("hostile sender: ")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .and_then(|n| n.trim().parse().ok())
        .with_context(|| format!("sender did not run: {sender}"))?;
    ensure!(
        sent >= HOSTILE_PACKETS / 2,
        "only {sent} of {HOSTILE_PACKETS} hostile datagrams left the sender: {sender}"
    );

    ensure!(
        server.is_running()?,
        "server died under hostile input (seed {seed}):\n{}",
        server.log()
    );
    // Still serving: a real client gets a lease with the configured options.
    lab.exec(&c.ns, "ip", &["-4", "addr", "flush", "dev", &c.ifname])?;
    lab.set_mac(0, "02:00:00:00:06:01")?;
    let hook = lab.hook(0, "udhcpc", false)?;
    let bound = lab.udhcpc_once(0, &hook, "udhcpc-after-flood")?;
    let ip = bound.ip().context("bound without ip")?;
    ensure!(
        (POOL_START..=POOL_END).contains(&ip),
        "address after the flood: {ip}"
    );
    ensure!(bound.routers() == ROUTER.to_string(), "router: {bound:#?}");
    wait_lease(&cfg.store, ip, "bound after the flood", |l| {
        l.state == "bound" && l.mac == "02:00:00:00:06:01"
    })?;
    ensure!(
        server.is_running()?,
        "server exited after the flood:\n{}",
        server.log()
    );
    Ok(())
}
