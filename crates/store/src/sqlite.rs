//! [`SqliteStore`]: the embedded lease store (bundled SQLite, WAL, `synchronous=FULL`).
//!
//! Schema (version [`SCHEMA_VERSION`], kept in `PRAGMA user_version`; the file is tagged with
//! `PRAGMA application_id` = [`APPLICATION_ID`]):
//!
//! ```sql
//! CREATE TABLE leases (
//!     ip        INTEGER PRIMARY KEY,  -- IPv4 address as u32 (the rowid: scans come out sorted)
//!     htype     INTEGER NOT NULL,     -- RFC 2131 §2 htype
//!     hwaddr    BLOB    NOT NULL,     -- chaddr, significant bytes only
//!     client_id BLOB,                 -- option 61
//!     hostname  TEXT,
//!     state     TEXT    NOT NULL,     -- LeaseState::as_str
//!     starts    INTEGER NOT NULL,     -- Unix seconds
//!     ends      INTEGER NOT NULL      -- Unix seconds; i64::MAX means "never"
//! );
//! -- version 3: the client's FQDN option 81 (RFC 4702), for later DNS updates
//! ALTER TABLE leases ADD COLUMN fqdn TEXT;           -- the name, dotted, no trailing dot
//! ALTER TABLE leases ADD COLUMN fqdn_flags INTEGER;  -- RFC 4702 §2.1 flags (S, O, E, N)
//! -- version 4: an ack row may carry the offer that preceded it (see `merge_offers`)
//! ALTER TABLE history ADD COLUMN offered INTEGER;    -- Unix seconds of that offer, or NULL
//! -- version 2: lease history (one row per state change), see `crate::history`
//! CREATE TABLE history (
//!     id INTEGER PRIMARY KEY, time INTEGER NOT NULL, event TEXT NOT NULL,
//!     ip INTEGER NOT NULL, htype INTEGER NOT NULL, hwaddr BLOB NOT NULL,
//!     client_id BLOB, hostname TEXT, ends INTEGER,
//!     giaddr INTEGER, circuit_id BLOB, remote_id BLOB
//! );
//! CREATE INDEX history_ip_time ON history (ip, time);
//! CREATE INDEX history_hwaddr_time ON history (hwaddr, time);  -- dropped in version 5
//! -- version 5: which addresses each hardware address has history on (see `PairCache`)
//! CREATE TABLE history_clients (
//!     hwaddr BLOB NOT NULL, htype INTEGER NOT NULL, ip INTEGER NOT NULL,
//!     PRIMARY KEY (hwaddr, htype, ip)
//! ) WITHOUT ROWID, STRICT;
//! ```

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hyperdhcp_engine::{
    Conflict, ConflictChange, HwAddr, Lease, LeaseChange, LeaseFqdn, LeaseState, UnixTime,
};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, Row, TransactionBehavior, params};

use crate::history::{HistoryEvent, HistoryKind, RelayInfo};
use crate::{LeaseStore, StoreError};

/// The schema version this build writes and understands (`PRAGMA user_version`).
/// Version 2 added the `history` table, version 3 the `fqdn` columns, version 4 the history
/// `offered` column, version 5 the `history_clients` table in place of the history index on
/// `hwaddr`; older files are upgraded on open.
pub const SCHEMA_VERSION: i64 = 5;

/// The first schema version with the `fqdn` and `fqdn_flags` lease columns.
const FQDN_VERSION: i64 = 3;

/// The first schema version with the history `offered` column.
const OFFERED_VERSION: i64 = 4;

/// The first schema version with the `history_clients` table (and no `hwaddr` history index).
const PAIRS_VERSION: i64 = 5;

/// `PRAGMA application_id` marking a file as a hyperdhcp lease store ("hDHP").
pub const APPLICATION_ID: i64 = 0x6844_4850;

/// How long a statement waits for another connection's lock before failing with SQLITE_BUSY.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes of the database file SQLite may memory-map for reads.
const MMAP_SIZE: i64 = 1 << 30;

/// Bytes of zeros the writer writes into the write-ahead log file at open, ahead of SQLite.
///
/// SQLite appends WAL frames and, after each checkpoint, starts again from the beginning of the
/// same file (it never shrinks it: `journal_size_limit` stays at its default, -1). A commit
/// that *extends* the file makes its fsync also flush the file's new size and block
/// allocation; one that overwrites allocated blocks only flushes data. Measured on the
/// benchmark machine (docs/benchmarks.md, "The disk"): 4 KiB + fdatasync p50 0.21–0.28 ms
/// overwriting vs 0.30–0.70 ms appending, p99 0.4–2.3 vs 0.5–6.2 ms (idle vs busy machine).
/// With the file pre-filled, every commit of a
/// fresh or restarted server is an overwrite. The zeros are never mistaken for frames: WAL
/// recovery stops at the first frame whose salt and checksum do not match the header. 16 MiB
/// covers the 1000-page auto-checkpoint interval (4 MiB) several times over.
pub const WAL_PREALLOC_BYTES: u64 = 16 << 20;

/// Creates schema version 1.
const CREATE_SCHEMA: &str = "CREATE TABLE leases (
    ip        INTEGER PRIMARY KEY,
    htype     INTEGER NOT NULL,
    hwaddr    BLOB    NOT NULL,
    client_id BLOB,
    hostname  TEXT,
    state     TEXT    NOT NULL,
    starts    INTEGER NOT NULL,
    ends      INTEGER NOT NULL
) STRICT;";

/// Creates the history table of schema version 2 (also the upgrade from version 1).
const CREATE_HISTORY: &str = "CREATE TABLE history (
    id         INTEGER PRIMARY KEY,
    time       INTEGER NOT NULL,
    event      TEXT    NOT NULL,
    ip         INTEGER NOT NULL,
    htype      INTEGER NOT NULL,
    hwaddr     BLOB    NOT NULL,
    client_id  BLOB,
    hostname   TEXT,
    ends       INTEGER,
    giaddr     INTEGER,
    circuit_id BLOB,
    remote_id  BLOB
) STRICT;
CREATE INDEX history_ip_time ON history (ip, time);
CREATE INDEX history_hwaddr_time ON history (hwaddr, time);";

/// Schema version 3: option 81 columns on `leases` (also the upgrade from version 2).
const ADD_FQDN: &str = "ALTER TABLE leases ADD COLUMN fqdn TEXT;
ALTER TABLE leases ADD COLUMN fqdn_flags INTEGER;";

/// Schema version 4: the time of the offer an ack row stands for as well (also the upgrade
/// from version 3).
const ADD_OFFERED: &str = "ALTER TABLE history ADD COLUMN offered INTEGER;";

/// Schema version 5 (also the upgrade from version 4): the (hardware address, address) pairs
/// that have history, filled from the rows already there, replace the `hwaddr` index.
///
/// Why: the index cost one B-tree insert per history row, about a quarter of the committer's
/// work per renewal. A pair is written once, when a client first gets history on an address;
/// a renewal or a repeated ACK of the same client on the same address writes none (see
/// [`PairCache`]). A query by hardware address finds the client's addresses in this table,
/// then their rows through `history_ip_time`.
const ADD_PAIRS: &str = "CREATE TABLE history_clients (
    hwaddr BLOB    NOT NULL,
    htype  INTEGER NOT NULL,
    ip     INTEGER NOT NULL,
    PRIMARY KEY (hwaddr, htype, ip)
) WITHOUT ROWID, STRICT;
INSERT OR IGNORE INTO history_clients (hwaddr, htype, ip) SELECT hwaddr, htype, ip FROM history;
DROP INDEX history_hwaddr_time;";

/// Schema upgrades: (version reached, statements, what the error says), in order. Version 2
/// adds the history table, 3 the option 81 lease columns, 4 the history `offered` column
/// (existing rows get NULL), 5 the `history_clients` pairs.
const MIGRATIONS: [(i64, &str, &str); 4] = [
    (2, CREATE_HISTORY, "upgrade schema to version 2"),
    (FQDN_VERSION, ADD_FQDN, "upgrade schema to version 3"),
    (OFFERED_VERSION, ADD_OFFERED, "upgrade schema to version 4"),
    (PAIRS_VERSION, ADD_PAIRS, "upgrade schema to version 5"),
];

/// Columns of a `history_clients` row, in bind order.
const PAIR_COLUMNS: usize = 3;

/// Records `rows` (hardware address, address) pairs; pairs already there are left alone.
fn insert_pair_sql(rows: usize) -> String {
    format!(
        "INSERT OR IGNORE INTO history_clients (hwaddr, htype, ip) VALUES {}",
        values_list(rows, PAIR_COLUMNS)
    )
}

