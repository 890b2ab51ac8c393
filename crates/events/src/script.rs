//! Script hooks: one process per event, in its own process group, with the lease in
//! `HYPERDHCP_*` variables and the event JSON on stdin; stderr goes to the log; at the timeout
//! the whole group is killed.

use std::process::Stdio;
use std::time::Duration;

use hyperdhcp_config::ScriptHookConfig;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::event::Event;

/// PATH given to scripts (the server's own environment is not passed on).
pub const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// Most stderr lines of one run copied into the log.
pub const MAX_STDERR_LINES: usize = 32;
/// Longest stderr line copied into the log, bytes.
pub const MAX_STDERR_LINE: usize = 512;

/// Why a script run failed.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The program could not be started.
    #[error("cannot start {command}: {source}")]
    Spawn {
        /// The program.
        command: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Waiting for it failed.
    #[error("waiting for {command} failed: {source}")]
    Wait {
        /// The program.
        command: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// It exited unsuccessfully.
    #[error("{command} exited with {status}")]
    Exit {
        /// The program.
        command: String,
        /// Exit status.
        status: std::process::ExitStatus,
    },
    /// It ran past its timeout and was killed with its process group.
    #[error("{command} timed out after {seconds}s and was killed")]
    Timeout {
        /// The program.
        command: String,
        /// The timeout.
        seconds: u64,
    },
}

/// Runs `hook` for `event` and waits for it (at most its timeout).
pub async fn run_script(hook: &ScriptHookConfig, event: &Event) -> Result<(), ScriptError> {
    let command = hook.command.display().to_string();
    let mut child = Command::new(&hook.command)
        .args(&hook.args)
        .env_clear()
        .env("PATH", SCRIPT_PATH)
        .envs(event.env_vars())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Own process group, so the timeout can kill whatever the script started too.
        .process_group(0)
        .spawn()
        .map_err(|source| ScriptError::Spawn {
            command: command.clone(),
            source,
        })?;
    let pid = child.id();
    let stdin = child.stdin.take();
    let stderr = child.stderr.take();
    let body = serde_json::to_vec(&event.to_json()).unwrap_or_default();
    let write = async move {
        if let Some(mut stdin) = stdin {
            // A script that ignores stdin may close it early: EPIPE is not an error here.
            let _ = stdin.write_all(&body).await;
            let _ = stdin.write_all(b"\n").await;
        }
    };
    let log = log_stderr(stderr, &command, event);
    let run = async {
        let ((), (), status) = tokio::join!(write, log, child.wait());
        status
    };
    match tokio::time::timeout(Duration::from_secs(hook.timeout), run).await {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(ScriptError::Exit { command, status }),
        Ok(Err(source)) => Err(ScriptError::Wait { command, source }),
        Err(_) => {
            kill_group(pid);
            let _ = child.kill().await;
            Err(ScriptError::Timeout {
                command,
                seconds: hook.timeout,
            })
        }
    }
}

/// SIGKILL to the process group led by `pid` (the script and anything it started).
fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid
        .and_then(|p| i32::try_from(p).ok())
        .and_then(rustix::process::Pid::from_raw)
    else {
        return;
    };
    if let Err(e) = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL) {
        tracing::debug!(pid = pid.as_raw_nonzero().get(), error = %e, "killing the hook's process group failed");
    }
}

/// Copies the script's stderr into the log, one line per record, capped.
async fn log_stderr(stderr: Option<tokio::process::ChildStderr>, command: &str, event: &Event) {
    let Some(stderr) = stderr else {
        return;
    };
    let mut lines = BufReader::new(stderr).split(b'\n');
    let mut n = 0;
    while let Ok(Some(line)) = lines.next_segment().await {
        n += 1;
        if n <= MAX_STDERR_LINES {
            let shown = String::from_utf8_lossy(&line[..line.len().min(MAX_STDERR_LINE)]);
            tracing::info!(hook = command, event = event.kind.as_str(), ip = %event.ip, "script stderr: {}", shown.trim_end());
        }
    }
    if n > MAX_STDERR_LINES {
        tracing::info!(
            hook = command,
            "script stderr: {} more lines not logged",
            n - MAX_STDERR_LINES
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::sample;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Instant;

    fn script(dir: &std::path::Path, body: &str, timeout: u64) -> ScriptHookConfig {
        let path = dir.join("hook.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        ScriptHookConfig {
            command: path,
            args: vec![dir.display().to_string()],
            events: vec!["*".into()],
            timeout,
        }
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn script_gets_env_and_stdin() {
        let dir = tempfile::tempdir().expect("tmp");
        let hook = script(
            dir.path(),
            r#"env | grep ^HYPERDHCP_ > "$1/env"; cat > "$1/stdin"; echo to-stderr >&2"#,
            5,
        );
        rt().block_on(run_script(&hook, &sample())).expect("ok");
        let env = std::fs::read_to_string(dir.path().join("env")).expect("env");
        assert!(env.contains("HYPERDHCP_IP=198.18.1.10"), "{env}");
        assert!(env.contains("HYPERDHCP_EVENT=lease.ack"), "{env}");
        let stdin = std::fs::read_to_string(dir.path().join("stdin")).expect("stdin");
        let v: serde_json::Value = serde_json::from_str(&stdin).expect("json");
        assert_eq!(v["mac"], "02:00:00:00:00:aa");
    }

    #[test]
    fn failing_script_is_an_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let hook = script(dir.path(), "exit 3", 5);
        let e = rt()
            .block_on(run_script(&hook, &sample()))
            .expect_err("fails");
        assert!(matches!(e, ScriptError::Exit { .. }), "{e}");
    }

    #[test]
    fn hanging_script_and_its_children_are_killed() {
        let dir = tempfile::tempdir().expect("tmp");
        // The child `sleep` keeps stderr open: only killing the group ends the run.
        let hook = script(dir.path(), r#"sleep 300 & echo $! > "$1/child"; wait"#, 1);
        let t0 = Instant::now();
        let e = rt()
            .block_on(run_script(&hook, &sample()))
            .expect_err("times out");
        assert!(matches!(e, ScriptError::Timeout { .. }), "{e}");
        assert!(t0.elapsed() < Duration::from_secs(10));
        let child = std::fs::read_to_string(dir.path().join("child")).expect("child pid");
        let proc_dir = format!("/proc/{}", child.trim());
        let deadline = Instant::now() + Duration::from_secs(5);
        // Killed (a zombie until reaped by init counts as gone: its state is Z).
        while std::fs::read_to_string(format!("{proc_dir}/stat")).is_ok_and(|s| !s.contains(") Z"))
        {
            assert!(Instant::now() < deadline, "child {child} still running");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
