//! Non-blocking log output: the serving loop hands each formatted line to a writer thread
//! through a bounded queue and never waits on stderr; lines that find the queue full are
//! dropped and counted (reported on stderr once the writer catches up).

use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Lines queued for the writer thread before new ones are dropped. At one line per DHCP
/// decision this absorbs about a second of a saturated server's output.
pub const QUEUE_LINES: usize = 65_536;

/// Longest [`FlushGuard`] waits for the queue to drain at exit.
const FLUSH_WAIT: Duration = Duration::from_secs(2);

/// Name of the writer thread.
const THREAD_NAME: &str = "hyperdhcp-log";

/// What travels to the writer thread.
enum Msg {
    /// One formatted line (or several, as one event formatted them).
    Line(Vec<u8>),
    /// Flush everything queued before this, then acknowledge.
    Flush(mpsc::Sender<()>),
}

/// The `MakeWriter` handed to `tracing_subscriber::fmt`: every event becomes one queued line.
#[derive(Clone)]
pub struct NonBlockingStderr {
    tx: SyncSender<Msg>,
    dropped: Arc<AtomicU64>,
}

/// Flushes the queue to stderr when dropped (end of `serve`), waiting at most two seconds.
pub struct FlushGuard {
    tx: SyncSender<Msg>,
}

impl NonBlockingStderr {
    /// Starts the writer thread over `out` (stderr in production).
    pub fn spawn(out: impl Write + Send + 'static) -> io::Result<(Self, FlushGuard)> {
        let (tx, rx) = mpsc::sync_channel(QUEUE_LINES);
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&dropped);
        std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || write_lines(&rx, out, &counter))?;
        let guard = FlushGuard { tx: tx.clone() };
        Ok((Self { tx, dropped }, guard))
    }

    /// Lines dropped so far because the queue was full.
    #[cfg(test)]
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl<'a> MakeWriter<'a> for NonBlockingStderr {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            sink: self,
            buf: Vec::new(),
        }
    }
}

/// Collects one event's output; queues it when dropped (the formatter writes an event, then
/// drops its writer).
pub struct LineWriter<'a> {
    sink: &'a NonBlockingStderr,
    buf: Vec<u8>,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter<'_> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.buf);
        match self.sink.tx.try_send(Msg::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.sink.dropped.fetch_add(1, Ordering::Relaxed);
            }
            // The writer thread is gone (it only stops when its output fails): write directly.
            Err(TrySendError::Disconnected(Msg::Line(line))) => {
                let _ = io::stderr().write_all(&line);
            }
            Err(TrySendError::Disconnected(Msg::Flush(_))) => {}
        }
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        let (ack_tx, ack_rx) = mpsc::channel();
        // Blocking send: at exit it is fine to wait for room in the queue.
        if self.tx.send(Msg::Flush(ack_tx)).is_ok() {
            let _ = ack_rx.recv_timeout(FLUSH_WAIT);
        }
    }
}

/// The writer thread: writes lines as they come, flushing whenever the queue is empty, and
/// reports dropped lines once it has caught up.
fn write_lines(rx: &Receiver<Msg>, out: impl Write, dropped: &AtomicU64) {
    let mut out = io::BufWriter::new(out);
    let mut reported = 0;
    while let Ok(mut msg) = rx.recv() {
        loop {
            match msg {
                Msg::Line(line) => {
                    if out.write_all(&line).is_err() {
                        return;
                    }
                }
                Msg::Flush(ack) => {
                    let _ = out.flush();
                    let _ = ack.send(());
                }
            }
            match rx.try_recv() {
                Ok(next) => msg = next,
                Err(_) => break,
            }
        }
        let now = dropped.load(Ordering::Relaxed);
        if now != reported {
            let _ = writeln!(
                out,
                "hyperdhcp: {} log lines dropped (log output slower than the server), {now} in total",
                now - reported
            );
            reported = now;
        }
        if out.flush().is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A `Write` into shared memory, for checking what the thread wrote.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_arrive_in_order_and_the_guard_flushes_them() {
        let out = Shared::default();
        let (sink, guard) = NonBlockingStderr::spawn(out.clone()).expect("spawn");
        for i in 0..1000 {
            let mut w = sink.make_writer();
            write!(w, "line {i}").expect("write");
            w.write_all(b"\n").expect("write");
        }
        drop(guard);
        let text = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf8");
        let want: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, want);
        assert_eq!(sink.dropped(), 0);
    }

    #[test]
    fn a_stuck_output_drops_and_counts_instead_of_blocking() {
        /// Blocks every write until the test releases it.
        struct Stuck(Arc<Mutex<()>>);
        impl Write for Stuck {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                drop(self.0.lock().unwrap_or_else(|e| e.into_inner()));
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().expect("lock");
        let (sink, guard) = NonBlockingStderr::spawn(Stuck(Arc::clone(&gate))).expect("spawn");
        let n = QUEUE_LINES + 1000;
        for _ in 0..n {
            // BufWriter holds 8 KiB: lines must be long enough to reach the stuck write.
            let mut w = sink.make_writer();
            w.write_all(&[b'x'; 100]).expect("write");
        }
        // The loop above returned although nothing could be written: at least the overflow
        // beyond the queue (and whatever the thread holds) was dropped and counted.
        let dropped = sink.dropped();
        assert!(dropped >= 1000 - 100, "dropped {dropped}");
        assert!(dropped < n as u64);
        drop(held);
        drop(guard);
    }
}
