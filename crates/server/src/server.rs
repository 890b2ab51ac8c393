//! The serving loop: poll → recvmmsg → parse → engine → sendmmsg of OFFERs → one commit per
//! batch on the committer thread ([`crate::commit`], pipelined: the loop goes on receiving while
//! a batch is fsynced) → sendmmsg of that batch's ACKs when it comes back; plus the expiry
//! timer, interface address refresh, and the commands of the control door (a reload swaps in a
//! configuration validated off the loop).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use hyperdhcp_config::Config;
use hyperdhcp_control::{Command, CommandQueue, Telemetry};
use hyperdhcp_engine::{Conflict, Engine, Outcome, RequestContext, UnixTime};
use hyperdhcp_events::EventSender;
use hyperdhcp_store::{LeaseStore, StoreError};
use hyperdhcp_wire::Message;

use crate::ServerError;
use crate::batch::{self, BROADCAST_DEST, Batch, Route};
use crate::clock;
use crate::commit::{Committer, Done};
use crate::dropwarn::DropWarner;
use crate::emit::Emitter;
use crate::history;
use crate::logfmt::log_decision;
use crate::overload;
use crate::probing::{Probing, Released};
use crate::ratelimit::{self, RateLimiter};
use crate::socket::{self, ListenSocket};
use crate::sys::{self, Datagram, RecvBatch, SendBatch};
use hyperdhcp_control::{Counters, DropReason};

/// Datagrams per recvmmsg/sendmmsg call.
pub const BATCH_SIZE: usize = 128;
/// Most datagrams read from one socket before the batch is committed and answered. Under load
/// the commit (an fsync) dominates, so one commit must cover many requests; at low load a
/// batch is whatever the socket had, often one packet.
pub const MAX_BATCH_PER_SOCKET: usize = 1024;
/// Receive slot size: a DHCP message over Ethernet fits in 1500 bytes; larger ones (jumbo
/// frames) still fit, anything bigger is dropped as truncated.
pub const RECV_SLOT_LEN: usize = 4096;
/// Longest a poll waits, so the shutdown flag and the expiry timer are looked at.
const POLL_TIMEOUT_MS: i32 = 200;
/// Seconds between `engine.expire` calls.
const EXPIRE_INTERVAL_SECS: UnixTime = 1;
/// Seconds between interface address re-reads (addresses can change without a SIGHUP).
const ADDR_REFRESH_SECS: UnixTime = 5;
/// Minimum seconds between two "kernel dropped requests" warnings.
const DROP_WARN_SECS: UnixTime = 10;
/// Most replies waiting for a commit while another commit is in flight; past it the loop waits
/// for the disk instead of reading more (bounds memory when the disk cannot keep up).
pub const MAX_WAITING_REPLIES: usize = 65_536;
/// Emptied batches kept for reuse (their vectors keep their capacity).
const SPARE_BATCHES: usize = 2;

/// The doors the loop is started with: how the rest of the process reaches it.
#[derive(Debug)]
pub struct Doors {
    /// Commands in (reload, clear a conflict), drained once per loop turn.
    pub commands: CommandQueue,
    /// Counters, histograms, pool snapshot and readiness out, read by the metrics listener.
    pub telemetry: Arc<Telemetry>,
    /// The event bus to the hooks (`None`: no hook wants events, none is built).
    pub events: Option<EventSender>,
}

/// A running DHCP server: engine, store and sockets, driven by [`Server::run`].
pub struct Server {
    engine: Engine,
    /// Owns the store on its own thread; commits batches in order.
    committer: Committer,
    /// Emptied batches for reuse.
    spare: Vec<Batch>,
    /// `store.path` the server started with (a reload cannot move the store).
    store_path: PathBuf,
    /// Commands from the control door; `None` only in unit tests.
    commands: Option<CommandQueue>,
    /// Scratch: the commands taken this turn.
    command_buf: Vec<Command>,
    sockets: Vec<ListenSocket>,
    counters: Arc<Counters>,
    recv: RecvBatch,
    send: SendBatch,
    batch: Batch,
    /// Scratch: indices (within one socket's group) of replies the kernel refused.
    send_failures: Vec<usize>,
    pollfds: Vec<libc::pollfd>,
    /// Earliest time the next kernel-drop warning may be logged.
    next_drop_warn: UnixTime,
    /// Earliest time the next "overloaded, shedding DISCOVERs" warning may be logged.
    next_shed_warn: UnixTime,
    /// Rate-limited summary of the server's own drops (issue 3 item 5).
    drop_warner: DropWarner,
    /// `[server.rate_limit]` buckets, checked on the fixed header before parsing.
    limiter: RateLimiter,
    /// When the next history prune is due.
    next_prune: UnixTime,
    /// Hook events and metrics taps.
    emitter: Emitter,
    /// Conflict probes before OFFERs (issue 5) and the DISCOVERs parked behind them.
    probing: Probing,
}

