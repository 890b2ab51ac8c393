//! PXE end to end: a PXE client (a DISCOVER crafted by this test binary with options 60 and
//! 93, sent from inside the client namespace like e2e_hostile.rs does) gets its
//! architecture's boot file (file field and option 67), the TFTP server (option 66) and the
//! next-server (siaddr) from the matching `[[class]]`. A BOOTP client (a BOOTREQUEST without
//! option 53) is answered from a `bootp = true` pool with an infinite lease.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use common::*;
use hyperdhcp_wire::{FLAG_BROADCAST, Message, MessageBuilder, MessageType, code};

/// Environment variable that turns [`pxe_client_entry_point`] into the client: `ARCH:MAC`.
const CLIENT_ENV: &str = "HD_E2E_PXE_CLIENT";
/// The client's static address (needed to send a limited broadcast; outside the pool).
const CLIENT_CIDR: &str = "198.18.0.4/16";
/// The TFTP / next server the classes name.
const NEXT_SERVER: Ipv4Addr = Ipv4Addr::new(198, 18, 0, 1);
/// How long the client waits for an OFFER.
const OFFER_WAIT: Duration = Duration::from_secs(10);

/// The PXE classes, appended to the lab config.
fn classes() -> String {
    format!(
        "\n[[class]]\nname = \"uefi\"\nmatch = {{ vendor_class = \"PXEClient*\", client_arch = 7 }}\n\
         next_server = \"{NEXT_SERVER}\"\nboot_file = \"ipxe.efi\"\ntftp_server_name = \"{NEXT_SERVER}\"\n\
         \n[[class]]\nname = \"bios\"\nmatch = {{ vendor_class = \"PXEClient*\", client_arch = 0 }}\n\
         next_server = \"{NEXT_SERVER}\"\nboot_file = \"undionly.kpxe\"\ntftp_server_name = \"{NEXT_SERVER}\"\n"
    )
}

/// Arch value selecting the BOOTP client in [`pxe_client_entry_point`].
const BOOTP_MODE: u16 = u16::MAX;
/// Arch value selecting a plain RFC 951 BOOTP client: no magic cookie, a zero vendor area.
const RFC951_MODE: u16 = u16::MAX - 1;

/// Sends a PXE DISCOVER (broadcast flag set) and prints the OFFER's fields on one line; with
/// `arch` = [`BOOTP_MODE`] a BOOTREQUEST without option 53 instead, printing the BOOTREPLY.
fn pxe_client(arch: u16, mac: [u8; 6]) -> Result<()> {
    let sock = UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68))?;
    sock.set_broadcast(true)?;
    sock.set_read_timeout(Some(Duration::from_millis(500)))?;
    let xid = 0x7078_6500 | u32::from(arch);
    let rfc951 = arch == RFC951_MODE;
    let bootp = arch == BOOTP_MODE || rfc951;
    let mut b = if bootp {
        MessageBuilder::bootp_request(xid, &mac)
    } else {
        MessageBuilder::request(MessageType::Discover, xid, &mac)
    };
    b.set_flags(FLAG_BROADCAST);
    if !bootp {
        b.option(
            code::VENDOR_CLASS_ID,
            format!("PXEClient:Arch:{arch:05}:UNDI:003016").as_bytes(),
        )
        .option(code::CLIENT_ARCH, &arch.to_be_bytes())
        .option(
            code::PARAMETER_REQUEST_LIST,
            &[
                code::SUBNET_MASK,
                code::ROUTER,
                code::TFTP_SERVER_NAME,
                code::BOOTFILE_NAME,
            ],
        );
    }
    let discover = if rfc951 {
        b.finish_without_vendor_extensions()
    } else {
        b.finish()
    };
    let deadline = Instant::now() + OFFER_WAIT;
    let mut buf = [0u8; 1500];
    while Instant::now() < deadline {
        sock.send_to(&discover, SocketAddrV4::new(Ipv4Addr::BROADCAST, 67))?;
        let resend = Instant::now() + Duration::from_secs(1);
        while Instant::now() < resend {
            let Ok((n, _)) = sock.recv_from(&mut buf) else {
                continue;
            };
            if rfc951 {
                // RFC 951 §3: the reply has no cookie either (which `Message::parse` refuses
                // on a BOOTREPLY): read the fixed header (op, xid, yiaddr, siaddr).
                let r = &buf[..n];
                let at = |o: usize| r.get(o..o + 4).and_then(|b| <[u8; 4]>::try_from(b).ok());
                if r.first() != Some(&hyperdhcp_wire::BOOTREPLY) || at(4) != Some(xid.to_be_bytes())
                {
                    continue;
                }
                let vendor_zero = r
                    .get(hyperdhcp_wire::HEADER_LEN..)
                    .is_some_and(|v| v.iter().all(|&b| b == 0));
                println!(
                    "OFFER yiaddr={} siaddr={} len={n} vendor_zero={vendor_zero}",
                    Ipv4Addr::from(at(16).unwrap_or_default()),
                    Ipv4Addr::from(at(20).unwrap_or_default()),
                );
                return Ok(());
            }
            let Ok(m) = Message::parse(&buf[..n]) else {
                continue;
            };
            let want = if bootp {
                None
            } else {
                Some(MessageType::Offer)
            };
            if m.xid() != xid || m.op() != hyperdhcp_wire::BOOTREPLY || m.message_type() != want {
                continue;
            }
            let file = m.file();
            let end = file.iter().position(|&c| c == 0).unwrap_or(file.len());
            let text = |c| {
                m.option(c)
                    .map(|v| String::from_utf8_lossy(&v).into_owned())
                    .unwrap_or_default()
            };
            let routers = m.routers().unwrap_or_default();
            println!(
                "OFFER yiaddr={} siaddr={} file={} opt67={} opt66={} routers={routers:?}",
                m.yiaddr(),
                m.siaddr(),
                String::from_utf8_lossy(&file[..end]),
                text(code::BOOTFILE_NAME),
                text(code::TFTP_SERVER_NAME),
            );
            return Ok(());
        }
    }
    bail!("no OFFER within {OFFER_WAIT:?}")
}

