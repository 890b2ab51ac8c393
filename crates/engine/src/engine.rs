//! The [`Engine`]: lease table + allocator + message dispatch.

use std::sync::Arc;

use hyperdhcp_wire::Message;

use crate::config::Config;
use crate::decision::{Decision, RequestContext};
use crate::lease::{Lease, LeaseChange, UnixTime};

/// The DHCP state machine. Deterministic: same inputs, same outputs.
pub struct Engine {
    config: Arc<Config>,
}

impl Engine {
    /// Builds the engine from a validated config and the leases loaded from the store
    /// (O(n) in the number of leases; rebuilds indexes and free lists).
    pub fn new(config: Arc<Config>, leases: Vec<Lease>, now: UnixTime) -> Self {
        let _ = (leases, now);
        Self { config }
    }

    /// Swaps in a new config (SIGHUP), keeping every lease.
    pub fn reconfigure(&mut self, config: Arc<Config>, now: UnixTime) {
        let _ = now;
        self.config = config;
    }

    /// The config in force.
    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Handles one parsed request.
    pub fn handle(&mut self, msg: &Message<'_>, ctx: &RequestContext<'_>, now: UnixTime) -> Decision {
        let _ = (msg, ctx, now);
        todo!("engine helper implements")
    }

    /// Reclaims leases whose time ran out and frees stale offers; returns the durable changes
    /// (bound → expired). Call periodically (e.g. every second).
    pub fn expire(&mut self, now: UnixTime) -> Vec<LeaseChange> {
        let _ = now;
        todo!("engine helper implements")
    }

    /// All leases currently known (any state).
    pub fn leases(&self) -> impl Iterator<Item = &Lease> {
        std::iter::empty()
    }
}