impl Server {
    /// Loads the leases from `store`, builds the engine and opens one socket per configured
    /// interface; from then on the loop counts into `doors.telemetry`, publishes events on
    /// `doors.events` and takes commands from `doors.commands`. Logs how many leases were
    /// loaded and where it listens.
    pub fn start(
        config: Config,
        mut store: Box<dyn LeaseStore>,
        doors: Doors,
    ) -> Result<Self, ServerError> {
        let store_path = config.store.path.clone();
        let t0 = Instant::now();
        let leases = store.load_all().map_err(|source| ServerError::StoreLoad {
            path: store_path.clone(),
            source: Box::new(source),
        })?;
        let n = leases.len();
        // Issue 5: conflict records survive restarts (a missing table reads as none).
        let conflicts = store.load_conflicts().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot load conflict records; starting without them");
            Vec::new()
        });
        let probing = Probing::start(&config);
        let limiter = RateLimiter::new(config.server.rate_limit);
        let mut engine = Engine::new(Arc::new(config), leases, clock::now());
        engine.load_conflicts(conflicts, clock::now());
        tracing::info!(
            "loaded {n} leases from {} in {} ms",
            store_path.display(),
            t0.elapsed().as_millis()
        );
        let interfaces = engine.config().server.interfaces.clone();
        if interfaces.is_empty() {
            return Err(ServerError::NoInterfaces);
        }
        let receive_buffer = engine.config().server.receive_buffer;
        let udp_gso = engine.config().server.udp_gso;
        let sockets = interfaces
            .iter()
            .map(|name| ListenSocket::open(name, receive_buffer))
            .collect::<Result<Vec<_>, _>>()?;
        let committer = Committer::spawn(store).map_err(ServerError::Committer)?;
        let mut server = Self {
            engine,
            committer,
            spare: Vec::with_capacity(SPARE_BATCHES),
            store_path,
            commands: Some(doors.commands),
            command_buf: Vec::new(),
            sockets,
            counters: Arc::clone(&doors.telemetry.counters),
            recv: RecvBatch::new(BATCH_SIZE, RECV_SLOT_LEN),
            send: SendBatch::new(BATCH_SIZE, udp_gso),
            batch: Batch::default(),
            send_failures: Vec::with_capacity(BATCH_SIZE),
            pollfds: Vec::new(),
            next_drop_warn: 0,
            next_shed_warn: 0,
            drop_warner: DropWarner::new(DROP_WARN_SECS),
            limiter,
            next_prune: clock::now() + history::PRUNE_INTERVAL_SECS,
            emitter: Emitter::new(doors.events, Some(doors.telemetry)),
            probing,
        };
        server.probing.set_counters(Arc::clone(&server.counters));
        server.refresh_addrs(false)?;
        for s in &server.sockets {
            tracing::info!("listening on {} ({})", s.name, s.addrs_display());
        }
        server.rebuild_pollfds();
        Ok(server)
    }

    /// Shared packet counters.
    pub fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// Serves until `shutdown` is set; then finishes the batch in hand, commits it (and every
    /// commit in flight), answers and returns `Ok(())`. Errors only when polling the sockets
    /// fails.
    pub fn run(&mut self, shutdown: &AtomicBool) -> Result<(), ServerError> {
        let mut next_expire = clock::now();
        let mut next_refresh = clock::now() + ADDR_REFRESH_SECS;
        let mut more_commands = false;
        loop {
            let stopping = shutdown.load(Ordering::Relaxed);
            let timeout = if stopping || more_commands {
                0
            } else {
                // Wake up for the next probe deadline (a parked OFFER is due then).
                self.probing
                    .poll_timeout_ms(clock::mono_ms())
                    .map_or(POLL_TIMEOUT_MS, |ms| {
                        POLL_TIMEOUT_MS.min(i32::try_from(ms).unwrap_or(i32::MAX))
                    })
            };
            sys::poll_readable(&mut self.pollfds, timeout).map_err(ServerError::Poll)?;
            let now = clock::now();
            // A commit came back: send its ACKs and start the next one before reading more.
            if self
                .pollfds
                .last()
                .is_some_and(|p| p.revents & libc::POLLIN != 0)
            {
                self.committer.clear_wake();
            }
            if !self.committer.is_idle() {
                self.collect_done(false);
                self.flush_at(now, false);
            }
            more_commands = self.take_commands(now);
            if self.batch.pending.len() >= MAX_WAITING_REPLIES {
                // The disk is behind: wait for it rather than queue without bound.
                if let Some(done) = self.committer.next_done(true) {
                    self.handle_done(done);
                }
                self.flush_at(now, false);
            }
            for i in 0..self.sockets.len() {
                let ready = self
                    .pollfds
                    .get(i)
                    .is_some_and(|p| p.revents & (libc::POLLIN | libc::POLLERR) != 0);
                if ready {
                    self.read_socket(i, now);
                }
            }
            if now >= next_expire {
                let expired = self.engine.expire(now);
                if !expired.is_empty() {
                    tracing::debug!(count = expired.len(), "leases expired");
                    self.emitter.on_expired(&expired, self.engine.config(), now);
                    if self.engine.config().store.history_retention > 0 {
                        history::record_expired(&expired, now, &mut self.batch.history);
                    }
                    self.batch.extend_changes(expired);
                }
                next_expire = now + EXPIRE_INTERVAL_SECS;
                if let Some((total, reasons)) = self.drop_warner.check(&self.counters, now) {
                    tracing::warn!(total, reasons = %reasons, "dropped datagrams since the last warning (each is logged at debug)");
                }
            }
            self.poll_probes(now);
            self.flush_at(now, stopping);
            // After the replies are out: a slice of the metrics' pool snapshot.
            self.emitter.snapshot(&self.engine, now);
            if now >= self.next_prune {
                self.start_prune(now);
            }
            if now >= next_refresh {
                if let Err(e) = self.refresh_addrs(true) {
                    tracing::warn!(error = %e, "keeping the previous interface addresses");
                }
                next_refresh = now + ADDR_REFRESH_SECS;
            }
            if stopping {
                self.settle();
                tracing::info!("shutting down");
                return Ok(());
            }
        }
    }

    /// Drains socket `i` (up to [`MAX_BATCH_PER_SOCKET`] datagrams, recvmmsg by recvmmsg);
    /// every datagram goes through parse and the engine into the batch.
    fn read_socket(&mut self, i: usize, now: UnixTime) {
        self.update_shedding(i, now);
        let mut read = 0;
        while read < MAX_BATCH_PER_SOCKET {
            let n = self.recv_once(i, now);
            read += n;
            if n < self.recv.capacity() {
                break; // the socket is empty (or failed): no second syscall to learn that
            }
        }
    }

    /// Looks at socket `i`'s receive queue and switches DISCOVER shedding on or off
    /// ([`crate::overload`]); logs (at most every [`DROP_WARN_SECS`]) when it starts.
    fn update_shedding(&mut self, i: usize, now: UnixTime) {
        let Some(sock) = self.sockets.get_mut(i) else {
            return;
        };
        let Ok((queued, limit)) = sys::receive_queue(sock.fd()) else {
            return;
        };
        let was = sock.shedding;
        sock.shedding = overload::next_state(was, queued, limit);
        if sock.shedding && !was && now >= self.next_shed_warn {
            tracing::warn!(
                interface = %sock.name,
                queued_bytes = queued,
                buffer_bytes = limit,
                "overloaded: receive queue over half full; answering REQUESTs first and dropping DISCOVERs until it drains (counted as overload_shed)"
            );
            self.next_shed_warn = now + DROP_WARN_SECS;
        }
    }

    /// One recvmmsg on socket `i`; returns how many datagrams it brought.
    fn recv_once(&mut self, i: usize, now: UnixTime) -> usize {
        let Some(sock) = self.sockets.get(i) else {
            return 0;
        };
        let n = match self.recv.recv(sock.fd()) {
            Ok(n) => n,
            Err(e) => {
                // E.g. ICMP errors queued on the socket; nothing to read this turn.
                tracing::debug!(interface = %sock.name, error = %e, "recvmmsg failed");
                return 0;
            }
        };
        let limit = !self.limiter.is_off();
        for k in 0..n {
            if let Some(d) = self.recv.get(k) {
                // RFC 5765 §3: drop floods before they cost parsing, the engine or a commit.
                if limit
                    && ratelimit::check_datagram(&mut self.limiter, d.data, i, clock::mono_ms())
                        .is_err()
                {
                    self.counters.count_received(None);
                    self.counters.count_dropped(DropReason::RateLimited);
                    continue;
                }
                handle_datagram(
                    &mut self.engine,
                    &mut self.batch,
                    &mut self.emitter,
                    &mut self.probing,
                    &self.counters,
                    sock,
                    i,
                    d,
                    now,
                );
            }
        }
        if let Some(drops) = self.recv.kernel_drops()
            && let Some(sock) = self.sockets.get_mut(i)
            && drops != sock.kernel_drops
        {
            // Under overload this fires every batch: warn at most every DROP_WARN_SECS.
            if now >= self.next_drop_warn {
                tracing::warn!(
                    interface = %sock.name,
                    total = drops,
                    "receive buffer overflow: the kernel dropped requests (raise server.receive_buffer)"
                );
                self.next_drop_warn = now + DROP_WARN_SECS;
            }
            sock.kernel_drops = drops;
            let total = self.sockets.iter().map(|s| u64::from(s.kernel_drops)).sum();
            self.counters.set_kernel_drops(total);
        }
        n
    }

    /// Test helper: [`Server::flush_at`] now, then waits for every commit and answers.
    #[cfg(test)]
    fn flush(&mut self) {
        self.flush_at(clock::now(), false);
        self.settle();
    }

    /// Sends the batch's replies that need no commit (OFFER, NAK, INFORM's ACK) at once; then,
    /// unless a commit is already in flight, hands the rest of the batch (the ACKs, the lease
    /// changes, the history rows) to the committer thread. While a commit is in flight the batch
    /// keeps growing and goes as one commit when the disk is free (group commit). History rows
    /// of offers that found no lease change to ride along with get a commit of their own when
    /// old or many enough, or when `force_history`.
    fn flush_at(&mut self, now: UnixTime, force_history: bool) {
        let history_due = self.batch.history.first().is_some_and(|h| {
            force_history
                || self.batch.history.len() >= history::OFFER_FLUSH_ROWS
                || now >= h.time.saturating_add(history::OFFER_FLUSH_SECS)
        });
        if self.batch.is_empty() && !history_due {
            return;
        }
        // An OFFER is not durable (RFC 2131 §4.3.1 leaves it in memory): it need not wait for
        // the fsync, which keeps DISCOVER→OFFER latency free of disk time.
        if self.batch.pending.iter().any(|p| !p.needs_commit) {
            let n = self
                .batch
                .pending
                .iter()
                .filter(|p| !p.needs_commit)
                .count();
            self.emitter.sent_uncommitted(n);
            self.send_replies(false);
            self.batch.pending.retain(|p| p.needs_commit);
        }
        if self.committer.commits_in_flight() > 0 {
            return;
        }
        if self.batch.changes.is_empty() && self.batch.pending.is_empty() && !history_due {
            return; // only offers' history rows, not due yet
        }
        let mut next = self.spare.pop().unwrap_or_default();
        if !force_history && self.batch.history.len() < history::OFFER_FLUSH_ROWS {
            // Let recent offers meet their ACKs in the next batch: one history row per DORA.
            history::hold_recent_offers(&mut self.batch.history, now, &mut next.history);
        }
        let batch = std::mem::replace(&mut self.batch, next);
        self.emitter.seal();
        if let Err(batch) = self.committer.submit(batch) {
            self.finish_commit(batch, Err(None), std::time::Duration::ZERO);
        }
    }

    /// Collects finished jobs: every one in flight when `block`, else those already back.
    fn collect_done(&mut self, block: bool) {
        while let Some(done) = self.committer.next_done(block) {
            self.handle_done(done);
        }
    }

    fn handle_done(&mut self, done: Done) {
        match done {
            Done::Commit {
                batch,
                result,
                elapsed,
            } => self.finish_commit(batch, result.map_err(Some), elapsed),
            Done::PruneHistory(result) => self.finish_prune(result),
            Done::Conflicts(Err(e)) => {
                tracing::error!(error = %e, "persisting conflict records failed");
            }
            Done::Conflicts(Ok(())) => {}
        }
    }

    /// Lands everything: submits the batch in hand, waits for every commit and sends every
    /// reply. For shutdown, reload and tests.
    fn settle(&mut self) {
        loop {
            self.flush_at(clock::now(), true);
            if self.committer.is_idle() && self.batch.is_empty() {
                return;
            }
            if self.committer.is_idle() {
                // Only what flush_at keeps back (nothing, once forced): avoid spinning.
                self.batch.clear();
                self.emitter.discard_current();
                self.batch.history.clear();
                return;
            }
            self.collect_done(true);
        }
    }

    /// A batch is back from its commit: on success its ACKs leave now; on failure (`Err(None)`:
    /// the committer thread is gone) they are withheld and counted.
    fn finish_commit(
        &mut self,
        mut batch: Batch,
        result: Result<(), Option<StoreError>>,
        elapsed: std::time::Duration,
    ) {
        let ok = result.is_ok();
        match result {
            Ok(()) => {
                if !batch.changes.is_empty() || !batch.history.is_empty() {
                    self.counters.count_commit(true);
                    tracing::trace!(
                        changes = batch.changes.len(),
                        replies = batch.pending.len(),
                        micros = elapsed.as_micros() as u64,
                        "committed"
                    );
                }
            }
            Err(e) => {
                self.counters.count_commit(false);
                let withheld = batch.withhold_uncommitted();
                for _ in 0..withheld {
                    self.counters.count_dropped(DropReason::CommitFailed);
                }
                let error = e.map_or_else(
                    || "the committer thread has stopped".to_string(),
                    |e| e.to_string(),
                );
                tracing::error!(
                    store = %self.store_path.display(),
                    changes = batch.changes.len(),
                    withheld_replies = withheld,
                    error = %error,
                    "lease commit failed: withholding this batch's ACKs"
                );
            }
        }
        send_replies(
            &batch,
            &self.sockets,
            &mut self.send,
            &self.counters,
            &mut self.send_failures,
            true,
        );
        let acks = batch.pending.iter().filter(|p| p.needs_commit).count();
        self.emitter
            .finished(ok, batch.changes.len(), elapsed, acks);
        batch.clear();
        batch.history.clear();
        if self.spare.len() < SPARE_BATCHES {
            self.spare.push(batch);
        }
    }

    /// Queues one bounded prune of history rows older than the retention.
    fn start_prune(&mut self, now: UnixTime) {
        let retention = self.engine.config().store.history_retention;
        let before = now.saturating_sub(retention.max(1));
        // The result may move it closer (more rows to delete).
        self.next_prune = now + history::PRUNE_INTERVAL_SECS;
        if !self
            .committer
            .submit_prune(before, hyperdhcp_store::history::PRUNE_BATCH)
        {
            tracing::warn!("pruning lease history failed: the committer thread has stopped");
        }
    }

    /// A prune came back; prune again soon while there is more to delete.
    fn finish_prune(&mut self, result: Result<usize, StoreError>) {
        match result {
            Ok(n) if n >= hyperdhcp_store::history::PRUNE_BATCH => {
                self.next_prune = clock::now() + 1;
            }
            Ok(n) => {
                if n > 0 {
                    tracing::debug!(rows = n, "pruned lease history");
                }
            }
            Err(e) => tracing::warn!(error = %e, "pruning lease history failed"),
        }
    }

    /// Sends the batch in hand's replies whose `needs_commit` equals `committed`.
    fn send_replies(&mut self, committed: bool) {
        send_replies(
            &self.batch,
            &self.sockets,
            &mut self.send,
            &self.counters,
            &mut self.send_failures,
            committed,
        );
    }

    /// Re-reads every interface's IPv4 addresses (getifaddrs); logs changes when `log_changes`.
    fn refresh_addrs(&mut self, log_changes: bool) -> Result<(), ServerError> {
        let all = sys::ipv4_addrs().map_err(ServerError::InterfaceAddrs)?;
        for s in &mut self.sockets {
            let addrs = socket::addrs_of(&all, &s.name);
            if addrs != s.addrs {
                s.addrs = addrs;
                if log_changes {
                    tracing::info!(interface = %s.name, addrs = %s.addrs_display(), "interface addresses changed");
                }
            }
        }
        Ok(())
    }

    // === conflict detection (issue 5) ===

    /// Ends the probes that were answered or timed out: released OFFERs go into the batch (a
    /// conflict already made the engine pick and park another candidate); then the conflict
    /// changes go to the store and the log.
    fn poll_probes(&mut self, now: UnixTime) {
        let probe_ready = {
            // Layout of `pollfds`: sockets, probe sockets, command wake-up, committer wake-up.
            let n = self.sockets.len();
            let m = n + self.probing.fds().len();
            self.pollfds
                .get(n..m)
                .is_some_and(|p| p.iter().any(|p| p.revents & libc::POLLIN != 0))
        };
        if probe_ready || self.probing.parked() > 0 {
            let mut released = Vec::new();
            self.probing
                .poll(&mut self.engine, clock::mono_ms(), now, &mut released);
            for r in released {
                self.deliver_probed(r, now);
            }
        }
        self.drain_conflicts();
    }

    /// A decision that waited for probes: logged, recorded and batched like a fresh one.
    fn deliver_probed(&mut self, r: Released, now: UnixTime) {
        let Ok(msg) = Message::parse(&r.packet) else {
            return;
        };
        // A reload may have shifted socket indices: find the interface by name.
        let socket_idx = self
            .sockets
            .iter()
            .position(|s| s.name == r.interface)
            .unwrap_or(r.socket_idx);
        self.emitter
            .on_decision(&msg, &r.decision, &r.interface, &self.engine, now);
        if self.engine.config().store.history_retention > 0 {
            history::record(&msg, &r.decision, now, &mut self.batch.history);
        }
        log_decision(&msg, msg.message_type(), &r.interface, &r.decision);
        if let Outcome::Ignored(reason) = r.decision.outcome {
            self.counters.count_ignored(reason);
        }
        self.batch.push(socket_idx, r.decision);
    }

    /// Conflict changes (probe answers, DECLINEs, holds ended): persisted on the committer
    /// thread, logged, and published as `conflict.*` hook events.
    fn drain_conflicts(&mut self) {
        let changes = self.engine.take_conflict_changes();
        if changes.is_empty() {
            return;
        }
        for c in &changes {
            tracing::info!(
                event = c.kind.as_str(),
                ip = %c.conflict.ip,
                method = c.conflict.method.as_str(),
                responder = %c.conflict.mac_display(),
                count = c.conflict.count,
                permanent = c.conflict.permanent,
                "conflict"
            );
        }
        self.emitter.on_conflicts(&changes, clock::now());
        if !self.committer.submit_conflicts(changes) {
            tracing::error!("persisting conflict records failed: the committer thread has stopped");
        }
    }

    // === commands ===

    /// Takes this turn's commands from the control door and carries them out; returns true
    /// when more are waiting.
    fn take_commands(&mut self, now: UnixTime) -> bool {
        let Some(queue) = self.commands.as_mut() else {
            return false;
        };
        let more = queue.drain(&mut self.command_buf);
        let mut commands = std::mem::take(&mut self.command_buf);
        for command in commands.drain(..) {
            match command {
                Command::Reload {
                    config,
                    conflicts,
                    reply,
                } => {
                    // Replies in flight carry socket indices a reload may shift: land them first.
                    self.settle();
                    let result = self.apply_config(config, conflicts, now);
                    if let Err(why) = &result {
                        tracing::error!("reload failed, keeping the old config: {why}");
                    }
                    reply.send(result);
                }
                Command::ClearConflict { ip, reply } => {
                    let cleared = self.engine.clear_conflict(ip).is_some();
                    if cleared {
                        tracing::info!(ip = %ip, "conflict record cleared");
                    }
                    reply.send(cleared);
                }
            }
        }
        self.command_buf = commands;
        more
    }

    fn rebuild_pollfds(&mut self) {
        self.pollfds = self
            .sockets
            .iter()
            .map(|s| sys::pollfd_in(s.fd()))
            .chain(self.probing.fds().into_iter().map(sys::pollfd_in))
            .chain(self.commands.iter().map(|c| sys::pollfd_in(c.wake_fd())))
            .chain([sys::pollfd_in(self.committer.wake_fd())])
            .collect();
    }

    /// Swaps in `new` (validated off the loop; leases kept) and opens/closes sockets for
    /// interfaces added/removed; `conflicts` replaces the conflict table. Any failure keeps the
    /// old config whole and says why.
    fn apply_config(
        &mut self,
        new: Arc<Config>,
        conflicts: Option<Vec<Conflict>>,
        now: UnixTime,
    ) -> Result<(), String> {
        let old: BTreeSet<String> = self.sockets.iter().map(|s| s.name.clone()).collect();
        let wanted: BTreeSet<String> = new.server.interfaces.iter().cloned().collect();
        if wanted.is_empty() {
            return Err("server.interfaces is empty".into());
        }
        let mut opened = Vec::new();
        for name in wanted.difference(&old) {
            match ListenSocket::open(name, new.server.receive_buffer) {
                Ok(s) => opened.push(s),
                Err(e) => return Err(e.to_string()),
            }
        }
        if new.store.path != self.store_path {
            tracing::warn!(
                old = %self.store_path.display(),
                new = %new.store.path.display(),
                "store.path changed: takes effect only after a restart"
            );
        }
        let old_config = self.engine.config();
        if new.hooks != old_config.hooks
            || new.events != old_config.events
            || new.metrics != old_config.metrics
        {
            // The hook runtime keeps what it started with (docs/configuration.md).
            tracing::warn!(
                "hooks, [events] or [metrics] changed: takes effect only after a restart"
            );
        }
        let buffer_changed =
            new.server.receive_buffer != self.engine.config().server.receive_buffer;
        self.sockets.retain(|s| {
            let keep = wanted.contains(&s.name);
            if !keep {
                tracing::info!(interface = %s.name, "no longer listening");
            }
            keep
        });
        if buffer_changed {
            for s in &self.sockets {
                s.set_receive_buffer(new.server.receive_buffer);
            }
        }
        if new.server.udp_gso != self.engine.config().server.udp_gso {
            // Also re-arms GSO after the kernel refused it, when the key is toggled back.
            self.send = SendBatch::new(BATCH_SIZE, new.server.udp_gso);
        }
        self.sockets.extend(opened);
        self.rebuild_pollfds();
        self.probing.reconfigure(&new);
        self.limiter.reconfigure(new.server.rate_limit);
        self.engine.reconfigure(new, now);
        if let Some(records) = conflicts {
            let n = records.len();
            self.engine.load_conflicts(records, now);
            tracing::info!(records = n, "conflict records re-read");
        }
        if let Err(e) = self.refresh_addrs(true) {
            tracing::warn!(error = %e, "keeping the previous interface addresses");
        }
        for s in &self.sockets {
            if !old.contains(&s.name) {
                tracing::info!("listening on {} ({})", s.name, s.addrs_display());
            }
        }
        tracing::info!("configuration reloaded");
        Ok(())
    }
}