/// Forgets a pair once the address has no history row of that client left (after a prune).
const DELETE_PAIR_IF_UNUSED: &str = "DELETE FROM history_clients
    WHERE hwaddr = ?1 AND htype = ?2 AND ip = ?3 AND NOT EXISTS (
        SELECT 1 FROM history WHERE ip = ?3 AND hwaddr = ?1 AND htype = ?2)";

/// Most pairs [`PairCache`] remembers (16 bytes each plus the table's overhead: about 5 MiB);
/// when full it starts over, and pairs it no longer knows cost one `INSERT OR IGNORE` (a
/// B-tree lookup that writes nothing) the next time they come up.
const PAIR_CACHE_MAX: usize = 1 << 18;

/// Pairs known to be in `history_clients` (committed), so the writer skips re-inserting them:
/// a renewal then costs no index work for the hardware-address lookup at all. Only addresses
/// of up to 8 bytes (Ethernet's 6) are cached, as one exact `u128` key each; others always
/// take the `INSERT OR IGNORE`. Pairs are added only after their transaction committed, and a
/// prune that deletes a pair removes it here too, so the cache never claims a pair the file
/// lacks (which would leave rows out of the hardware-address query).
#[derive(Debug, Default)]
struct PairCache {
    known: std::collections::HashSet<u128, PairHashBuilder>,
}

/// Keyed hashing for [`PairCache`] keys: a random per-process seed, multiply-xorshift mixing.
/// Much cheaper than SipHash for one `u128` (the set is probed once per history row); the
/// seed keeps clients from choosing colliding MACs offline, and the set is bounded anyway.
#[derive(Clone, Debug)]
struct PairHashBuilder(u64);

impl Default for PairHashBuilder {
    fn default() -> Self {
        use std::hash::BuildHasher;
        Self(std::collections::hash_map::RandomState::new().hash_one(0x6844_4850_u64))
    }
}

impl std::hash::BuildHasher for PairHashBuilder {
    type Hasher = PairHasher;
    fn build_hasher(&self) -> PairHasher {
        PairHasher(self.0)
    }
}

/// See [`PairHashBuilder`].
#[derive(Clone, Debug)]
struct PairHasher(u64);

impl PairHasher {
    /// One mixing round (the murmur3 64-bit finalizer over the state xor `v`).
    fn mix(&mut self, v: u64) {
        let mut h = self.0 ^ v;
        h = (h ^ (h >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h = (h ^ (h >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        self.0 = h ^ (h >> 33);
    }
}

impl std::hash::Hasher for PairHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word.get_mut(..chunk.len())
                .unwrap_or(&mut [])
                .copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(word));
        }
    }
    fn write_u128(&mut self, v: u128) {
        self.mix(v as u64);
        self.mix((v >> 64) as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl PairCache {
    /// The exact key of (`hwaddr`, `ip`), or `None` when the address is too long to pack.
    fn key(hwaddr: &HwAddr, ip: Ipv4Addr) -> Option<u128> {
        let bytes = hwaddr.as_bytes();
        let mut mac = [0u8; 8];
        mac.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(
            (u128::from(hwaddr.htype) << 104)
                | ((bytes.len() as u128) << 96)
                | (u128::from(u64::from_be_bytes(mac)) << 32)
                | u128::from(u32::from(ip)),
        )
    }

    fn contains(&self, key: Option<u128>) -> bool {
        key.is_some_and(|k| self.known.contains(&k))
    }

    fn insert(&mut self, key: u128) {
        if self.known.len() >= PAIR_CACHE_MAX {
            self.known.clear();
        }
        self.known.insert(key);
    }

    fn remove(&mut self, key: Option<u128>) {
        if let Some(k) = key {
            self.known.remove(&k);
        }
    }
}

/// Rows per multi-row `INSERT` in a commit. One statement execution per row costs SQLite a
/// cursor open, a VDBE start and a halt/reset each time; with the rows of a batch bound into
/// one `VALUES` list of up to this many tuples, that fixed cost is paid once per chunk
/// (`commit_cost` example: history rows about 40 % cheaper). 32 rows of 12 parameters stay far
/// below SQLite's 32,766-parameter limit.
const ROWS_PER_INSERT: usize = 32;

/// Columns of a history row as written (every column after `id`), in bind order.
const HISTORY_INSERT_COLUMNS: usize = 12;

/// `INSERT INTO history` of `rows` rows (parameters row by row, columns in
/// [`HISTORY_INSERT_COLUMNS`] order).
fn insert_history_sql(rows: usize) -> String {
    format!(
        "INSERT INTO history
    (time, event, ip, htype, hwaddr, client_id, hostname, ends, giaddr, circuit_id, remote_id,
     offered)
    VALUES {}",
        values_list(rows, HISTORY_INSERT_COLUMNS)
    )
}

/// `(?, ?, …), (?, ?, …)`: `rows` tuples of `cols` anonymous parameters (numbered in order).
fn values_list(rows: usize, cols: usize) -> String {
    let tuple = format!("({})", vec!["?"; cols].join(", "));
    vec![tuple; rows].join(", ")
}

/// The two statement texts of each multi-row insert: one row, and [`ROWS_PER_INSERT`] rows.
struct InsertSql {
    one: String,
    chunk: String,
}

impl InsertSql {
    fn new(sql: fn(usize) -> String) -> Self {
        Self {
            one: sql(1),
            chunk: sql(ROWS_PER_INSERT),
        }
    }
}

/// Statement texts built once per process.
static HISTORY_SQL: std::sync::LazyLock<InsertSql> =
    std::sync::LazyLock::new(|| InsertSql::new(insert_history_sql));
static UPSERT_SQL: std::sync::LazyLock<InsertSql> =
    std::sync::LazyLock::new(|| InsertSql::new(upsert_sql));
static PAIR_SQL: std::sync::LazyLock<InsertSql> =
    std::sync::LazyLock::new(|| InsertSql::new(insert_pair_sql));

/// Runs `one` multi-row statement per [`ROWS_PER_INSERT`] items of `items` (and single-row ones
/// for the rest), binding each item's `cols` parameters with `bind(stmt, first_index, item)`.
fn insert_chunked<T>(
    tx: &rusqlite::Transaction<'_>,
    sql: &InsertSql,
    cols: usize,
    items: &[T],
    bind: impl Fn(&mut rusqlite::Statement<'_>, usize, &T) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    let mut chunks = items.chunks_exact(ROWS_PER_INSERT);
    if chunks.len() > 0 {
        let mut stmt = tx.prepare_cached(&sql.chunk)?;
        for chunk in chunks.by_ref() {
            for (r, item) in chunk.iter().enumerate() {
                bind(&mut stmt, r * cols + 1, item)?;
            }
            stmt.raw_execute()?;
        }
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut stmt = tx.prepare_cached(&sql.one)?;
        for item in rest {
            bind(&mut stmt, 1, item)?;
            stmt.raw_execute()?;
        }
    }
    Ok(())
}

/// Columns of a history query, in [`history_from_row`] order.
const HISTORY_COLUMNS: &str = "time, event, ip, htype, hwaddr, client_id, hostname, ends, \
    giaddr, circuit_id, remote_id, offered";

/// [`HISTORY_COLUMNS`] for a store older than version 4 opened read-only: no `offered`.
const HISTORY_COLUMNS_V3: &str = "time, event, ip, htype, hwaddr, client_id, hostname, ends, \
    giaddr, circuit_id, remote_id, NULL";

/// Deletes up to ?2 of the oldest rows (by insertion order) older than ?1: looks only at the
/// first ?2 rows, so a prune with nothing to do costs O(limit), not a table scan. Returns the
/// (hwaddr, htype, ip) of each deleted row, for `history_clients`.
const PRUNE_HISTORY: &str = "DELETE FROM history WHERE id IN (
    SELECT id FROM (SELECT id, time FROM history ORDER BY id LIMIT ?2) WHERE time < ?1)
    RETURNING hwaddr, htype, ip";

/// Columns of a lease row as written, in bind order.
const LEASE_COLUMNS: usize = 10;

/// Insert-or-replace `rows` leases (parameters row by row, in column order).
fn upsert_sql(rows: usize) -> String {
    format!(
        "INSERT INTO leases
    (ip, htype, hwaddr, client_id, hostname, state, starts, ends, fqdn, fqdn_flags)
    VALUES {}
    ON CONFLICT(ip) DO UPDATE SET htype = excluded.htype, hwaddr = excluded.hwaddr,
        client_id = excluded.client_id, hostname = excluded.hostname, state = excluded.state,
        starts = excluded.starts, ends = excluded.ends, fqdn = excluded.fqdn,
        fqdn_flags = excluded.fqdn_flags",
        values_list(rows, LEASE_COLUMNS)
    )
}

/// Forget one address.
const DELETE: &str = "DELETE FROM leases WHERE ip = ?1";

/// Every lease, in address order (the rowid order).
const SELECT_ALL: &str = "SELECT ip, htype, hwaddr, client_id, hostname, state, starts, ends,
    fqdn, fqdn_flags FROM leases ORDER BY ip";

/// [`SELECT_ALL`] for a store older than version 3 opened read-only (not upgraded): no FQDN.
const SELECT_ALL_V2: &str = "SELECT ip, htype, hwaddr, client_id, hostname, state, starts, ends,
    NULL, NULL FROM leases ORDER BY ip";

/// A lease store in one SQLite file.
pub struct SqliteStore {
    /// The connection; exclusively owned, so the single writer thread needs no lock.
    conn: Connection,
    /// The database file, for error messages.
    path: PathBuf,
    /// Opened with [`SqliteStore::open_read_only`]: `commit` is refused.
    read_only: bool,
    /// The file has the version 3 `fqdn` columns (false only for an old file opened read-only).
    fqdn_columns: bool,
    /// The file has the version 4 history `offered` column (false only for an old file opened
    /// read-only).
    offered_column: bool,
    /// The file has the version 5 `history_clients` table (false only for an old file opened
    /// read-only: it still has the `hwaddr` history index).
    pair_table: bool,
    /// Pairs known to be in `history_clients` (the writer's, see [`PairCache`]).
    pairs: PairCache,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("read_only", &self.read_only)
            .finish()
    }
}

// === impl SqliteStore ===

impl SqliteStore {
    /// Opens the store for the server, creating missing parent directories, the file and the
    /// schema. Refuses (without writing anything) files that are not SQLite databases or not
    /// hyperdhcp stores.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: path.to_path_buf(),
                dir: dir.to_path_buf(),
                source,
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| StoreError::sqlite(path, "open", e))?;
        let store = Self {
            conn,
            path: path.to_path_buf(),
            read_only: false,
            fqdn_columns: true,
            offered_column: true,
            pair_table: true,
            pairs: PairCache::default(),
        };
        store.configure()?;
        // Identify before the first write so a foreign or corrupt file is never modified.
        let version = store.check_identity()?;
        store.set_durability()?;
        if version == 0 {
            store.create_schema()?;
        } else {
            store.upgrade_from(version)?;
        }
        // Issue 5: the conflicts table needs no version bump (CREATE IF NOT EXISTS).
        store
            .conn
            .execute_batch(crate::conflicts::CREATE_CONFLICTS)
            .map_err(store.err("create conflicts table"))?;
        store.preallocate_wal()?;
        Ok(store)
    }

