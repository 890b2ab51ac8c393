//! Non-blocking log output: formatted lines are appended to a shared in-memory buffer (a
//! memcpy under an uncontended lock, no syscall, no wake-up) and a writer thread hands the
//! whole buffer to stderr every [`FLUSH_INTERVAL`]. The serving loop never waits on stderr;
//! when stderr falls behind by more than [`MAX_BUFFERED`] bytes, new lines are dropped and
//! counted, and the count is reported on stderr.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// Bytes buffered before new lines are dropped: about 60,000 decision lines, a few seconds of
/// a saturated server's output.
pub const MAX_BUFFERED: usize = 16 << 20;

/// How often the writer thread writes the buffer out. Waking the writer per line instead costs
/// a context switch per line when server and writer share a core.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(20);

/// Name of the writer thread.
const THREAD_NAME: &str = "hyperdhcp-log";

/// State shared by the loggers and the writer thread.
#[derive(Default)]
struct Shared {
    buf: Mutex<Vec<u8>>,
    dropped: AtomicU64,
    stop: AtomicBool,
}

/// The `MakeWriter` handed to `tracing_subscriber::fmt` (which formats each event into its own
/// buffer and writes it with one `write_all`, so events never interleave).
#[derive(Clone)]
pub struct NonBlockingStderr {
    shared: Arc<Shared>,
}

/// Stops the writer thread and writes out everything buffered when dropped (end of `serve`).
pub struct FlushGuard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl NonBlockingStderr {
    /// Starts the writer thread over `out` (stderr in production).
    pub fn spawn(out: impl Write + Send + 'static) -> io::Result<(Self, FlushGuard)> {
        let shared = Arc::new(Shared::default());
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name(THREAD_NAME.into())
            .spawn(move || write_out(&for_thread, out))?;
        let guard = FlushGuard {
            shared: Arc::clone(&shared),
            thread: Some(thread),
        };
        Ok((Self { shared }, guard))
    }

    /// Lines dropped so far because too much was buffered.
    #[cfg(test)]
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl<'a> MakeWriter<'a> for NonBlockingStderr {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
        }
    }
}

/// Appends what is written to the shared buffer.
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let mut buf = self.shared.buf.lock().unwrap_or_else(|e| e.into_inner());
        if buf.len() + bytes.len() > MAX_BUFFERED {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            buf.extend_from_slice(bytes);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for FlushGuard {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// The writer thread: every [`FLUSH_INTERVAL`] (or when told to stop) swaps the buffer out
/// and writes it; reports dropped lines after the lines that made it.
fn write_out(shared: &Shared, mut out: impl Write) {
    let mut spare = Vec::new();
    let mut reported = 0;
    loop {
        let stopping = shared.stop.load(Ordering::Relaxed);
        {
            let mut buf = shared.buf.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::swap(&mut *buf, &mut spare);
        }
        if !spare.is_empty() {
            // A failed write (stderr closed) loses these lines; keep serving regardless.
            let _ = out.write_all(&spare);
            spare.clear();
        }
        let dropped = shared.dropped.load(Ordering::Relaxed);
        if dropped != reported {
            let _ = writeln!(
                out,
                "hyperdhcp: {} log lines dropped (log output slower than the server), {dropped} in total",
                dropped - reported
            );
            reported = dropped;
        }
        let _ = out.flush();
        if stopping {
            return;
        }
        std::thread::park_timeout(FLUSH_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `Write` into shared memory, for checking what the thread wrote.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
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
        let out = Captured::default();
        let (sink, guard) = NonBlockingStderr::spawn(out.clone()).expect("spawn");
        for i in 0..1000 {
            sink.make_writer()
                .write_all(format!("line {i}\n").as_bytes())
                .expect("write");
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
        let line = [b'x'; 1024];
        let n = MAX_BUFFERED / line.len() * 3;
        for _ in 0..n {
            sink.make_writer().write_all(&line).expect("write");
        }
        // The loop returned although the output is stuck: at most two buffers' worth (one held
        // by the stuck writer, one filling) got through, the rest was dropped and counted.
        let dropped = sink.dropped();
        let cap = (MAX_BUFFERED / line.len()) as u64;
        assert!(dropped >= n as u64 - 2 * cap, "dropped {dropped} of {n}");
        assert!(dropped <= n as u64 - cap, "dropped {dropped} of {n}");
        drop(held);
        drop(guard);
    }
}