/// Sends `batch`'s replies whose `needs_commit` equals `committed`: one sendmmsg run per
/// socket, hardware destinations resolved (ARP entry) on the way.
fn send_replies(
    batch: &Batch,
    sockets: &[ListenSocket],
    send: &mut SendBatch,
    counters: &Counters,
    send_failures: &mut Vec<usize>,
    committed: bool,
) {
    for (socket_idx, group) in batch.by_socket() {
        let Some(sock) = sockets.get(socket_idx) else {
            continue;
        };
        send_failures.clear();
        let items = group
            .iter()
            .filter(|p| p.needs_commit == committed)
            .map(|p| (p.reply.packet.as_slice(), resolve(sock, &p.reply.dest)));
        send.send(sock.fd(), items, |k, to, e| {
            tracing::debug!(interface = %sock.name, to = %to, error = %e, "send failed");
            send_failures.push(k);
        });
        if let Some(e) = send.take_gso_refusal() {
            tracing::warn!(interface = %sock.name, error = %e, "the kernel refused a UDP GSO send: sending every reply singly from now on (set server.udp_gso = false to silence this)");
        }
        // `k` counts positions in the filtered sequence, as `send` saw it.
        let sent = group.iter().filter(|p| p.needs_commit == committed);
        for (k, p) in sent.enumerate() {
            if send_failures.contains(&k) {
                counters.count_dropped(DropReason::SendFailed);
            } else {
                counters.count_sent(p.reply.msg_type);
            }
        }
    }
}