    /// Fills the write-ahead log file with zeros up to [`WAL_PREALLOC_BYTES`] (from its current
    /// end, so no frame SQLite wrote is touched) and fsyncs it: commits then overwrite
    /// allocated blocks instead of growing the file. The file exists by now: the schema
    /// statements above ran in WAL mode.
    fn preallocate_wal(&self) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        let fail = |source| StoreError::WalPrealloc {
            path: self.path.clone(),
            wal: wal.clone(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&wal)
            .map_err(fail)?;
        let mut at = file.metadata().map_err(fail)?.len();
        if at >= WAL_PREALLOC_BYTES {
            return Ok(());
        }
        let zeros = vec![0u8; 1 << 20];
        while at < WAL_PREALLOC_BYTES {
            let n = (WAL_PREALLOC_BYTES - at).min(zeros.len() as u64) as usize;
            file.write_all_at(&zeros[..n], at).map_err(fail)?;
            at += n as u64;
        }
        file.sync_all().map_err(fail)
    }

    /// Opens an existing store read-only (`SQLITE_OPEN_READ_ONLY`), for `hyperdhcp leases list`
    /// while a server may be running: in WAL mode this reader sees a consistent snapshot and
    /// never blocks the server's commits.
    pub fn open_read_only(path: &Path) -> Result<Self, StoreError> {
        match path.try_exists() {
            Ok(true) => {}
            Ok(false) => {
                return Err(StoreError::NotFound {
                    path: path.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(StoreError::Access {
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| StoreError::sqlite(path, "open", e))?;
        let mut store = Self {
            conn,
            path: path.to_path_buf(),
            read_only: true,
            fqdn_columns: false,
            offered_column: false,
            pair_table: false,
            pairs: PairCache::default(),
        };
        store.configure()?;
        let version = store.check_identity()?;
        if version == 0 {
            return Err(StoreError::Foreign {
                path: store.path.clone(),
                reason: "empty database without a lease table".to_string(),
            });
        }
        store.fqdn_columns = version >= FQDN_VERSION;
        store.offered_column = version >= OFFERED_VERSION;
        store.pair_table = version >= PAIRS_VERSION;
        Ok(store)
    }

    /// The database file this store was opened on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Wraps an SQLite error with this store's path.
    fn err(&self, op: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        move |e| StoreError::sqlite(&self.path, op, e)
    }

    /// Per-connection settings that write nothing to the file.
    fn configure(&self) -> Result<(), StoreError> {
        self.conn
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(self.err("set busy_timeout"))?;
        // Two statements per commit plus the load; headroom for later additions.
        self.conn.set_prepared_statement_cache_capacity(16);
        // Reads straight from mapped pages instead of copying them through the page cache:
        // roughly halves the start-up `load_all` of a large table.
        self.conn
            .pragma_update(None, "mmap_size", MMAP_SIZE)
            .map_err(self.err("set mmap_size"))?;
        // A multi-row upsert keeps a statement journal (the pages it changed, so a failing
        // row can undo just that statement). In a temp file that is two `pwrite`s per page
        // (measured: ~35,000 per second of renewals at 60,000/s); in memory it is a copy. It
        // holds at most one statement's pages and nothing in it is needed after a crash.
        self.conn
            .pragma_update(None, "temp_store", "MEMORY")
            .map_err(self.err("set temp_store=MEMORY"))?;
        Ok(())
    }

    /// Reads `user_version` and `application_id` (the first access to the file, so a non-database
    /// shows up here as [`StoreError::NotADatabase`]) and returns the schema version, 0 for a
    /// fresh, empty database.
    fn check_identity(&self) -> Result<i64, StoreError> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(self.err("read schema version"))?;
        let app_id: i64 = self
            .conn
            .pragma_query_value(None, "application_id", |r| r.get(0))
            .map_err(self.err("read application id"))?;
        let foreign = |reason: String| StoreError::Foreign {
            path: self.path.clone(),
            reason,
        };
        if version == 0 {
            let tables: i64 = self
                .conn
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(self.err("read schema"))?;
            if tables != 0 || app_id != 0 {
                return Err(foreign(format!(
                    "database has {tables} schema objects but no hyperdhcp schema version"
                )));
            }
            return Ok(0);
        }
        if app_id != APPLICATION_ID {
            return Err(foreign(format!(
                "application_id is {app_id:#x}, expected {APPLICATION_ID:#x}"
            )));
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::UnsupportedSchema {
                path: self.path.clone(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        Ok(version)
    }

    /// WAL so readers never block the writer; `synchronous=FULL` so every COMMIT fsyncs the WAL
    /// before returning (an ACK must never outrun its lease on disk).
    fn set_durability(&self) -> Result<(), StoreError> {
        let mode: String = self
            .conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(self.err("set journal_mode=WAL"))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Sqlite {
                path: self.path.clone(),
                op: "set journal_mode=WAL",
                source: rusqlite::Error::InvalidQuery,
            });
        }
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(self.err("set synchronous=FULL"))?;
        Ok(())
    }

    /// Creates the schema and stamps the version, atomically.
    fn create_schema(&self) -> Result<(), StoreError> {
        let sql = format!(
            "BEGIN IMMEDIATE;
             {CREATE_SCHEMA}
             {ADD_FQDN}
             {CREATE_HISTORY}
             {ADD_OFFERED}
             {ADD_PAIRS}
             PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = {SCHEMA_VERSION};
             COMMIT;"
        );
        self.conn
            .execute_batch(&sql)
            .map_err(self.err("create schema"))
    }

    /// Brings a store of schema `version` (1 or later) up to [`SCHEMA_VERSION`], one
    /// [`MIGRATIONS`] step per transaction, each stamping its version as it commits.
    fn upgrade_from(&self, version: i64) -> Result<(), StoreError> {
        for &(target, body, op) in MIGRATIONS.iter().filter(|m| m.0 > version) {
            let sql = format!(
                "BEGIN IMMEDIATE;
                 {body}
                 PRAGMA user_version = {target};
                 COMMIT;"
            );
            self.conn.execute_batch(&sql).map_err(self.err(op))?;
        }
        Ok(())
    }

    /// Deletes the conflict record of `ip` (`hyperdhcp conflicts clear`); true when there was
    /// one. A running server picks the change up on SIGHUP.
    pub fn remove_conflict(&mut self, ip: Ipv4Addr) -> Result<bool, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
            });
        }
        crate::conflicts::remove(&self.conn, ip).map_err(self.err("clear conflict"))
    }

    /// Columns to select for [`history_from_row`] on this file.
    fn history_columns(&self) -> &'static str {
        if self.offered_column {
            HISTORY_COLUMNS
        } else {
            HISTORY_COLUMNS_V3
        }
    }

