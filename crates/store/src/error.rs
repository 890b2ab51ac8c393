//! [`StoreError`]: everything that can go wrong opening, reading or writing a lease store.

use std::path::PathBuf;

/// A lease store failure. Every message starts with `lease store <path>:`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database's parent directory could not be created.
    #[error("lease store {}: cannot create directory {}: {source}", .path.display(), .dir.display())]
    CreateDir {
        /// The database file.
        path: PathBuf,
        /// The directory that could not be created.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// A read-only open of a database file that does not exist.
    #[error("lease store {}: no such file (has the server ever run with this store path?)", .path.display())]
    NotFound {
        /// The database file.
        path: PathBuf,
    },

    /// Whether the file exists could not be determined (permissions on a parent directory).
    #[error("lease store {}: cannot access: {source}", .path.display())]
    Access {
        /// The database file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The file exists but is not an SQLite database (corrupt, or some other file). It is left
    /// untouched.
    #[error("lease store {}: not an SQLite database (corrupt or some other file); refusing to touch it", .path.display())]
    NotADatabase {
        /// The database file.
        path: PathBuf,
    },

    /// An SQLite database, but not one of ours (other application id, or tables without our
    /// schema version).
    #[error("lease store {}: not a hyperdhcp lease store: {reason}", .path.display())]
    Foreign {
        /// The database file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },

    /// The schema was written by a newer hyperdhcp.
    #[error("lease store {}: schema version {found} is newer than this hyperdhcp supports ({supported})", .path.display())]
    UnsupportedSchema {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` in the file.
        found: i64,
        /// The newest version this build understands.
        supported: i64,
    },

    /// [`crate::LeaseStore::commit`] on a store opened with
    /// [`crate::SqliteStore::open_read_only`].
    #[error("lease store {}: opened read-only, cannot commit", .path.display())]
    ReadOnly {
        /// The database file.
        path: PathBuf,
    },

    /// A stored row that does not decode into a lease.
    #[error("lease store {}: bad row for ip {ip}: {reason}", .path.display())]
    BadRow {
        /// The database file.
        path: PathBuf,
        /// The row's `ip` column (raw, may itself be the problem).
        ip: i64,
        /// What is wrong with it.
        reason: String,
    },

    /// The write-ahead log could not be pre-allocated at open (see
    /// [`crate::sqlite::WAL_PREALLOC_BYTES`]): usually a full disk.
    #[error("lease store {}: cannot pre-allocate the write-ahead log {}: {source} (is the disk full?)", .path.display(), .wal.display())]
    WalPrealloc {
        /// The database file.
        path: PathBuf,
        /// The write-ahead log file (`<path>-wal`).
        wal: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// Any other SQLite failure, with the operation that failed.
    #[error("lease store {}: {op}: {source}", .path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What we were doing (`open`, `commit`, `load`, ...).
        op: &'static str,
        /// The SQLite error.
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// Wraps an SQLite error from operation `op`, recognising "file is not a database".
    pub(crate) fn sqlite(
        path: &std::path::Path,
        op: &'static str,
        source: rusqlite::Error,
    ) -> Self {
        if source.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
            StoreError::NotADatabase {
                path: path.to_path_buf(),
            }
        } else {
            StoreError::Sqlite {
                path: path.to_path_buf(),
                op,
                source,
            }
        }
    }
}