/// Parse → engine → batch for one datagram that arrived on `sock` (index `socket_idx`).
// The loop's fields are passed one by one: disjoint borrows next to `&self.sockets`.
#[allow(clippy::too_many_arguments)]
fn handle_datagram(
    engine: &mut Engine,
    batch: &mut Batch,
    emitter: &mut Emitter,
    probing: &mut Probing,
    counters: &Counters,
    sock: &ListenSocket,
    socket_idx: usize,
    d: Datagram<'_>,
    now: UnixTime,
) {
    if d.truncated {
        counters.count_received(None);
        counters.count_dropped(DropReason::Truncated);
        tracing::debug!(interface = %sock.name, source = %d.source, reason = DropReason::Truncated.as_str(), "dropped datagram");
        return;
    }
    let msg = match Message::parse(d.data) {
        Ok(m) => m,
        Err(e) => {
            let reason = DropReason::from_parse_error(e);
            counters.count_received(None);
            counters.count_dropped(reason);
            tracing::debug!(interface = %sock.name, source = %d.source, reason = e.as_str(), len = d.data.len(), "dropped malformed datagram");
            return;
        }
    };
    let msg_type = msg.message_type();
    counters.count_received(msg_type);
    if sock.shedding && msg_type == Some(hyperdhcp_wire::MessageType::Discover) {
        // Overloaded: finish the exchanges already started first (crate::overload).
        counters.count_dropped(DropReason::OverloadShed);
        tracing::debug!(interface = %sock.name, source = %d.source, reason = DropReason::OverloadShed.as_str(), "dropped DISCOVER");
        return;
    }
    let ctx = RequestContext {
        interface: &sock.name,
        interface_addrs: &sock.addrs,
        source: d.source,
    };
    emitter.note_read(&msg, engine);
    let decision = engine.handle(&msg, &ctx, now);
    // Issue 5: an OFFER of a dynamic address waits for its probe (logged when released).
    let Some(decision) = probing.intercept(
        engine,
        &msg,
        d.data,
        &ctx,
        socket_idx,
        decision,
        clock::mono_ms(),
    ) else {
        return;
    };
    emitter.on_decision(&msg, &decision, &sock.name, engine, now);
    if engine.config().store.history_retention > 0 {
        history::record(&msg, &decision, now, &mut batch.history);
    }
    log_decision(&msg, msg_type, &sock.name, &decision);
    if let Outcome::Ignored(reason) = decision.outcome {
        counters.count_ignored(reason);
    }
    batch.push(socket_idx, decision);
}

