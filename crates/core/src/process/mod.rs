//! A command running in the guest. A drain task reads its output as it comes,
//! whether or not anyone consumes it, so the guest never blocks on a full pipe.

mod capped;
mod detached;
mod pipe;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use microsandbox::{ExecControl, ExecEvent, ExecHandle, Sandbox};
use tokio::sync::{Mutex, watch};

pub use capped::RUN_OUTPUT_LIMIT;
pub use pipe::{OutputPipe, SESSION_UNREAD_BYTES, UnreadBudget};

use crate::error::{Error, Result};

/// How a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// A plain exec (`run()`): the fastest; it ends if this host process exits.
    Exec,
    /// In its own guest session (`spawn()`): it outlives this host process (an
    /// agent bridge must survive a detach); its output goes to guest files that
    /// a second exec streams back.
    Detached,
}

/// Exit code reported for a process we killed (128 + SIGKILL, as shells do).
const KILLED_EXIT_CODE: i32 = 137;

pub struct Collected {
    pub exit_code: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

pub struct Process {
    pid: u32,
    sandbox: Arc<Sandbox>,
    kill_target: KillTarget,
    pub stdout: Arc<OutputPipe>,
    pub stderr: Arc<OutputPipe>,
    exit: watch::Receiver<Option<i32>>,
    killed: AtomicBool,
    kill_lock: Mutex<()>,
}

enum KillTarget {
    /// The exec's own process group, through its control channel.
    Exec(ExecControl),
    /// A detached process: its session is killed from a second exec.
    Detached,
}

impl Process {
    /// Starts `command` with `shell -c` in `cwd`: the one entry behind `run()` and `spawn()`.
    /// It runs as the microVM's default user (the `user` setting), or as `as_user` for an exec
    /// of the lifecycle's own (the pre-commands run as root).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn start(
        sandbox: Arc<Sandbox>,
        launch: Launch,
        shell: &str,
        command: &str,
        cwd: String,
        env: BTreeMap<String, String>,
        budget: Arc<UnreadBudget>,
        as_user: Option<&str>,
    ) -> Result<Arc<Self>> {
        match launch {
            // Fastest, but it dies with this host process (the agent kills an exec whose client
            // disconnects).
            Launch::Exec => {
                let mut handle = sandbox
                    .exec_stream_with(shell, |o| {
                        let o = o.args(["-c", command]).cwd(cwd).envs(env).stdin_bytes(Vec::new());
                        match as_user {
                            Some(user) => o.user(user),
                            None => o,
                        }
                    })
                    .await
                    .map_err(Error::from)?;
                let pid = detached::first_pid(&mut handle).await?;
                let control = handle.control();
                Ok(Self::drain(sandbox, pid, KillTarget::Exec(control), handle, None, 0, budget))
            }
            Launch::Detached => {
                let (pid, dir) = detached::launch(&sandbox, shell, command, cwd, env).await?;
                let mut attempts = 0;
                let handle = detached::stream(&sandbox, &dir, pid, [0, 0], &mut attempts).await?;
                Ok(Self::drain(sandbox, pid, KillTarget::Detached, handle, Some(dir), attempts, budget))
            }
        }
    }