/// Not a test on its own: the PXE client process entry point (see the module doc).
#[test]
fn pxe_client_entry_point() -> Result<()> {
    let Ok(spec) = std::env::var(CLIENT_ENV) else {
        return Ok(());
    };
    let (arch, mac) = spec.split_once(':').context("ARCH:MAC")?;
    let mac: Vec<u8> = mac
        .split('-')
        .map(|p| u8::from_str_radix(p, 16))
        .collect::<Result<_, _>>()?;
    let mac: [u8; 6] = mac.try_into().ok().context("6-octet MAC")?;
    pxe_client(arch.parse()?, mac)
}

/// Runs the PXE client for `arch` inside client namespace 0; returns its OFFER line.
fn run_pxe_client(lab: &Lab, arch: u16, mac: &str) -> Result<String> {
    let c = lab.client(0);
    let out = run_output(
        Command::new("ip")
            .args(["netns", "exec", &c.ns])
            .arg(std::env::current_exe()?)
            .args([
                "--exact",
                "pxe_client_entry_point",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CLIENT_ENV, format!("{arch}:{mac}")),
    )?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        out.status.success(),
        "PXE client (arch {arch}) failed: {text}"
    );
    // The test harness prints the test name on the same line.
    text.lines()
        .find_map(|l| l.find("OFFER ").and_then(|i| l.get(i..)))
        .map(str::to_string)
        .with_context(|| format!("no OFFER line: {text}"))
}

#[test]
fn pxe_clients_get_their_architectures_boot_file_and_next_server() -> Result<()> {
    let mut lab = Lab::new()?;
    let cfg = LabConfig::new(lab.path());
    let path = lab.write_config("pxe.toml", &(cfg.to_toml() + &classes()))?;
    let server = lab.start_server_file(&path)?;
    let c = lab.client(0).clone();
    lab.add_client_addr(0, CLIENT_CIDR)?;
    lab.exec(&c.ns, "ip", &["route", "add", "default", "dev", &c.ifname])?;

    for (arch, mac, file) in [
        (7, "02-00-00-00-0e-07", "ipxe.efi"),
        (0, "02-00-00-00-0e-00", "undionly.kpxe"),
    ] {
        let offer = run_pxe_client(&lab, arch, mac).with_context(|| server.log())?;
        ensure!(
            offer.contains(&format!("siaddr={NEXT_SERVER} "))
                && offer.contains(&format!("file={file} "))
                && offer.contains(&format!("opt67={file} "))
                && offer.contains(&format!("opt66={NEXT_SERVER} ")),
            "arch {arch}: {offer}"
        );
        let yiaddr: Ipv4Addr = offer
            .split("yiaddr=")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|a| a.parse().ok())
            .with_context(|| offer.clone())?;
        ensure!((POOL_START..=POOL_END).contains(&yiaddr), "{offer}");
    }
    Ok(())
}

#[test]
fn bootp_client_is_answered_with_an_infinite_lease() -> Result<()> {
    let mut lab = Lab::new()?;
    let cfg = LabConfig::new(lab.path());
    let text = cfg.to_toml().replace(
        &format!("end = \"{POOL_END}\"\n"),
        &format!("end = \"{POOL_END}\"\nbootp = true\n"),
    );
    ensure!(text.contains("bootp = true"), "{text}");
    let path = lab.write_config("bootp.toml", &text)?;
    let server = lab.start_server_file(&path)?;
    let c = lab.client(0).clone();
    lab.add_client_addr(0, CLIENT_CIDR)?;
    lab.exec(&c.ns, "ip", &["route", "add", "default", "dev", &c.ifname])?;

    let reply =
        run_pxe_client(&lab, BOOTP_MODE, "02-00-00-00-0b-01").with_context(|| server.log())?;
    let yiaddr: Ipv4Addr = reply
        .split("yiaddr=")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|a| a.parse().ok())
        .with_context(|| reply.clone())?;
    ensure!((POOL_START..=POOL_END).contains(&yiaddr), "{reply}");
    ensure!(
        reply.contains(&format!("routers=[{ROUTER}]")),
        "vendor options: {reply}"
    );
    let lease = wait_lease(&cfg.store, yiaddr, "bound by BOOTP", |l| {
        l.state == "bound" && l.mac == "02:00:00:00:0b:01"
    })?;
    // A plain RFC 951 client (no magic cookie, zero vendor area) is answered too, with a
    // BOOTREPLY without vendor extensions.
    let reply =
        run_pxe_client(&lab, RFC951_MODE, "02-00-00-00-0b-02").with_context(|| server.log())?;
    let plain: Ipv4Addr = reply
        .split("yiaddr=")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|a| a.parse().ok())
        .with_context(|| reply.clone())?;
    ensure!(
        (POOL_START..=POOL_END).contains(&plain) && plain != yiaddr,
        "{reply}"
    );
    ensure!(reply.contains("vendor_zero=true"), "{reply}");
    wait_lease(&cfg.store, plain, "bound by RFC 951 BOOTP", |l| {
        l.state == "bound" && l.mac == "02:00:00:00:0b:02"
    })?;
    // Infinite: `leases list` shows the end as the far future (9999-12-31).
    ensure!(
        lease.ends > 253_000_000_000,
        "BOOTP lease ends {}",
        lease.ends
    );
    Ok(())
}