/// The socket address for one reply; installs the ARP entry a hardware-addressed unicast needs
/// (RFC 2131 §4.1: unicast to chaddr/yiaddr when the broadcast bit is clear), falling back to
/// broadcast when the kernel refuses it.
fn resolve(sock: &ListenSocket, dest: &hyperdhcp_engine::ReplyDest) -> std::net::SocketAddrV4 {
    match batch::route(dest) {
        Route::Direct(a) => a,
        Route::ViaArp { ip, mac } => match sys::set_arp_entry(sock.fd(), &sock.name, ip, mac) {
            Ok(()) => std::net::SocketAddrV4::new(ip, hyperdhcp_wire::CLIENT_PORT),
            Err(e) => {
                tracing::debug!(interface = %sock.name, %ip, error = %e, "SIOCSARP failed, broadcasting instead");
                BROADCAST_DEST
            }
        },
    }
}

#[cfg(test)]
mod tests {
    //! The loop's batch logic with the real engine and a fake store; no packet is sent (the
    //! test socket index is not among the server's sockets).

    use std::net::{Ipv4Addr, SocketAddrV4};
    use std::sync::{Mutex, mpsc};

    use hyperdhcp_config::{
        DhcpOptions, LogFormat, PoolConfig, ServerConfig, StoreConfig, SubnetConfig,
    };
    use hyperdhcp_engine::{Lease, LeaseChange, LeaseState};
    use hyperdhcp_store::StoreError;
    use hyperdhcp_wire::{FLAG_BROADCAST, MessageBuilder, MessageType, code};

