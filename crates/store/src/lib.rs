//! Durable lease storage. The [`LeaseStore`] trait is what the serving loop commits batches
//! through and what start-up reads the lease table back from; [`SqliteStore`] is the embedded
//! default (bundled SQLite, WAL, `synchronous=FULL`).
//!
//! CONTRACT:
//! ```ignore
//! pub trait LeaseStore: Send {
//!     /// Every stored lease, for rebuilding the engine at start-up.
//!     fn load_all(&mut self) -> Result<Vec<Lease>, StoreError>;
//!     /// Applies all changes in ONE durable transaction; returns only after fsync.
//!     fn commit(&mut self, changes: &[LeaseChange]) -> Result<(), StoreError>;
//! }
//! pub struct SqliteStore;
//! impl SqliteStore {
//!     /// Opens (creating the file, parent dirs must exist, and schema) for the server.
//!     pub fn open(path: &Path) -> Result<Self, StoreError>;
//!     /// Opens read-only for `leases list` while a server may be running (WAL readers don't block).
//!     pub fn open_read_only(path: &Path) -> Result<Self, StoreError>;
//! }
//! #[derive(Debug, thiserror::Error)] pub enum StoreError { .. } // messages name the path
//! ```