    /// Drains the exec in the background; its exit ends both pipes. For a
    /// detached process the exit status comes from the guest file.
    fn drain(
        sandbox: Arc<Sandbox>,
        pid: u32,
        kill_target: KillTarget,
        mut handle: ExecHandle,
        detached_dir: Option<String>,
        mut stream_attempts: u32,
        budget: Arc<UnreadBudget>,
    ) -> Arc<Self> {
        let (exit_tx, exit) = watch::channel(None);
        let process = Arc::new(Self {
            pid,
            sandbox: sandbox.clone(),
            kill_target,
            stdout: Arc::new(OutputPipe::new(budget.clone())),
            stderr: Arc::new(OutputPipe::new(budget)),
            exit,
            killed: AtomicBool::new(false),
            kill_lock: Mutex::new(()),
        });
        let (stdout, stderr) = (process.stdout.clone(), process.stderr.clone());
        tokio::spawn(async move {
            let mut code = None;
            // Bytes received per stream, to resume a detached process's output where it left off.
            let mut received = [0u64; 2];
            let mut trimmed = [0u64; 2];
            let mut streamed_from = received;
            loop {
                while let Some(event) = handle.recv().await {
                    match event {
                        ExecEvent::Stdout(data) => {
                            received[0] += data.len() as u64;
                            stdout.push(data)
                        }
                        ExecEvent::Stderr(data) => {
                            received[1] += data.len() as u64;
                            stderr.push(data)
                        }
                        ExecEvent::Exited { code: c } => {
                            code = Some(c);
                            break;
                        }
                        ExecEvent::Failed(failed) => {
                            stderr.push(Bytes::from(format!("{}\n", failed.message)));
                            code = Some(127);
                            break;
                        }
                        ExecEvent::Started { .. } | ExecEvent::StdinError(_) => {}
                    }
                    if let Some(dir) = &detached_dir {
                        detached::trim_read_output(&sandbox, dir, received, &mut trimmed);
                    }
                }
                // The streamer of a detached process exits 0 once the process is gone. Anything
                // else means the stream was cut (the relay drops a client that stalls for 5 s,
                // which happens under heavy host load) while the process may still be running:
                // stream again from where it stopped.
                let Some(dir) = &detached_dir else { break };
                if code == Some(0) {
                    break;
                }
                tracing::warn!(pid, "output stream of a detached process was cut; resuming it");
                // The budget bounds failures in a row: a long flood may be cut many times, and
                // each cut after progress is a new stall, not a sign the guest is gone.
                if received != streamed_from {
                    stream_attempts = 0;
                }
                streamed_from = received;
                match detached::stream(&sandbox, dir, pid, received, &mut stream_attempts).await {
                    Ok(next) => {
                        handle = next;
                        code = None;
                    }
                    Err(_) => break,
                }
            }
            if let Some(dir) = detached_dir {
                // No status file means the process was killed before it could write one.
                let status = sandbox.fs().read(&format!("{dir}/exit")).await.ok();
                code = status.and_then(|b| String::from_utf8_lossy(&b).trim().parse().ok());
                let _ = sandbox.fs().remove_dir(&dir).await;
            }
            stdout.close();
            stderr.close();
            // -1 is how the agent reports death by signal; a lost connection reports nothing.
            let code = match code {
                Some(c) if c >= 0 => c,
                _ => KILLED_EXIT_CODE,
            };
            let _ = exit_tx.send(Some(code));
        });
        process
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The exit code, once the process has exited and all its output was drained.
    pub async fn wait(&self) -> i32 {
        let mut exit = self.exit.clone();
        let code = match exit.wait_for(Option::is_some).await {
            Ok(code) => code.unwrap_or(KILLED_EXIT_CODE),
            Err(_) => KILLED_EXIT_CODE,
        };
        // A killed process never reports success.
        if self.killed.load(Ordering::SeqCst) && code == 0 { KILLED_EXIT_CODE } else { code }
    }

    /// Waits for exit and returns the exit code with both streams, each capped
    /// at [`RUN_OUTPUT_LIMIT`].
    pub async fn collect(&self) -> Collected {
        let (stdout, stderr) =
            tokio::join!(self.stdout.read_capped(RUN_OUTPUT_LIMIT), self.stderr.read_capped(RUN_OUTPUT_LIMIT));
        Collected { exit_code: self.wait().await, stdout, stderr }
    }

    fn exited(&self) -> bool {
        self.exit.borrow().is_some()
    }

    /// Kills the process and everything it started (`bash -c` → node → ...).
    /// Idempotent, and a no-op once the process has exited.
    pub async fn kill(&self) -> Result<()> {
        let _once = self.kill_lock.lock().await;
        if self.exited() || self.killed.load(Ordering::SeqCst) {
            return Ok(());
        }
        self.killed.store(true, Ordering::SeqCst);
        // Descendants that left the process group are found by parentage, then all are killed.
        let _ = self
            .sandbox
            .exec_with("/bin/sh", |o| {
                o.args(["-c", KILL_TREE_SCRIPT, "kill-tree", &self.pid.to_string()]).stdin_bytes(Vec::new())
            })
            .await;
        if let KillTarget::Exec(control) = &self.kill_target {
            let _ = control.kill().await;
        }
        Ok(())
    }
}

/// Freezes `$1`'s process group, walks `/proc` for descendants that left it
/// (freezing them too, so nothing forks between the walk and the kill), then
/// SIGKILLs them all. Uses only shell builtins in the walk: forks are slow
/// in a microVM.
const KILL_TREE_SCRIPT: &str = include_str!("../sh/kill-tree.sh");
