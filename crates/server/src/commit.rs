//! The committer thread: group commit pipelined with the serving loop (the loop never waits on
//! the disk while a batch is being fsynced).
//!
//! The loop hands a whole [`Batch`] (the ACKs waiting for it, its lease changes and history
//! rows) to [`Committer::submit`]; one dedicated thread owns the [`LeaseStore`] and commits
//! batches strictly in submission order, then hands each batch back ([`Done`]) and wakes the
//! loop through a socket pair the loop polls. Only then does the loop send that batch's ACKs
//! (or drop them when the commit failed). While batch N is being fsynced, the loop keeps
//! receiving, running the engine, sending OFFERs and collecting batch N+1, which is submitted
//! as soon as N is back: one commit in flight at a time, the next one as large as the backlog.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hyperdhcp_engine::ConflictChange;
use hyperdhcp_engine::UnixTime;
use hyperdhcp_store::{LeaseStore, StoreError};

use crate::batch::Batch;

/// Name of the committer thread (shows in `top -H`, perf and panics).
const THREAD_NAME: &str = "hyperdhcp-commit";

/// Work for the committer thread, done in order.
enum Job {
    /// Commit the batch's changes and history in one transaction.
    Commit(Batch),
    /// Delete at most `limit` history rows older than `before`.
    PruneHistory {
        /// Cut-off time.
        before: UnixTime,
        /// Most rows to delete.
        limit: usize,
    },
    /// Persist conflict records (issue 5; rare, so their own small transaction).
    Conflicts(Vec<ConflictChange>),
}

/// A finished job, handed back to the loop.
pub enum Done {
    /// A batch came back from its commit.
    Commit {
        /// The batch, untouched (its replies are still to be sent or withheld).
        batch: Batch,
        /// The commit's outcome: the batch's ACKs may leave only on `Ok`.
        result: Result<(), StoreError>,
        /// How long the commit (including the fsync) took.
        elapsed: Duration,
    },
    /// A history prune finished: rows deleted, or the error.
    PruneHistory(Result<usize, StoreError>),
    /// Conflict records persisted, or the error.
    Conflicts(Result<(), StoreError>),
}

/// Handle to the committer thread, owned by the serving loop.
pub struct Committer {
    jobs: Option<mpsc::Sender<Job>>,
    done: mpsc::Receiver<Done>,
    /// Read end of the wake-up pair: readable when a [`Done`] is waiting.
    wake: UnixStream,
    thread: Option<JoinHandle<()>>,
    /// Commit jobs submitted whose batch has not come back yet.
    commits_in_flight: usize,
    /// Prune jobs submitted whose result has not come back yet.
    prunes_in_flight: usize,
}

impl Committer {
    /// Starts the thread; it owns `store` until [`Committer`] is dropped.
    pub fn spawn(store: Box<dyn LeaseStore>) -> io::Result<Self> {
        let (wake, mut wake_tx) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || {
                let mut store = store;
                for job in jobs_rx {
                    let done = run_job(&mut *store, job);
                    if done_tx.send(done).is_err() {
                        return; // the loop is gone
                    }
                    // One byte per job; the loop drains them. A full pipe cannot happen with
                    // the loop's bounded number of jobs in flight, and a failed write only
                    // delays the wake-up to the loop's next poll timeout.
                    let _ = wake_tx.write(&[1]);
                }
            })?;
        Ok(Self {
            jobs: Some(jobs_tx),
            done: done_rx,
            wake,
            thread: Some(thread),
            commits_in_flight: 0,
            prunes_in_flight: 0,
        })
    }

    /// The descriptor to poll for readability: something came back.
    pub fn wake_fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    /// Commit jobs whose batch has not come back yet.
    pub fn commits_in_flight(&self) -> usize {
        self.commits_in_flight
    }

    /// True when nothing is submitted and not yet collected.
    pub fn is_idle(&self) -> bool {
        self.commits_in_flight == 0 && self.prunes_in_flight == 0
    }

    /// Queues `batch` for commit, after every job submitted before it. Gives the batch back if
    /// the thread is gone (it panicked); the caller then treats it as a failed commit.
    pub fn submit(&mut self, batch: Batch) -> Result<(), Batch> {
        match self.jobs.as_ref().map(|tx| tx.send(Job::Commit(batch))) {
            Some(Ok(())) => {
                self.commits_in_flight += 1;
                Ok(())
            }
            Some(Err(mpsc::SendError(Job::Commit(b)))) => Err(b),
            Some(Err(_)) | None => Err(Batch::default()),
        }
    }

    /// Queues one history prune; false if the thread is gone.
    pub fn submit_prune(&mut self, before: UnixTime, limit: usize) -> bool {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|tx| tx.send(Job::PruneHistory { before, limit }).is_ok());
        if sent {
            self.prunes_in_flight += 1;
        }
        sent
    }

    /// Queues conflict records to persist (counted with the prunes: small side jobs); false
    /// if the thread is gone.
    pub fn submit_conflicts(&mut self, changes: Vec<ConflictChange>) -> bool {
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|tx| tx.send(Job::Conflicts(changes)).is_ok());
        if sent {
            self.prunes_in_flight += 1;
        }
        sent
    }

    /// The next finished job: waits for one when `block` (returns `None` at once if nothing is
    /// in flight), else returns only what is already there.
    pub fn next_done(&mut self, block: bool) -> Option<Done> {
        if self.is_idle() {
            return None;
        }
        let done = if block {
            self.done.recv().ok()
        } else {
            self.done.try_recv().ok()
        };
        let Some(done) = done else {
            if block {
                // The thread died with jobs in flight: they will never come back.
                self.commits_in_flight = 0;
                self.prunes_in_flight = 0;
            }
            return None;
        };
        match done {
            Done::Commit { .. } => self.commits_in_flight -= 1,
            Done::PruneHistory(_) | Done::Conflicts(_) => self.prunes_in_flight -= 1,
        }
        Some(done)
    }

    /// Empties the wake-up pipe (call when poll reported it readable).
    pub fn clear_wake(&mut self) {
        let mut buf = [0u8; 64];
        while matches!(self.wake.read(&mut buf), Ok(n) if n == buf.len()) {}
    }
}

impl Drop for Committer {
    /// Lets the thread finish the jobs already queued, then joins it (the store closes there).
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run_job(store: &mut dyn LeaseStore, job: Job) -> Done {
    match job {
        Job::Commit(batch) => {
            let t0 = Instant::now();
            let result = if batch.changes.is_empty() && batch.history.is_empty() {
                Ok(())
            } else {
                store.commit_with_history(&batch.changes, &batch.history)
            };
            Done::Commit {
                batch,
                result,
                elapsed: t0.elapsed(),
            }
        }
        Job::PruneHistory { before, limit } => {
            Done::PruneHistory(store.prune_history(before, limit))
        }
        Job::Conflicts(changes) => Done::Conflicts(store.commit_conflicts(&changes)),
    }
}
