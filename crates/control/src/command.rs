//! The one way into the serving loop: a bounded queue of [`Command`]s, each carrying its own
//! reply, plus a wake-up socket the loop polls beside its DHCP sockets.
//!
//! Senders (the reload thread, later the API) never wait for the loop: [`CommandSender::send`]
//! either queues the command at once or says the queue is full (the API answers 503). The loop
//! drains the queue once per turn ([`CommandQueue::drain`]) and answers each command through
//! its [`Reply`], which the sender may await (async) or block on.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};

use hyperdhcp_config::Config;
use hyperdhcp_engine::Conflict;
use tokio::sync::oneshot;

/// Commands the loop takes in one turn at most; the rest wait for the next turn, so a burst of
/// commands cannot hold DHCP traffic back.
pub const MAX_COMMANDS_PER_TURN: usize = 64;

/// What a caller asks the serving loop to do.
#[derive(Debug)]
pub enum Command {
    /// Swap in an already parsed and validated configuration (leases are kept). `conflicts`,
    /// when present, replaces the conflict table (read from the store off the loop, so
    /// `hyperdhcp conflicts clear` takes effect). The reply says why a reload was refused
    /// (e.g. a new interface's socket could not be opened); the old configuration then stays.
    Reload {
        /// The new configuration.
        config: Arc<Config>,
        /// The conflict records to load with it.
        conflicts: Option<Vec<Conflict>>,
        /// `Ok` once the configuration serves.
        reply: Reply<Result<(), String>>,
    },
    /// Forget the conflict record of an address, so it can be offered again. The reply is
    /// `false` when the address had no record.
    ClearConflict {
        /// The address.
        ip: Ipv4Addr,
        /// Whether a record was cleared.
        reply: Reply<bool>,
    },
}

// === Reply ===

/// The loop's answer to one command: sent once, from the serving thread, without waiting.
pub struct Reply<T>(oneshot::Sender<T>);

/// The caller's end of a [`Reply`].
pub type ReplyReceiver<T> = oneshot::Receiver<T>;

impl<T> Reply<T> {
    /// A reply and the receiver its answer arrives on: `.await` it, or call
    /// `blocking_recv()` from a plain thread.
    pub fn channel() -> (Self, ReplyReceiver<T>) {
        let (tx, rx) = oneshot::channel();
        (Self(tx), rx)
    }

    /// Answers; a caller that stopped waiting is not an error.
    pub fn send(self, value: T) {
        let _ = self.0.send(value);
    }
}

impl<T> fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reply")
    }
}

// === the queue ===

/// Why a command was not queued.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The queue holds its capacity of commands; try again later (HTTP 503).
    #[error("the serving loop's command queue is full")]
    Full(Command),
    /// The serving loop has stopped.
    #[error("the serving loop has stopped")]
    Closed(Command),
}

/// A handle for queueing commands; cheap to clone, usable from any thread.
#[derive(Clone, Debug)]
pub struct CommandSender {
    tx: SyncSender<Command>,
    /// Write end of the wake-up socket (non-blocking).
    wake: Arc<UnixStream>,
}

impl CommandSender {
    /// Queues `command` without waiting and wakes the loop.
    pub fn send(&self, command: Command) -> Result<(), SendError> {
        self.tx.try_send(command).map_err(|e| match e {
            TrySendError::Full(c) => SendError::Full(c),
            TrySendError::Disconnected(c) => SendError::Closed(c),
        })?;
        // A full socket buffer means wake-ups are already pending: nothing is lost.
        let _ = (&*self.wake).write(&[1]);
        Ok(())
    }
}

/// The serving loop's end of the queue.
#[derive(Debug)]
pub struct CommandQueue {
    rx: Receiver<Command>,
    /// Read end of the wake-up socket (non-blocking), polled by the loop.
    wake: UnixStream,
}

impl CommandQueue {
    /// A queue holding at most `capacity` commands, and the sender for it.
    pub fn bounded(capacity: usize) -> io::Result<(CommandSender, CommandQueue)> {
        let (tx, rx) = mpsc::sync_channel(capacity.max(1));
        let (wake_tx, wake_rx) = UnixStream::pair()?;
        wake_tx.set_nonblocking(true)?;
        wake_rx.set_nonblocking(true)?;
        Ok((
            CommandSender {
                tx,
                wake: Arc::new(wake_tx),
            },
            CommandQueue { rx, wake: wake_rx },
        ))
    }

    /// The descriptor that becomes readable when commands arrive.
    pub fn wake_fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    /// Takes up to [`MAX_COMMANDS_PER_TURN`] queued commands into `out` and clears pending
    /// wake-ups; returns true when more may be waiting (the loop should not sleep). Never
    /// blocks.
    pub fn drain(&mut self, out: &mut Vec<Command>) -> bool {
        let mut sink = [0u8; 64];
        while matches!((&self.wake).read(&mut sink), Ok(n) if n > 0) {}
        while out.len() < MAX_COMMANDS_PER_TURN {
            match self.rx.try_recv() {
                Ok(c) => out.push(c),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        out.len() >= MAX_COMMANDS_PER_TURN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clear(ip: [u8; 4]) -> (Command, ReplyReceiver<bool>) {
        let (reply, rx) = Reply::channel();
        (
            Command::ClearConflict {
                ip: Ipv4Addr::from(ip),
                reply,
            },
            rx,
        )
    }

    #[test]
    fn a_full_queue_refuses_at_once_and_hands_the_command_back() {
        let (tx, mut queue) = CommandQueue::bounded(2).expect("queue");
        for n in 1..=2 {
            tx.send(clear([198, 18, 0, n]).0).expect("room");
        }
        match tx.send(clear([198, 18, 0, 3]).0) {
            Err(SendError::Full(Command::ClearConflict { ip, .. })) => {
                assert_eq!(ip, Ipv4Addr::new(198, 18, 0, 3));
            }
            other => panic!("expected Full, got {other:?}"),
        }
        let mut out = Vec::new();
        queue.drain(&mut out);
        assert_eq!(out.len(), 2);
        tx.send(clear([198, 18, 0, 4]).0)
            .expect("room again after a drain");
    }

    #[test]
    fn the_wake_fd_is_readable_after_a_send_and_drained_after() {
        let (tx, mut queue) = CommandQueue::bounded(4).expect("queue");
        let mut buf = [0u8; 8];
        assert!((&queue.wake).read(&mut buf).is_err(), "nothing pending yet");
        let (command, rx) = clear([198, 18, 0, 1]);
        tx.send(command).expect("send");
        let mut out = Vec::new();
        queue.drain(&mut out);
        assert!((&queue.wake).read(&mut buf).is_err(), "wake-ups consumed");
        let Some(Command::ClearConflict { reply, .. }) = out.pop() else {
            panic!("expected the command back");
        };
        reply.send(true);
        assert_eq!(rx.blocking_recv().ok(), Some(true));
    }

    #[test]
    fn a_stopped_loop_is_reported() {
        let (tx, queue) = CommandQueue::bounded(1).expect("queue");
        drop(queue);
        assert!(matches!(
            tx.send(clear([198, 18, 0, 1]).0),
            Err(SendError::Closed(_))
        ));
    }
}