    /// Every history event of address `ip`, oldest first.
    pub fn history_for_ip(&self, ip: Ipv4Addr) -> Result<Vec<HistoryEvent>, StoreError> {
        let sql = format!(
            "SELECT {} FROM history WHERE ip = ?1 ORDER BY time, id",
            self.history_columns()
        );
        self.history_query(&sql, rusqlite::params![u32::from(ip)])
    }

    /// Every history event of hardware address `hwaddr`, oldest first.
    pub fn history_for_hwaddr(&self, hwaddr: &HwAddr) -> Result<Vec<HistoryEvent>, StoreError> {
        // Version 5: the client's addresses from `history_clients`, then their rows through
        // the address index. Older files (read-only) still have the `hwaddr` index.
        let within = if self.pair_table {
            "ip IN (SELECT ip FROM history_clients WHERE hwaddr = ?1 AND htype = ?2) AND "
        } else {
            ""
        };
        let sql = format!(
            "SELECT {} FROM history WHERE {within}hwaddr = ?1 AND htype = ?2 ORDER BY time, id",
            self.history_columns()
        );
        self.history_query(&sql, rusqlite::params![hwaddr.as_bytes(), hwaddr.htype])
    }

    /// Runs a history SELECT and decodes its rows.
    fn history_query(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<HistoryEvent>, StoreError> {
        let op = "read history";
        let mut stmt = self.conn.prepare(sql).map_err(self.err(op))?;
        let mut rows = stmt.query(params).map_err(self.err(op))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(self.err(op))? {
            let (event, offered) = history_from_row(row).map_err(|reason| StoreError::BadRow {
                path: self.path.clone(),
                ip: 0,
                reason: format!("history: {reason}"),
            })?;
            if let Some(time) = offered {
                // The offer this ack row also stands for (see `merge_offers`).
                out.push(HistoryEvent {
                    time,
                    kind: HistoryKind::Offer,
                    ends: None,
                    ..event.clone()
                });
            }
            out.push(event);
        }
        // A re-created offer is older than its ack row; keep "oldest first" (stable: equal
        // times stay in row order).
        out.sort_by_key(|e| e.time);
        Ok(out)
    }

    /// Appends history rows inside an open transaction.
    /// Pairs not known to [`PairCache`] get an `INSERT OR IGNORE` into `history_clients`;
    /// their cache keys are pushed to `new_pairs`, for the caller to remember once the
    /// transaction has committed.
    fn append_history(
        tx: &rusqlite::Transaction<'_>,
        history: &[HistoryEvent],
        pairs: &PairCache,
        new_pairs: &mut Vec<u128>,
    ) -> rusqlite::Result<()> {
        if history.is_empty() {
            return Ok(());
        }
        let offered = merge_offers(history);
        let rows: Vec<(&HistoryEvent, Option<i64>)> = history
            .iter()
            .zip(offered)
            .filter_map(|(h, m)| match m {
                Merged::Skip => None,
                Merged::Alone => Some((h, None)),
                Merged::WithOffer(t) => Some((h, Some(time_to_db(t)))),
            })
            .collect();
        insert_chunked(
            tx,
            &HISTORY_SQL,
            HISTORY_INSERT_COLUMNS,
            &rows,
            |stmt, i, &(h, offered)| {
                stmt.raw_bind_parameter(i, time_to_db(h.time))?;
                stmt.raw_bind_parameter(i + 1, h.kind.as_str())?;
                stmt.raw_bind_parameter(i + 2, u32::from(h.ip))?;
                stmt.raw_bind_parameter(i + 3, h.hwaddr.htype)?;
                stmt.raw_bind_parameter(i + 4, h.hwaddr.as_bytes())?;
                stmt.raw_bind_parameter(i + 5, h.client_id.as_deref())?;
                stmt.raw_bind_parameter(i + 6, h.hostname.as_deref())?;
                stmt.raw_bind_parameter(i + 7, h.ends.map(time_to_db))?;
                stmt.raw_bind_parameter(i + 8, h.relay.giaddr.map(u32::from))?;
                stmt.raw_bind_parameter(i + 9, h.relay.circuit_id.as_deref())?;
                stmt.raw_bind_parameter(i + 10, h.relay.remote_id.as_deref())?;
                stmt.raw_bind_parameter(i + 11, offered)
            },
        )?;
        let unknown: Vec<&HistoryEvent> = rows
            .iter()
            .map(|&(h, _)| h)
            .filter(|h| !pairs.contains(PairCache::key(&h.hwaddr, h.ip)))
            .collect();
        insert_chunked(tx, &PAIR_SQL, PAIR_COLUMNS, &unknown, |stmt, i, h| {
            stmt.raw_bind_parameter(i, h.hwaddr.as_bytes())?;
            stmt.raw_bind_parameter(i + 1, h.hwaddr.htype)?;
            stmt.raw_bind_parameter(i + 2, u32::from(h.ip))
        })?;
        new_pairs.extend(
            unknown
                .iter()
                .filter_map(|h| PairCache::key(&h.hwaddr, h.ip)),
        );
        Ok(())
    }

    /// Applies one batch inside an open transaction.
    fn apply(tx: &rusqlite::Transaction<'_>, changes: &[LeaseChange]) -> rusqlite::Result<()> {
        let mut delete = tx.prepare_cached(DELETE)?;
        // Runs of upserts go in multi-row statements; a removal ends a run (order matters: an
        // address may be removed and re-leased within one batch).
        for run in changes.split_inclusive(|c| matches!(c, LeaseChange::Remove(_))) {
            let (upserts, removed) = match run.split_last() {
                Some((LeaseChange::Remove(ip), before)) => (before, Some(*ip)),
                _ => (run, None),
            };
            let leases: Vec<&Lease> = upserts
                .iter()
                .filter_map(|c| match c {
                    LeaseChange::Upsert(lease) => Some(lease),
                    LeaseChange::Remove(_) => None,
                })
                .collect();
            insert_chunked(tx, &UPSERT_SQL, LEASE_COLUMNS, &leases, |stmt, i, lease| {
                stmt.raw_bind_parameter(i, u32::from(lease.ip))?;
                stmt.raw_bind_parameter(i + 1, lease.hwaddr.htype)?;
                stmt.raw_bind_parameter(i + 2, lease.hwaddr.as_bytes())?;
                stmt.raw_bind_parameter(i + 3, lease.client_id.as_deref())?;
                stmt.raw_bind_parameter(i + 4, lease.hostname.as_deref())?;
                stmt.raw_bind_parameter(i + 5, lease.state.as_str())?;
                stmt.raw_bind_parameter(i + 6, time_to_db(lease.starts))?;
                stmt.raw_bind_parameter(i + 7, time_to_db(lease.ends))?;
                stmt.raw_bind_parameter(i + 8, lease.fqdn.as_ref().map(|f| &*f.name))?;
                stmt.raw_bind_parameter(i + 9, lease.fqdn.as_ref().map(|f| f.flags))
            })?;
            if let Some(ip) = removed {
                delete.execute([u32::from(ip)])?;
            }
        }
        Ok(())
    }
}

impl LeaseStore for SqliteStore {
    fn load_all(&mut self) -> Result<Vec<Lease>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(if self.fqdn_columns {
                SELECT_ALL
            } else {
                SELECT_ALL_V2
            })
            .map_err(|e| StoreError::sqlite(&self.path, "load", e))?;
        let mut rows = stmt
            .query([])
            .map_err(|e| StoreError::sqlite(&self.path, "load", e))?;
        let mut leases = Vec::new();
        while let Some(row) = rows
            .next()
            .map_err(|e| StoreError::sqlite(&self.path, "load", e))?
        {
            let lease = lease_from_row(row).map_err(|(ip, reason)| StoreError::BadRow {
                path: self.path.clone(),
                ip,
                reason,
            })?;
            leases.push(lease);
        }
        Ok(leases)
    }