    use super::*;

    const T0: UnixTime = 1_700_000_000;
    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 0x21];
    /// Index given to the detached test socket: not in `Server::sockets`, so nothing is sent.
    const DETACHED: usize = 99;

    /// Every commit's changes, as a fake store saw them.
    type Commits = Arc<Mutex<Vec<Vec<LeaseChange>>>>;

    /// Records each commit's size; fails every commit when `fail` is set.
    struct FakeStore {
        commits: Arc<Mutex<Vec<Vec<LeaseChange>>>>,
        fail: bool,
        /// When set, every commit records its changes, then blocks until the test sends
        /// whether it fails (`true`) or succeeds.
        gate: Option<mpsc::Receiver<bool>>,
    }

    impl LeaseStore for FakeStore {
        fn load_all(&mut self) -> Result<Vec<Lease>, StoreError> {
            Ok(Vec::new())
        }
        fn commit(&mut self, changes: &[LeaseChange]) -> Result<(), StoreError> {
            self.commits
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(changes.to_vec());
            let fail = match &self.gate {
                Some(gate) => gate.recv().unwrap_or(true),
                None => self.fail,
            };
            if fail {
                Err(StoreError::ReadOnly {
                    path: "/fake/leases.db".into(),
                })
            } else {
                Ok(())
            }
        }
    }

    fn config() -> Config {
        Config {
            server: ServerConfig {
                interfaces: vec!["srv0".into()],
                server_id: None,
                offer_timeout: 30,
                decline_hold: 600,
                receive_buffer: 1 << 20,
                udp_gso: true,
                log_format: LogFormat::Text,
                log_level: "info".into(),
                rate_limit: Default::default(),
            },
            store: StoreConfig {
                path: "/fake/leases.db".into(),
                history_retention: 3_600,
            },
            subnets: vec![SubnetConfig {
                cidr: "198.18.0.0/16".parse().expect("cidr"),
                interface: None,
                lease_time: 3600,
                renewal_time: 1800,
                rebinding_time: 3150,
                pools: vec![PoolConfig {
                    start: Ipv4Addr::new(198, 18, 1, 10),
                    end: Ipv4Addr::new(198, 18, 1, 20),
                    bootp: false,
                    classes: Vec::new(),
                }],
                reservations: vec![],
                options: DhcpOptions::default(),
                always_send: Vec::new(),
                shared_network: None,
            }],
            hooks: Default::default(),
            events: Default::default(),
            metrics: Default::default(),
            conflict_detection: Default::default(),
            classes: Vec::new(),
        }
    }

    fn server(fail: bool) -> (Server, Arc<Mutex<Vec<Vec<LeaseChange>>>>) {
        server_with(FakeStore {
            commits: Arc::default(),
            fail,
            gate: None,
        })
    }

    /// A server whose store commits only when the test opens the gate (see [`FakeStore`]).
    fn gated_server() -> (Server, Commits, mpsc::Sender<bool>) {
        let (tx, rx) = mpsc::channel();
        let (server, commits) = server_with(FakeStore {
            commits: Arc::default(),
            fail: false,
            gate: Some(rx),
        });
        (server, commits, tx)
    }

    fn server_with(store: FakeStore) -> (Server, Arc<Mutex<Vec<Vec<LeaseChange>>>>) {
        let commits = Arc::clone(&store.commits);
        let server = Server {
            engine: Engine::new(Arc::new(config()), Vec::new(), T0),
            committer: Committer::spawn(Box::new(store)).expect("committer"),
            spare: Vec::new(),
            store_path: "/fake/leases.db".into(),
            commands: None,
            command_buf: Vec::new(),
            sockets: Vec::new(),
            counters: Arc::new(Counters::default()),
            recv: RecvBatch::new(1, 16),
            send: SendBatch::new(BATCH_SIZE, true),
            batch: Batch::default(),
            send_failures: Vec::new(),
            pollfds: Vec::new(),
            next_drop_warn: 0,
            next_shed_warn: 0,
            drop_warner: DropWarner::new(DROP_WARN_SECS),
            limiter: RateLimiter::new(Default::default()),
            next_prune: T0,
            emitter: Emitter::default(),
            probing: Probing::with_io(None, Default::default()),
        };
        (server, commits)
    }

    fn feed(server: &mut Server, sock: &ListenSocket, packet: &[u8]) {
        let d = Datagram {
            data: packet,
            source: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 68),
            truncated: false,
        };
        handle_datagram(
            &mut server.engine,
            &mut server.batch,
            &mut server.emitter,
            &mut server.probing,
            &server.counters,
            sock,
            DETACHED,
            d,
            T0,
        );
    }

    fn dora_batch(server: &mut Server) {
        dora(server, &MAC);
        let sock =
            ListenSocket::detached_for_test("srv0", vec!["198.18.0.1/16".parse().expect("net")]);
        // Garbage is dropped and counted, never reaches the engine.
        feed(server, &sock, &[1, 2, 3]);
    }

    /// DISCOVER, then REQUEST for the offered address, from client `mac`.
    fn dora(server: &mut Server, mac: &[u8; 6]) {
        let sock =
            ListenSocket::detached_for_test("srv0", vec!["198.18.0.1/16".parse().expect("net")]);
        let mut discover = MessageBuilder::request(MessageType::Discover, 1, mac);
        discover.set_flags(FLAG_BROADCAST);
        feed(server, &sock, &discover.finish());
        let offered = match server.batch.pending.last().map(|p| &p.reply) {
            Some(r) if r.msg_type == MessageType::Offer => r.packet.clone(),
            other => panic!("no OFFER: {other:?}"),
        };
        let offer = hyperdhcp_wire::Message::parse(&offered).expect("parse OFFER");
        let mut request = MessageBuilder::request(MessageType::Request, 1, mac);
        request
            .set_flags(FLAG_BROADCAST)
            .option_ip(code::REQUESTED_IP, offer.yiaddr())
            .option_ip(code::SERVER_ID, offer.server_id().expect("server id"));
        feed(server, &sock, &request.finish());
    }

    /// The bound addresses a commit carried.
    fn bound_ips(commit: &[LeaseChange]) -> Vec<Ipv4Addr> {
        commit
            .iter()
            .filter_map(|c| match c {
                LeaseChange::Upsert(l) if l.state == LeaseState::Bound => Some(l.ip),
                _ => None,
            })
            .collect()
    }

    /// While a socket sheds (overloaded), a new DISCOVER is dropped and counted, and the
    /// REQUEST of an exchange offered before is still answered with an ACK.
    #[test]
    fn shedding_drops_discovers_and_still_acks_requests() {
        let (mut server, _commits) = server_with(FakeStore {
            commits: Arc::default(),
            fail: false,
            gate: None,
        });
        let mut sock =
            ListenSocket::detached_for_test("srv0", vec!["198.18.0.1/16".parse().expect("net")]);
        let mut discover = MessageBuilder::request(MessageType::Discover, 1, &MAC);
        discover.set_flags(FLAG_BROADCAST);
        feed(&mut server, &sock, &discover.finish());
        let offered = match server.batch.pending.last().map(|p| &p.reply) {
            Some(r) if r.msg_type == MessageType::Offer => r.packet.clone(),
            other => panic!("no OFFER: {other:?}"),
        };
        let offer = hyperdhcp_wire::Message::parse(&offered).expect("parse OFFER");
        sock.shedding = true;
        let replies = server.batch.pending.len();
        let mut other = MessageBuilder::request(MessageType::Discover, 2, &[2, 0, 0, 0, 0, 0x77]);
        other.set_flags(FLAG_BROADCAST);
        feed(&mut server, &sock, &other.finish());
        assert_eq!(
            server.batch.pending.len(),
            replies,
            "a shed DISCOVER gets no reply"
        );
        assert_eq!(server.counters.dropped(DropReason::OverloadShed), 1);
        let mut request = MessageBuilder::request(MessageType::Request, 1, &MAC);
        request
            .set_flags(FLAG_BROADCAST)
            .option_ip(code::REQUESTED_IP, offer.yiaddr())
            .option_ip(code::SERVER_ID, offer.server_id().expect("server id"));
        feed(&mut server, &sock, &request.finish());
        assert_eq!(
            server.batch.pending.last().map(|p| p.reply.msg_type),
            Some(MessageType::Ack)
        );
        assert_eq!(server.counters.dropped(DropReason::OverloadShed), 1);
    }

    #[test]
    fn pipeline_holds_acks_until_their_own_commit_and_commits_in_order() {
        let (mut server, commits, gate) = gated_server();
        dora(&mut server, &MAC);
        server.flush_at(T0, false);
        // The OFFER left at once; the ACK went to the committer with the batch.
        assert_eq!(server.committer.commits_in_flight(), 1);
        assert!(server.batch.pending.is_empty());
        // Batch 2 is read and decided while batch 1 is on its way to disk...
        let mac2 = [2, 0, 0, 0, 0, 0x22];
        dora(&mut server, &mac2);
        server.flush_at(T0, false);
        // ...but waits: one commit at a time, its ACK still in the loop's batch.
        assert_eq!(server.committer.commits_in_flight(), 1);
        let waiting: Vec<_> = server
            .batch
            .pending
            .iter()
            .map(|p| p.reply.msg_type)
            .collect();
        assert_eq!(waiting, vec![MessageType::Ack]);
        // Batch 1's ACK cannot come back before its commit returns.
        assert!(server.committer.next_done(false).is_none());
        gate.send(false).expect("gate");
        let Some(Done::Commit { batch, result, .. }) = server.committer.next_done(true) else {
            panic!("batch 1 did not come back");
        };
        assert!(result.is_ok());
        let acks: Vec<_> = batch.pending.iter().map(|p| p.reply.msg_type).collect();
        assert_eq!(
            acks,
            vec![MessageType::Ack],
            "batch 1 carries its own ACK only"
        );
        server.handle_done(Done::Commit {
            batch,
            result,
            elapsed: std::time::Duration::ZERO,
        });
        // Batch 2 goes next, and fails: only its ACK is withheld.
        server.flush_at(T0, false);
        assert_eq!(server.committer.commits_in_flight(), 1);
        gate.send(true).expect("gate");
        server.settle();
        let commits = commits.lock().expect("lock");
        assert_eq!(commits.len(), 2);
        let first = bound_ips(&commits[0]);
        let second = bound_ips(&commits[1]);
        assert_eq!(first.len(), 1);
        assert_eq!(second.len(), 1);
        assert_ne!(first, second, "each batch commits its own client's lease");
        let c = server.counters();
        assert_eq!(c.commits(), (2, 1));
        assert_eq!(c.dropped(DropReason::CommitFailed), 1, "batch 2's ACK only");
        assert!(server.committer.is_idle());
        assert!(server.batch.is_empty());
    }

    #[test]
    fn batch_commits_once_then_releases_replies() {
        let (mut server, commits) = server(false);
        dora_batch(&mut server);
        assert_eq!(server.batch.pending.len(), 2);
        server.flush();
        let commits = commits.lock().expect("lock");
        assert_eq!(commits.len(), 1, "one commit per batch");
        assert!(matches!(
            commits[0].as_slice(),
            [LeaseChange::Upsert(Lease {
                state: LeaseState::Bound,
                ..
            })]
        ));
        let c = server.counters();
        assert_eq!(c.commits(), (1, 0));
        assert_eq!(c.received(Some(MessageType::Discover)), 1);
        assert_eq!(c.received(Some(MessageType::Request)), 1);
        assert_eq!(c.dropped(DropReason::TooShort), 1);
        assert_eq!(c.dropped(DropReason::CommitFailed), 0);
        assert!(server.batch.is_empty());
    }

    #[test]
    fn failed_commit_withholds_the_ack() {
        let (mut server, commits) = server(true);
        dora_batch(&mut server);
        server.flush();
        assert_eq!(commits.lock().expect("lock").len(), 1);
        let c = server.counters();
        assert_eq!(c.commits(), (1, 1));
        assert_eq!(c.dropped(DropReason::CommitFailed), 1, "the ACK");
        assert!(server.batch.is_empty());
    }

    #[test]
    fn failed_commit_keeps_offer_in_the_batch() {
        let (mut server, _) = server(true);
        dora_batch(&mut server);
        assert_eq!(server.batch.withhold_uncommitted(), 1);
        let left: Vec<_> = server
            .batch
            .pending
            .iter()
            .map(|p| p.reply.msg_type)
            .collect();
        assert_eq!(left, vec![MessageType::Offer]);
    }
}
