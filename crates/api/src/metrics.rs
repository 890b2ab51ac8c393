//! The Prometheus exposition: a collector that reads the serving loop's atomics ([`Counters`],
//! the histograms and the pool snapshot in [`Telemetry`], the hooks' [`EventStats`]) at scrape
//! time, so nothing is counted twice and the serving thread never takes a lock for a scrape.

use std::sync::Arc;

use hyperdhcp_control::{AtomicHistogram, EventStats, Telemetry};
use hyperdhcp_engine::IgnoreReason;
use hyperdhcp_wire::MessageType;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

/// Label value for a datagram without a valid message type.
const UNKNOWN_TYPE: &str = "unknown";
/// Drop reason label for datagrams the kernel discarded (full socket receive buffer).
pub const KERNEL_DROP_REASON: &str = "kernel_receive_buffer";

/// A registry whose only collector reads `telemetry`.
pub fn registry(telemetry: &Arc<Telemetry>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(TelemetryCollector(Arc::clone(telemetry))));
    registry
}

/// Reads [`Telemetry`] on every scrape.
#[derive(Debug)]
struct TelemetryCollector(Arc<Telemetry>);

/// Writes one counter family: one sample per (labels, value).
fn counter_family<'a>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (Vec<(&'static str, &'a str)>, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, value) in samples {
        if labels.is_empty() {
            // A family without labels has exactly one sample.
            return ConstCounter::new(value).encode(family);
        }
        ConstCounter::new(value).encode(family.encode_family(&labels)?)?;
    }
    Ok(())
}

/// Writes one gauge family.
fn gauge_family<'a, V: prometheus_client::encoding::EncodeGaugeValue + Copy>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (Vec<(&'static str, &'a str)>, V)>,
) -> Result<(), std::fmt::Error> {
    let mut family = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in samples {
        let metric: MetricEncoder<'_> = family.encode_family(&labels)?;
        ConstGauge::new(value).encode(metric)?;
    }
    Ok(())
}

fn histogram(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    h: &AtomicHistogram,
) -> Result<(), std::fmt::Error> {
    let (sum, count, buckets) = h.snapshot();
    let mut m = encoder.encode_descriptor(name, help, None, MetricType::Histogram)?;
    m.encode_histogram::<prometheus_client::encoding::NoLabelSet>(sum, count, &buckets, None)
}

/// Lower-case message type name for labels.
fn type_label(mt: Option<MessageType>) -> &'static str {
    match mt {
        None => UNKNOWN_TYPE,
        Some(MessageType::Discover) => "discover",
        Some(MessageType::Offer) => "offer",
        Some(MessageType::Request) => "request",
        Some(MessageType::Decline) => "decline",
        Some(MessageType::Ack) => "ack",
        Some(MessageType::Nak) => "nak",
        Some(MessageType::Release) => "release",
        Some(MessageType::Inform) => "inform",
    }
}

