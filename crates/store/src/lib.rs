//! Durable lease storage: the bottom of the serving pipeline.
//!
//! * [`LeaseStore`] is the trait the server talks to. The serving loop hands it the
//!   [`LeaseChange`]s of one batch of packets through [`LeaseStore::commit`] (one durable
//!   transaction per batch — group commit) and sends the batch's replies only after it returns;
//!   at start-up [`LeaseStore::load_all`] gives back every stored [`Lease`] so the engine can
//!   rebuild its in-memory tables. Nothing else ever reads the store on the hot path.
//! * [`SqliteStore`] (module [`sqlite`]) is the embedded default: bundled SQLite in WAL mode with
//!   `synchronous=FULL`, one `leases` table keyed by the IPv4 address. The server opens it with
//!   [`SqliteStore::open`]; `hyperdhcp leases list` opens it with
//!   [`SqliteStore::open_read_only`] while a server may be writing (WAL readers never block the
//!   writer).
//! * [`history`]: one [`HistoryEvent`] row per lease state change, appended by
//!   [`LeaseStore::commit_with_history`] in the batch's own transaction, pruned in small batches
//!   by [`LeaseStore::prune_history`], queried by `hyperdhcp leases history`.
//! * [`conflicts`]: the `conflicts` table (addresses found in use), written by
//!   [`LeaseStore::commit_conflicts`], read by [`LeaseStore::load_conflicts`].
//! * [`StoreError`] (module [`error`]) is the one error type; every message names the database
//!   path.

#![forbid(unsafe_code)]

pub mod conflicts;
pub mod error;
pub mod history;
pub mod sqlite;

pub use error::StoreError;
pub use history::{HistoryEvent, HistoryKind, RelayInfo};
pub use sqlite::SqliteStore;

use hyperdhcp_engine::{Conflict, ConflictChange, Lease, LeaseChange, UnixTime};

/// Where leases are made durable. Implementations are driven by one writer thread.
pub trait LeaseStore: Send {
    /// Every stored lease (sorted by address for [`SqliteStore`]), for rebuilding the engine at
    /// start-up.
    fn load_all(&mut self) -> Result<Vec<Lease>, StoreError>;

    /// Applies all changes, in order, in ONE durable transaction; returns only after the data is
    /// on stable storage (fsync). On error nothing of the batch has been applied.
    fn commit(&mut self, changes: &[LeaseChange]) -> Result<(), StoreError>;

    /// Like [`LeaseStore::commit`], and also appends `history` rows in the SAME transaction
    /// (no extra fsync). Stores without a history keep only the changes.
    fn commit_with_history(
        &mut self,
        changes: &[LeaseChange],
        history: &[HistoryEvent],
    ) -> Result<(), StoreError> {
        let _ = history;
        self.commit(changes)
    }

    /// Deletes at most `limit` history rows older than `before`; returns how many. Called
    /// periodically by the server, never on the commit path.
    fn prune_history(&mut self, before: UnixTime, limit: usize) -> Result<usize, StoreError> {
        let _ = (before, limit);
        Ok(0)
    }

    /// Every stored conflict record (issue 5), for the engine at start-up and on SIGHUP.
    /// Stores without a conflicts table have none.
    fn load_conflicts(&mut self) -> Result<Vec<Conflict>, StoreError> {
        Ok(Vec::new())
    }

    /// Persists conflict changes (upsert, or delete when `removed`) in one transaction.
    /// Conflicts are rare, so they are not part of the lease batch's commit.
    fn commit_conflicts(&mut self, changes: &[ConflictChange]) -> Result<(), StoreError> {
        let _ = changes;
        Ok(())
    }
}

impl<S: LeaseStore + ?Sized> LeaseStore for Box<S> {
    fn load_all(&mut self) -> Result<Vec<Lease>, StoreError> {
        (**self).load_all()
    }

    fn commit(&mut self, changes: &[LeaseChange]) -> Result<(), StoreError> {
        (**self).commit(changes)
    }

    fn commit_with_history(
        &mut self,
        changes: &[LeaseChange],
        history: &[HistoryEvent],
    ) -> Result<(), StoreError> {
        (**self).commit_with_history(changes, history)
    }

    fn prune_history(&mut self, before: UnixTime, limit: usize) -> Result<usize, StoreError> {
        (**self).prune_history(before, limit)
    }

    fn load_conflicts(&mut self) -> Result<Vec<Conflict>, StoreError> {
        (**self).load_conflicts()
    }

    fn commit_conflicts(&mut self, changes: &[ConflictChange]) -> Result<(), StoreError> {
        (**self).commit_conflicts(changes)
    }
}