    fn commit(&mut self, changes: &[LeaseChange]) -> Result<(), StoreError> {
        self.commit_with_history(changes, &[])
    }

    fn load_conflicts(&mut self) -> Result<Vec<Conflict>, StoreError> {
        let exists = crate::conflicts::table_exists(&self.conn)
            .map_err(|e| StoreError::sqlite(&self.path, "load conflicts", e))?;
        if !exists {
            return Ok(Vec::new());
        }
        crate::conflicts::load(&self.conn)
            .map_err(|e| StoreError::sqlite(&self.path, "load conflicts", e))?
            .map_err(|(ip, reason)| StoreError::BadRow {
                path: self.path.clone(),
                ip,
                reason: format!("conflicts table: {reason}"),
            })
    }

    fn commit_conflicts(&mut self, changes: &[ConflictChange]) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
            });
        }
        if changes.is_empty() {
            return Ok(());
        }
        let path = &self.path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::sqlite(path, "begin conflicts", e))?;
        crate::conflicts::apply(&tx, changes)
            .map_err(|e| StoreError::sqlite(path, "commit conflicts", e))?;
        tx.commit()
            .map_err(|e| StoreError::sqlite(path, "commit conflicts", e))
    }

    fn prune_history(&mut self, before: UnixTime, limit: usize) -> Result<usize, StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
            });
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let path = &self.path;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::sqlite(path, "prune history", e))?;
        // The pairs of the deleted rows are forgotten too once nothing of them is left, so
        // `history_clients` shrinks with the history (clients that came and went, e.g. with
        // random MACs, do not pile up). The cache forgets every pair the prune touched, kept
        // or not: a pair it does not know only costs one INSERT OR IGNORE later.
        let mut touched: Vec<(Vec<u8>, u8, u32)> = Vec::new();
        let deleted = tx
            .prepare_cached(PRUNE_HISTORY)
            .and_then(|mut stmt| {
                let mut rows = stmt.query(params![time_to_db(before), limit])?;
                let mut n = 0;
                while let Some(row) = rows.next()? {
                    n += 1;
                    touched.push((row.get(0)?, row.get(1)?, row.get(2)?));
                }
                Ok(n)
            })
            .map_err(|e| StoreError::sqlite(path, "prune history", e))?;
        touched.sort_unstable();
        touched.dedup();
        tx.prepare_cached(DELETE_PAIR_IF_UNUSED)
            .and_then(|mut stmt| {
                touched
                    .iter()
                    .try_for_each(|(hw, htype, ip)| stmt.execute(params![hw, htype, ip]).map(drop))
            })
            .map_err(|e| StoreError::sqlite(path, "prune history", e))?;
        tx.commit()
            .map_err(|e| StoreError::sqlite(path, "prune history", e))?;
        for (hw, htype, ip) in touched {
            if let Some(hwaddr) = HwAddr::new(htype, &hw) {
                self.pairs
                    .remove(PairCache::key(&hwaddr, Ipv4Addr::from(ip)));
            }
        }
        Ok(deleted)
    }

    fn commit_with_history(
        &mut self,
        changes: &[LeaseChange],
        history: &[HistoryEvent],
    ) -> Result<(), StoreError> {
        if self.read_only {
            return Err(StoreError::ReadOnly {
                path: self.path.clone(),
            });
        }
        if changes.is_empty() && history.is_empty() {
            return Ok(());
        }
        let path = &self.path;
        // IMMEDIATE takes the write lock up front instead of upgrading mid-transaction.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| StoreError::sqlite(path, "begin commit", e))?;
        let mut new_pairs = Vec::new();
        Self::apply(&tx, changes)
            .and_then(|()| Self::append_history(&tx, history, &self.pairs, &mut new_pairs))
            .map_err(|e| StoreError::sqlite(path, "commit", e))?;
        // With WAL + synchronous=FULL, COMMIT returns after the WAL is fsynced. On any error
        // above, dropping `tx` rolls the whole batch back.
        tx.commit()
            .map_err(|e| StoreError::sqlite(path, "commit", e))?;
        // Only now are the pairs on disk for sure.
        for key in new_pairs {
            self.pairs.insert(key);
        }
        Ok(())
    }
}

// === row encoding ===

/// Stored value meaning "never" for a timestamp that does not fit in SQLite's i64.
const NEVER_DB: i64 = i64::MAX;

/// Unix seconds to the stored i64, saturating (anything past i64::MAX means "never").
fn time_to_db(t: UnixTime) -> i64 {
    i64::try_from(t).unwrap_or(NEVER_DB)
}

/// Inverse of [`time_to_db`]; `None` for negative values.
fn time_from_db(v: i64) -> Option<UnixTime> {
    if v == NEVER_DB {
        Some(UnixTime::MAX)
    } else {
        UnixTime::try_from(v).ok()
    }
}

/// Decodes one `SELECT_ALL` row without intermediate allocations (borrowed column values); on
/// failure returns the raw `ip` and what is wrong.
fn lease_from_row(row: &Row<'_>) -> Result<Lease, (i64, String)> {
    let raw_ip = int(row, 0).map_err(|r| (0, r))?;
    let bad = |reason: String| (raw_ip, reason);
    let ip = u32::try_from(raw_ip)
        .map(Ipv4Addr::from)
        .map_err(|_| bad("ip out of IPv4 range".to_string()))?;
    let htype = u8::try_from(int(row, 1).map_err(bad)?)
        .map_err(|_| bad("htype out of range".to_string()))?;
    let hwaddr = match value(row, 2).map_err(bad)? {
        ValueRef::Blob(b) => HwAddr::new(htype, b)
            .ok_or_else(|| bad(format!("hwaddr is {} bytes, at most 16 allowed", b.len())))?,
        _ => return Err(bad("hwaddr is not a blob".to_string())),
    };
    let client_id = match value(row, 3).map_err(bad)? {
        ValueRef::Null => None,
        ValueRef::Blob(b) => Some(Box::<[u8]>::from(b)),
        _ => return Err(bad("client_id is not a blob".to_string())),
    };
    let hostname = match value(row, 4).map_err(bad)? {
        ValueRef::Null => None,
        ValueRef::Text(t) => Some(Box::<str>::from(
            std::str::from_utf8(t).map_err(|_| bad("hostname is not UTF-8".to_string()))?,
        )),
        _ => return Err(bad("hostname is not text".to_string())),
    };
    let state = match value(row, 5).map_err(bad)? {
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(LeaseState::parse)
            .ok_or_else(|| bad(format!("unknown state {:?}", String::from_utf8_lossy(t))))?,
        _ => return Err(bad("state is not text".to_string())),
    };
    let starts = time_from_db(int(row, 6).map_err(bad)?)
        .ok_or_else(|| bad("negative starts".to_string()))?;
    let ends =
        time_from_db(int(row, 7).map_err(bad)?).ok_or_else(|| bad("negative ends".to_string()))?;
    let fqdn = match value(row, 8).map_err(bad)? {
        ValueRef::Null => None,
        ValueRef::Text(t) => {
            let name = std::str::from_utf8(t).map_err(|_| bad("fqdn is not UTF-8".to_string()))?;
            let flags = match value(row, 9).map_err(bad)? {
                ValueRef::Null => 0,
                ValueRef::Integer(f) => {
                    u8::try_from(f).map_err(|_| bad("fqdn_flags out of range".to_string()))?
                }
                _ => return Err(bad("fqdn_flags is not an integer".to_string())),
            };
            Some(Box::new(LeaseFqdn {
                flags,
                name: name.into(),
            }))
        }
        _ => return Err(bad("fqdn is not text".to_string())),
    };
    Ok(Lease {
        ip,
        hwaddr,
        client_id,
        hostname,
        fqdn,
        state,
        starts,
        ends,
    })
}

/// How one event of a batch is stored by [`merge_offers`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Merged {
    /// Its own row.
    Alone,
    /// Not stored: a later ack row of the same batch stands for it.
    Skip,
    /// An ack row that also stands for the offer made at this time.
    WithOffer(UnixTime),
}