impl Collector for TelemetryCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let t = &self.0;
        let c = &t.counters;
        let types = std::iter::once(None).chain(MessageType::ALL.map(Some));
        counter_family(
            &mut e,
            "hyperdhcp_packets_received",
            "DHCP datagrams received, by message type",
            types
                .clone()
                .map(|mt| (vec![("type", type_label(mt))], c.received(mt))),
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_packets_sent",
            "DHCP replies sent, by message type",
            MessageType::ALL
                .iter()
                .map(|mt| (vec![("type", type_label(Some(*mt)))], c.sent(*mt))),
        )?;
        let drops: Vec<_> = c
            .drops()
            .chain(std::iter::once((KERNEL_DROP_REASON, c.kernel_drops())))
            .collect();
        counter_family(
            &mut e,
            "hyperdhcp_drops",
            "Requests dropped or left unanswered, by reason",
            drops.iter().map(|(r, n)| (vec![("reason", *r)], *n)),
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_allocation_failures",
            "DISCOVERs left unanswered because every pool of the subnet was in use",
            [(vec![], c.ignored(IgnoreReason::PoolExhausted))],
        )?;
        let (commits, failed) = c.commits();
        counter_family(
            &mut e,
            "hyperdhcp_store_commits",
            "Store commits, by result",
            [
                (vec![("result", "ok")], commits.saturating_sub(failed)),
                (vec![("result", "error")], failed),
            ],
        )?;
        histogram(
            &mut e,
            "hyperdhcp_store_commit_duration_seconds",
            "Duration of one store commit (one fsync per batch)",
            &t.commit_latency,
        )?;
        histogram(
            &mut e,
            "hyperdhcp_store_commit_batch_size",
            "Lease changes per store commit",
            &t.commit_batch,
        )?;
        histogram(
            &mut e,
            "hyperdhcp_request_duration_seconds",
            "From reading a request's batch to sending its reply",
            &t.request_latency,
        )?;
        let pools = t.pools.load();
        gauge_family(
            &mut e,
            "hyperdhcp_leases_active",
            "Offered or bound leases, by subnet and pool",
            pools.iter().map(|p| {
                (
                    vec![("subnet", p.subnet.as_str()), ("pool", p.pool.as_str())],
                    p.active as i64,
                )
            }),
        )?;
        let sized = || pools.iter().filter(|p| p.size > 0);
        gauge_family(
            &mut e,
            "hyperdhcp_pool_size",
            "Addresses in the pool",
            sized().map(|p| {
                (
                    vec![("subnet", p.subnet.as_str()), ("pool", p.pool.as_str())],
                    p.size as i64,
                )
            }),
        )?;
        gauge_family(
            &mut e,
            "hyperdhcp_pool_utilization",
            "Fraction of the pool's addresses offered or bound (0..1)",
            sized().map(|p| {
                (
                    vec![("subnet", p.subnet.as_str()), ("pool", p.pool.as_str())],
                    p.active as f64 / p.size as f64,
                )
            }),
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_probe_results",
            "Conflict probes by method (arp, icmp) and result: free = no answer before the timeout, conflict = answered, cache_hit = recently found free (not sent), skipped = could not be sent",
            t.counters
                .probe_results()
                .map(|(m, r, n)| (vec![("method", m), ("result", r)], n)),
        )?;
        let ev = &t.events;
        let get = EventStats::get;
        counter_family(
            &mut e,
            "hyperdhcp_events_published",
            "Events queued for the hooks",
            [(vec![], get(&ev.published))],
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_events_dropped",
            "Events dropped: bus = the serving loop's queue was full, hook = one hook's queue was full",
            [
                (vec![("stage", "bus")], get(&ev.dropped_bus)),
                (vec![("stage", "hook")], get(&ev.dropped_hook)),
            ],
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_hook_runs",
            "Hook runs and deliveries, by kind and result",
            [
                (
                    vec![("kind", "script"), ("result", "ok")],
                    get(&ev.script_ok),
                ),
                (
                    vec![("kind", "script"), ("result", "failure")],
                    get(&ev.script_failures),
                ),
                (
                    vec![("kind", "webhook"), ("result", "ok")],
                    get(&ev.webhook_ok),
                ),
                (
                    vec![("kind", "webhook"), ("result", "failure")],
                    get(&ev.webhook_failures),
                ),
            ],
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_hook_failures",
            "Failed hook runs (scripts: non-zero exit, timeout, start failure; webhooks: after the last retry)",
            [
                (vec![("kind", "script")], get(&ev.script_failures)),
                (vec![("kind", "webhook")], get(&ev.webhook_failures)),
            ],
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_hook_timeouts",
            "Scripts killed at their timeout",
            [(vec![("kind", "script")], get(&ev.script_timeouts))],
        )?;
        counter_family(
            &mut e,
            "hyperdhcp_webhook_retries",
            "Webhook attempts retried after a failure",
            [(vec![], get(&ev.webhook_retries))],
        )?;
        Ok(())
    }
}

/// The registry's text exposition.
pub fn render(registry: &Registry) -> String {
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, registry).is_err() {
        out.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyperdhcp_control::{Counters, PoolStat, ProbeResult};
    use hyperdhcp_engine::ConflictMethod;

    #[test]
    fn exposition_mirrors_counters() {
        let counters = Arc::new(Counters::default());
        counters.count_received(Some(MessageType::Discover));
        counters.count_received(Some(MessageType::Discover));
        counters.count_sent(MessageType::Offer);
        counters.count_ignored(IgnoreReason::PoolExhausted);
        counters.set_kernel_drops(7);
        counters.count_probe(ConflictMethod::Arp, ProbeResult::Conflict);
        let events = Arc::new(EventStats::default());
        EventStats::bump(&events.dropped_bus);
        let t = Arc::new(Telemetry::new(counters, events));
        t.commit_latency.observe(0.002);
        t.pools.store(Arc::new(vec![PoolStat {
            subnet: "198.18.0.0/16".into(),
            pool: "198.18.1.10-198.18.1.19".into(),
            size: 10,
            active: 5,
        }]));
        let text = render(&registry(&t));
        for line in [
            "hyperdhcp_packets_received_total{type=\"discover\"} 2",
            "hyperdhcp_packets_sent_total{type=\"offer\"} 1",
            "hyperdhcp_drops_total{reason=\"pool_exhausted\"} 1",
            "hyperdhcp_drops_total{reason=\"kernel_receive_buffer\"} 7",
            "hyperdhcp_allocation_failures_total 1",
            "hyperdhcp_events_dropped_total{stage=\"bus\"} 1",
            "hyperdhcp_store_commit_duration_seconds_count 1",
            "hyperdhcp_leases_active{subnet=\"198.18.0.0/16\",pool=\"198.18.1.10-198.18.1.19\"} 5",
            "hyperdhcp_pool_utilization{subnet=\"198.18.0.0/16\",pool=\"198.18.1.10-198.18.1.19\"} 0.5",
            "hyperdhcp_probe_results_total{method=\"arp\",result=\"conflict\"} 1",
            "hyperdhcp_probe_results_total{method=\"icmp\",result=\"free\"} 0",
        ] {
            assert!(text.contains(line), "missing {line} in:\n{text}");
        }
    }
}