/// Pairs each offer with the ack that follows it in the same batch (same address, client,
/// host name and relay facts, nothing else about that address in between), so the pair is
/// stored as one row: the ack, with `offered` = the offer's time. A DORA then costs one history
/// row (three B-tree inserts: table and two indexes) instead of two. Nothing is lost: the
/// offer row is exactly the ack row's client and relay fields with `kind = offer`, `ends =
/// NULL` and its own time, which is how [`SqliteStore::history_for_ip`] re-creates it.
fn merge_offers(history: &[HistoryEvent]) -> Vec<Merged> {
    let mut out = vec![Merged::Alone; history.len()];
    // Address → index of its latest offer not yet paired.
    let mut open: std::collections::HashMap<Ipv4Addr, usize> = std::collections::HashMap::new();
    for (i, h) in history.iter().enumerate() {
        let prior = open.remove(&h.ip);
        match h.kind {
            HistoryKind::Offer => {
                open.insert(h.ip, i);
            }
            HistoryKind::Ack => {
                let Some(j) = prior else { continue };
                let Some(o) = history.get(j) else { continue };
                let same = o.hwaddr == h.hwaddr
                    && o.client_id == h.client_id
                    && o.hostname == h.hostname
                    && o.relay == h.relay
                    && o.ends.is_none()
                    && o.time <= h.time;
                if same {
                    if let Some(offer) = out.get_mut(j) {
                        *offer = Merged::Skip;
                    }
                    if let Some(ack) = out.get_mut(i) {
                        *ack = Merged::WithOffer(o.time);
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Decodes one history row ([`HISTORY_COLUMNS`] order) and its `offered` time.
fn history_from_row(row: &Row<'_>) -> Result<(HistoryEvent, Option<UnixTime>), String> {
    let time = time_from_db(int(row, 0)?).ok_or("negative time")?;
    let kind = match value(row, 1)? {
        ValueRef::Text(t) => std::str::from_utf8(t)
            .ok()
            .and_then(HistoryKind::parse)
            .ok_or_else(|| format!("unknown event {:?}", String::from_utf8_lossy(t)))?,
        _ => return Err("event is not text".to_string()),
    };
    let ip = u32::try_from(int(row, 2)?)
        .map(Ipv4Addr::from)
        .map_err(|_| "ip out of IPv4 range")?;
    let htype = u8::try_from(int(row, 3)?).map_err(|_| "htype out of range")?;
    let hwaddr = match value(row, 4)? {
        ValueRef::Blob(b) => HwAddr::new(htype, b).ok_or("hwaddr longer than 16 bytes")?,
        _ => return Err("hwaddr is not a blob".to_string()),
    };
    let blob = |idx: usize| -> Result<Option<Box<[u8]>>, String> {
        match value(row, idx)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(b) => Ok(Some(Box::from(b))),
            _ => Err(format!("column {idx} is not a blob")),
        }
    };
    let opt_int = |idx: usize| -> Result<Option<i64>, String> {
        match value(row, idx)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(v) => Ok(Some(v)),
            _ => Err(format!("column {idx} is not an integer")),
        }
    };
    let hostname = match value(row, 6)? {
        ValueRef::Null => None,
        ValueRef::Text(t) => Some(Box::<str>::from(
            std::str::from_utf8(t).map_err(|_| "hostname is not UTF-8")?,
        )),
        _ => return Err("hostname is not text".to_string()),
    };
    let giaddr = opt_int(8)?
        .map(|v| u32::try_from(v).map(Ipv4Addr::from))
        .transpose()
        .map_err(|_| "giaddr out of IPv4 range")?;
    let offered = opt_int(11)?.and_then(time_from_db);
    let event = HistoryEvent {
        time,
        kind,
        ip,
        hwaddr,
        client_id: blob(5)?,
        hostname,
        ends: opt_int(7)?.and_then(time_from_db),
        relay: RelayInfo {
            giaddr,
            circuit_id: blob(9)?,
            remote_id: blob(10)?,
        },
    };
    Ok((event, offered))
}

/// Column `idx` as a borrowed value.
fn value<'r>(row: &'r Row<'_>, idx: usize) -> Result<ValueRef<'r>, String> {
    row.get_ref(idx).map_err(|e| format!("column {idx}: {e}"))
}

/// Column `idx` as an integer.
fn int(row: &Row<'_>, idx: usize) -> Result<i64, String> {
    match value(row, idx)? {
        ValueRef::Integer(v) => Ok(v),
        _ => Err(format!("column {idx} is not an integer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(i: u32) -> Lease {
        let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + i);
        let b = i.to_be_bytes();
        Lease {
            ip,
            hwaddr: HwAddr::ethernet([0x02, 0, b[0], b[1], b[2], b[3]]),
            client_id: i
                .is_multiple_of(2)
                .then(|| vec![1, 2, 3, b[3]].into_boxed_slice()),
            hostname: i
                .is_multiple_of(3)
                .then(|| format!("host-{i}").into_boxed_str()),
            fqdn: None,
            state: LeaseState::Bound,
            starts: 1_700_000_000 + u64::from(i),
            ends: 1_700_003_600 + u64::from(i),
        }
    }

    fn upserts(range: std::ops::Range<u32>) -> Vec<LeaseChange> {
        range.map(|i| LeaseChange::Upsert(lease(i))).collect()
    }

    #[test]
    fn commit_then_load_round_trips_every_field() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("leases.db")).unwrap();
        let mut odd = lease(7);
        odd.hwaddr = HwAddr::new(6, &[0xaa; 16]).unwrap();
        odd.state = LeaseState::Declined;
        odd.ends = UnixTime::MAX;
        odd.hostname = Some("ünïcode".into());
        odd.fqdn = Some(Box::new(LeaseFqdn {
            flags: 0x05,
            name: "odd.lab.test".into(),
        }));
        let changes = vec![
            LeaseChange::Upsert(lease(3)),
            LeaseChange::Upsert(odd.clone()),
        ];
        store.commit(&changes).unwrap();
        assert_eq!(store.load_all().unwrap(), vec![lease(3), odd]);
    }

    #[test]
    fn upsert_replaces_and_remove_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("leases.db")).unwrap();
        store.commit(&upserts(0..3)).unwrap();
        let mut changed = lease(1);
        changed.state = LeaseState::Released;
        changed.client_id = None;
        store
            .commit(&[
                LeaseChange::Upsert(changed.clone()),
                LeaseChange::Remove(lease(0).ip),
                // Removing an address that has no lease is harmless.
                LeaseChange::Remove(Ipv4Addr::new(198, 19, 255, 255)),
            ])
            .unwrap();
        assert_eq!(store.load_all().unwrap(), vec![changed, lease(2)]);
    }

    /// The pre-filled WAL: the writer's file is at least WAL_PREALLOC_BYTES long, and a crash
    /// image (database + WAL copied while the writer is open, no shared-memory index) recovers
    /// exactly the committed leases: the zeros after the last frame are not read as frames.
    #[test]
    fn prefilled_wal_recovers_committed_leases_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases.db");
        let wal = dir.path().join("leases.db-wal");
        let mut store = SqliteStore::open(&path).unwrap();
        assert!(std::fs::metadata(&wal).unwrap().len() >= WAL_PREALLOC_BYTES);
        store.commit(&upserts(0..100)).unwrap();
        store.commit(&[LeaseChange::Remove(lease(5).ip)]).unwrap();
        // The commits overwrote the zeros in place: the file did not grow.
        assert_eq!(std::fs::metadata(&wal).unwrap().len(), WAL_PREALLOC_BYTES);
        let crash = dir.path().join("crash");
        std::fs::create_dir(&crash).unwrap();
        std::fs::copy(&path, crash.join("leases.db")).unwrap();
        std::fs::copy(&wal, crash.join("leases.db-wal")).unwrap();
        let recovered = SqliteStore::open(&crash.join("leases.db"))
            .unwrap()
            .load_all()
            .unwrap();
        let mut expected: Vec<Lease> = (0..100).filter(|&i| i != 5).map(lease).collect();
        expected.sort_by_key(|l| l.ip);
        assert_eq!(recovered, expected);
        drop(store);
    }

    #[test]
    fn changes_in_one_batch_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("leases.db")).unwrap();
        let ip = lease(5).ip;
        store
            .commit(&[
                LeaseChange::Upsert(lease(5)),
                LeaseChange::Remove(ip),
                LeaseChange::Upsert(lease(6)),
            ])
            .unwrap();
        assert_eq!(store.load_all().unwrap(), vec![lease(6)]);
    }

    /// Multi-row statements (ROWS_PER_INSERT rows each, single rows for the rest) give the
    /// same result as applying the changes one by one: removals split the runs, an address
    /// upserted twice in one chunk keeps the later row, history keeps its order.
    #[test]
    fn a_large_mixed_batch_applies_exactly_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("leases.db")).unwrap();
        store.commit(&upserts(1000..1010)).unwrap();
        let mut changes = Vec::new();
        for i in 0..150u32 {
            changes.push(LeaseChange::Upsert(lease(i)));
            if i % 7 == 0 {
                changes.push(LeaseChange::Remove(lease(i / 2).ip));
            }
            if i % 11 == 0 {
                let mut again = lease(i / 3);
                again.state = LeaseState::Released;
                changes.push(LeaseChange::Upsert(again));
            }
        }
        changes.push(LeaseChange::Remove(lease(1004).ip));
        assert!(changes.len() > 3 * ROWS_PER_INSERT);
        let mut model: std::collections::BTreeMap<Ipv4Addr, Lease> = upserts(1000..1010)
            .into_iter()
            .chain(changes.iter().cloned())
            .fold(Default::default(), |mut m, c| {
                match c {
                    LeaseChange::Upsert(l) => {
                        m.insert(l.ip, l);
                    }
                    LeaseChange::Remove(ip) => {
                        m.remove(&ip);
                    }
                }
                m
            });
        let history: Vec<HistoryEvent> = (0..3 * ROWS_PER_INSERT as u64 + 5)
            .map(|t| {
                let kind = if t % 2 == 0 {
                    HistoryKind::Ack
                } else {
                    HistoryKind::Release
                };
                event(t, kind, 10, 0xaa)
            })
            .collect();
        store.commit_with_history(&changes, &history).unwrap();
        let expected: Vec<Lease> = std::mem::take(&mut model).into_values().collect();
        assert_eq!(store.load_all().unwrap(), expected);
        let ro = SqliteStore::open_read_only(store.path()).unwrap();
        assert_eq!(ro.history_for_ip(history[0].ip).unwrap(), history);
    }

    #[test]
    fn batch_of_ten_thousand_commits_and_loads_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("leases.db")).unwrap();
        let mut changes = upserts(0..10_000);
        changes.reverse(); // insertion order must not matter for the sorted load
        store.commit(&changes).unwrap();
        let loaded = store.load_all().unwrap();
        assert_eq!(loaded.len(), 10_000);
        assert!(loaded.windows(2).all(|w| w[0].ip < w[1].ip));
        assert_eq!(loaded[9_999], lease(9_999));
    }

    #[test]
    fn reopen_after_drop_keeps_data_and_creates_parent_dirs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/leases.db");
        {
            let mut store = SqliteStore::open(&path).unwrap();
            store.commit(&upserts(0..100)).unwrap();
        }
        let mut store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.load_all().unwrap().len(), 100);
        let mut ro = SqliteStore::open_read_only(&path).unwrap();
        assert_eq!(ro.load_all().unwrap().len(), 100);
    }

    #[test]
    fn read_only_sees_concurrent_writer_and_does_not_block_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases.db");
        let mut writer = SqliteStore::open(&path).unwrap();
        writer.commit(&upserts(0..10)).unwrap();
        let mut reader = SqliteStore::open_read_only(&path).unwrap();
        assert_eq!(reader.load_all().unwrap().len(), 10);

        let handle = std::thread::spawn(move || {
            for batch in 1..50u32 {
                writer
                    .commit(&upserts(batch * 10..batch * 10 + 10))
                    .unwrap();
            }
            writer
        });
        let mut last = 10;
        loop {
            let n = reader.load_all().unwrap().len();
            assert!(
                n >= last && n.is_multiple_of(10),
                "snapshot must be whole batches: {n}"
            );
            last = n;
            if handle.is_finished() {
                break;
            }
        }
        let _writer = handle.join().unwrap();
        assert_eq!(reader.load_all().unwrap().len(), 500);
        let err = reader.commit(&upserts(0..1)).unwrap_err();
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err}");
    }

    #[test]
    fn read_only_on_missing_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.db");
        let err = SqliteStore::open_read_only(&path).unwrap_err();
        assert!(matches!(err, StoreError::NotFound { .. }), "{err}");
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
        assert!(!path.exists(), "read-only open must not create the file");
    }

    #[test]
    fn non_sqlite_file_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases.db");
        let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &garbage).unwrap();
        for result in [SqliteStore::open(&path), SqliteStore::open_read_only(&path)] {
            let err = result.unwrap_err();
            assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
            let msg = err.to_string();
            assert!(msg.contains(&*path.to_string_lossy()), "{msg}");
            assert!(msg.contains("not an SQLite database"), "{msg}");
        }
        assert_eq!(std::fs::read(&path).unwrap(), garbage);
    }

    #[test]
    fn foreign_sqlite_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        drop(conn);
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases.db");
        drop(SqliteStore::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::UnsupportedSchema { .. }), "{err}");
    }

    #[test]
    fn store_is_in_wal_mode_with_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("leases.db")).unwrap();
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        let sync: i64 = store
            .conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "synchronous=FULL");
    }

    /// A large store loads back completely after a reopen. How fast one million rows load is
    /// a benchmark (`bench/million.sh`, docs/benchmarks.md), not a test.
    #[test]
    fn a_large_store_loads_back_completely() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("leases.db")).unwrap();
        store.commit(&upserts(0..200_000)).unwrap();
        let mut store = SqliteStore::open(&dir.path().join("leases.db")).unwrap();
        let leases = store.load_all().unwrap();
        assert_eq!(leases.len(), 200_000);
        let mut ips: Vec<_> = leases.iter().map(|l| l.ip).collect();
        ips.sort();
        ips.dedup();
        assert_eq!(ips.len(), 200_000, "every row comes back once");
    }

    fn event(time: UnixTime, kind: HistoryKind, ip_last: u8, mac_last: u8) -> HistoryEvent {
        HistoryEvent {
            time,
            kind,
            ip: Ipv4Addr::new(198, 18, 0, ip_last),
            hwaddr: HwAddr::ethernet([2, 0, 0, 0, 0, mac_last]),
            client_id: None,
            hostname: Some("h".into()),
            ends: Some(time + 60),
            relay: RelayInfo {
                giaddr: Some(Ipv4Addr::new(198, 19, 0, 1)),
                circuit_id: Some(b"eth0".to_vec().into_boxed_slice()),
                remote_id: None,
            },
        }
    }

    #[test]
    fn history_rides_in_the_commit_and_answers_by_ip_and_mac() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("leases.db")).unwrap();
        let a = event(100, HistoryKind::Ack, 10, 0xaa);
        let b = event(200, HistoryKind::Release, 10, 0xaa);
        let c = event(300, HistoryKind::Ack, 10, 0xbb);
        let d = event(300, HistoryKind::Offer, 11, 0xaa);
        // History alone (offers) is committed too.
        store
            .commit_with_history(&[], std::slice::from_ref(&a))
            .unwrap();
        store
            .commit_with_history(&upserts(0..1), &[b.clone(), c.clone(), d.clone()])
            .unwrap();
        assert_eq!(store.load_all().unwrap().len(), 1);
        let ro = SqliteStore::open_read_only(store.path()).unwrap();
        assert_eq!(
            ro.history_for_ip(a.ip).unwrap(),
            vec![a.clone(), b.clone(), c]
        );
        assert_eq!(ro.history_for_hwaddr(&a.hwaddr).unwrap(), vec![a, b, d]);
    }

    fn history_rows(store: &SqliteStore) -> i64 {
        store
            .conn
            .query_row("SELECT count(*) FROM history", [], |r| r.get(0))
            .unwrap()
    }

    /// An offer and its ack in one batch are one row, read back as the two events they were.
    #[test]
    fn offer_and_its_ack_share_one_row_and_read_back_as_two_events() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("leases.db")).unwrap();
        let mut offer = event(100, HistoryKind::Offer, 10, 0xaa);
        offer.ends = None;
        let ack = event(101, HistoryKind::Ack, 10, 0xaa);
        // Another client's offer and ack, interleaved: paired by address.
        let mut offer2 = event(100, HistoryKind::Offer, 11, 0xbb);
        offer2.ends = None;
        let ack2 = event(100, HistoryKind::Ack, 11, 0xbb);
        store
            .commit_with_history(
                &upserts(0..1),
                &[offer.clone(), offer2.clone(), ack.clone(), ack2.clone()],
            )
            .unwrap();
        assert_eq!(history_rows(&store), 2, "two DORAs, two rows");
        assert_eq!(
            store.history_for_ip(offer.ip).unwrap(),
            vec![offer.clone(), ack.clone()]
        );
        assert_eq!(
            store.history_for_hwaddr(&offer2.hwaddr).unwrap(),
            vec![offer2, ack2]
        );
        let ro = SqliteStore::open_read_only(store.path()).unwrap();
        assert_eq!(
            ro.history_for_hwaddr(&offer.hwaddr).unwrap(),
            vec![offer, ack]
        );
    }

    /// Offers are paired only when nothing is lost by it: same client and relay facts, same
    /// batch, nothing else about the address in between.
    #[test]
    fn offers_stay_alone_when_pairing_would_lose_something() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("leases.db")).unwrap();
        let mut offer = event(100, HistoryKind::Offer, 10, 0xaa);
        offer.ends = None;
        let mut renamed = event(101, HistoryKind::Ack, 10, 0xaa);
        renamed.hostname = Some("other".into());
        let other_client = event(101, HistoryKind::Ack, 10, 0xbb);
        let release = event(101, HistoryKind::Release, 10, 0xaa);
        let ack = event(101, HistoryKind::Ack, 10, 0xaa);
        let cases: [&[HistoryEvent]; 3] = [
            &[offer.clone(), renamed],
            &[offer.clone(), other_client],
            &[offer.clone(), release, ack.clone()],
        ];
        for (n, rows) in cases.iter().enumerate() {
            let before = history_rows(&store);
            store.commit_with_history(&[], rows).unwrap();
            assert_eq!(
                history_rows(&store) - before,
                rows.len() as i64,
                "case {n}: every event has its own row"
            );
        }
        // Offer and ack in different batches: two rows.
        let before = history_rows(&store);
        store
            .commit_with_history(&[], std::slice::from_ref(&offer))
            .unwrap();
        store
            .commit_with_history(&[], std::slice::from_ref(&ack))
            .unwrap();
        assert_eq!(history_rows(&store) - before, 2);
    }

    #[test]
    fn version_three_store_reads_history_and_is_upgraded_to_four() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases.db");
        let a = event(100, HistoryKind::Ack, 10, 0xaa);
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&format!(
                "{CREATE_SCHEMA} {ADD_FQDN} {CREATE_HISTORY}
                 PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 3;"
            ))
            .unwrap();
            conn.execute(
                "INSERT INTO history (time, event, ip, htype, hwaddr, hostname, ends, giaddr,
                 circuit_id) VALUES (?1, 'ack', ?2, 1, ?3, 'h', ?4, ?5, ?6)",
                params![
                    100,
                    u32::from(a.ip),
                    a.hwaddr.as_bytes(),
                    160,
                    u32::from(Ipv4Addr::new(198, 19, 0, 1)),
                    &b"eth0"[..]
                ],
            )
            .unwrap();
        }
        // A reader of the old file (not upgraded) reads its history.
        let old = SqliteStore::open_read_only(&path).unwrap();
        assert_eq!(old.history_for_ip(a.ip).unwrap(), vec![a.clone()]);
        drop(old);
        let store = SqliteStore::open(&path).unwrap();
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert_eq!(store.history_for_ip(a.ip).unwrap(), vec![a.clone()]);
        // Version 5: the pair came from the existing row, the hwaddr index is gone.
        assert_eq!(store.history_for_hwaddr(&a.hwaddr).unwrap(), vec![a]);
        let index: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'history_hwaddr_time'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(index, 0);
    }

    fn pair_rows(store: &SqliteStore) -> i64 {
        store
            .conn
            .query_row("SELECT count(*) FROM history_clients", [], |r| r.get(0))
            .unwrap()
    }

    /// A query by hardware address sees every row of the client on every address it used,
    /// and nothing of other clients, whether the pair was written or known from the cache;
    /// a prune forgets a pair only when no row of it is left, and a row written after that
    /// brings the pair back (the cache must not claim the deleted pair).
    #[test]
    fn hardware_address_history_survives_renewals_and_prunes() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("leases.db")).unwrap();
        let ack = event(100, HistoryKind::Ack, 10, 0xaa);
        let other = event(110, HistoryKind::Ack, 11, 0xbb);
        let renews: Vec<_> = (1..=3)
            .map(|k| event(100 + 20 * k, HistoryKind::Renew, 10, 0xaa))
            .collect();
        store
            .commit_with_history(&[], &[ack.clone(), other.clone()])
            .unwrap();
        for r in &renews {
            store
                .commit_with_history(&[], std::slice::from_ref(r))
                .unwrap();
        }
        // Three renewals of a known pair wrote no pair.
        assert_eq!(pair_rows(&store), 2);
        let mut mine = vec![ack.clone()];
        mine.extend(renews.iter().cloned());
        assert_eq!(store.history_for_hwaddr(&ack.hwaddr).unwrap(), mine);
        assert_eq!(
            store.history_for_hwaddr(&other.hwaddr).unwrap(),
            vec![other.clone()]
        );
        // Prune up to time 115: the ack and the other client's row go; aa's pair stays
        // (its renewals remain), bb's pair goes with its last row.
        assert_eq!(store.prune_history(115, 100).unwrap(), 2);
        assert_eq!(pair_rows(&store), 1);
        assert_eq!(
            store.history_for_hwaddr(&ack.hwaddr).unwrap(),
            renews.clone()
        );
        assert!(store.history_for_hwaddr(&other.hwaddr).unwrap().is_empty());
        // bb comes back on the same address: its pair must be written again.
        let back = event(200, HistoryKind::Renew, 11, 0xbb);
        store
            .commit_with_history(&[], std::slice::from_ref(&back))
            .unwrap();
        assert_eq!(pair_rows(&store), 2);
        let ro = SqliteStore::open_read_only(store.path()).unwrap();
        assert_eq!(ro.history_for_hwaddr(&other.hwaddr).unwrap(), vec![back]);
    }

    #[test]
    fn prune_deletes_only_old_rows_in_bounded_batches() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(&dir.path().join("leases.db")).unwrap();
        let rows: Vec<_> = (0..25).map(|t| event(t, HistoryKind::Ack, 10, 1)).collect();
        store.commit_with_history(&[], &rows).unwrap();
        assert_eq!(store.prune_history(20, 8).unwrap(), 8);
        assert_eq!(store.prune_history(20, 8).unwrap(), 8);
        assert_eq!(store.prune_history(20, 8).unwrap(), 4);
        assert_eq!(store.prune_history(20, 8).unwrap(), 0);
        let left = store.history_for_ip(rows[0].ip).unwrap();
        assert_eq!(
            left.iter().map(|e| e.time).collect::<Vec<_>>(),
            vec![20, 21, 22, 23, 24]
        );
    }

    /// A lease insert of schema versions 1 and 2 (no FQDN columns).
    const V2_INSERT: &str = "INSERT INTO leases
        (ip, htype, hwaddr, client_id, hostname, state, starts, ends)
        VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

    #[test]
    fn version_two_store_is_upgraded_with_fqdn_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&format!(
                "{CREATE_SCHEMA} {CREATE_HISTORY} PRAGMA application_id = {APPLICATION_ID};
                 PRAGMA user_version = 2;"
            ))
            .unwrap();
            conn.execute(
                V2_INSERT,
                params![
                    u32::from(lease(1).ip),
                    1,
                    &[2u8, 0, 0, 0, 0, 1][..],
                    None::<Vec<u8>>,
                    "old",
                    "bound",
                    1,
                    2
                ],
            )
            .unwrap();
        }
        // A reader of the old file (not upgraded) sees the lease without an FQDN.
        let old = SqliteStore::open_read_only(&path)
            .unwrap()
            .load_all()
            .unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!(old[0].fqdn, None);
        let mut store = SqliteStore::open(&path).unwrap();
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let loaded = store.load_all().unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(
            (loaded[0].hostname.as_deref(), &loaded[0].fqdn),
            (Some("old"), &None)
        );
        let mut l = loaded[0].clone();
        l.fqdn = Some(Box::new(LeaseFqdn {
            flags: 0x01,
            name: "pc.lab.test".into(),
        }));
        store.commit(&[LeaseChange::Upsert(l.clone())]).unwrap();
        drop(store);
        let mut store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.load_all().unwrap(), vec![l]);
    }

    #[test]
    fn version_one_store_is_upgraded_keeping_leases() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("leases.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(&format!(
                "{CREATE_SCHEMA} PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 1;"
            ))
            .unwrap();
            conn.execute(
                V2_INSERT,
                params![
                    u32::from(lease(1).ip),
                    1,
                    &[2u8, 0, 0, 0, 0, 1][..],
                    None::<Vec<u8>>,
                    None::<String>,
                    "bound",
                    1,
                    2
                ],
            )
            .unwrap();
        }
        let mut store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.load_all().unwrap().len(), 1);
        store
            .commit_with_history(&[], &[event(5, HistoryKind::Expire, 1, 1)])
            .unwrap();
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
    }
}
