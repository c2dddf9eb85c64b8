//! A command running in the guest. A drain task reads its output as it comes,
//! whether or not anyone consumes it, so the guest never blocks on a full pipe.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use microsandbox::{ExecControl, ExecEvent, ExecHandle, Sandbox};
use tokio::sync::{Mutex, Notify, watch};

use crate::error::{Error, ErrorCode, Result};

/// Unread output kept per stream. Past it, new output is discarded (and
/// counted) rather than blocking the guest or growing host memory unbounded.
const MAX_UNREAD_BYTES: usize = 64 * 1024 * 1024;

/// Exit code reported for a process we killed (128 + SIGKILL, as shells do).
const KILLED_EXIT_CODE: i32 = 137;

/// One output stream (stdout or stderr) of a process.
pub struct OutputPipe {
    state: std::sync::Mutex<PipeState>,
    readable: Notify,
}

#[derive(Default)]
struct PipeState {
    chunks: VecDeque<Bytes>,
    unread: usize,
    closed: bool,
    cancelled: bool,
    discarded: u64,
}

impl OutputPipe {
    fn new() -> Self {
        Self { state: Default::default(), readable: Notify::new() }
    }

    fn push(&self, data: Bytes) {
        let mut st = self.state.lock().unwrap();
        if st.cancelled {
            return;
        }
        if st.unread + data.len() > MAX_UNREAD_BYTES {
            if st.discarded == 0 {
                tracing::warn!("process output unread beyond {MAX_UNREAD_BYTES} bytes; discarding the rest");
            }
            st.discarded += data.len() as u64;
            return;
        }
        st.unread += data.len();
        st.chunks.push_back(data);
        drop(st);
        self.readable.notify_one();
    }

    fn close(&self) {
        self.state.lock().unwrap().closed = true;
        self.readable.notify_one();
    }

    /// The next chunk, or `None` once the process has exited and all output was read.
    pub async fn read(&self) -> Option<Bytes> {
        loop {
            let notified = self.readable.notified();
            {
                let mut st = self.state.lock().unwrap();
                if let Some(chunk) = st.chunks.pop_front() {
                    st.unread -= chunk.len();
                    return Some(chunk);
                }
                if st.closed || st.cancelled {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Reads everything until the process exits.
    pub async fn read_all(&self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(chunk) = self.read().await {
            out.extend_from_slice(&chunk);
        }
        out
    }

    /// The consumer lost interest: drop what is buffered and discard the rest.
    /// The guest process keeps running and keeps being drained.
    pub fn cancel(&self) {
        let mut st = self.state.lock().unwrap();
        st.cancelled = true;
        st.chunks.clear();
        st.unread = 0;
        drop(st);
        self.readable.notify_one();
    }
}

pub struct Process {
    pid: u32,
    sandbox: Arc<Sandbox>,
    control: ExecControl,
    pub stdout: Arc<OutputPipe>,
    pub stderr: Arc<OutputPipe>,
    exit: watch::Receiver<Option<i32>>,
    killed: AtomicBool,
    kill_lock: Mutex<()>,
}

impl Process {
    /// Waits for the guest to report the process started, then drains it in the background.
    pub(crate) async fn start(sandbox: Arc<Sandbox>, mut handle: ExecHandle) -> Result<Arc<Self>> {
        let pid = loop {
            match handle.recv().await {
                Some(ExecEvent::Started { pid }) => break pid,
                Some(ExecEvent::Failed(failed)) => {
                    return Err(Error::new(ErrorCode::ExecFailed, format!("command could not start: {}", failed.message)));
                }
                Some(_) => continue,
                None => return Err(Error::new(ErrorCode::ExecFailed, "command ended before it started")),
            }
        };
        let (exit_tx, exit) = watch::channel(None);
        let process = Arc::new(Self {
            pid,
            control: handle.control(),
            sandbox,
            stdout: Arc::new(OutputPipe::new()),
            stderr: Arc::new(OutputPipe::new()),
            exit,
            killed: AtomicBool::new(false),
            kill_lock: Mutex::new(()),
        });
        let (stdout, stderr) = (process.stdout.clone(), process.stderr.clone());
        tokio::spawn(async move {
            let mut code = None;
            while let Some(event) = handle.recv().await {
                match event {
                    ExecEvent::Stdout(data) => stdout.push(data),
                    ExecEvent::Stderr(data) => stderr.push(data),
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
            }
            stdout.close();
            stderr.close();
            // A lost agent connection ends the stream without an exit event.
            let _ = exit_tx.send(Some(code.unwrap_or(KILLED_EXIT_CODE)));
        });
        Ok(process)
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
        if self.killed.load(Ordering::SeqCst) && code <= 0 { KILLED_EXIT_CODE } else { code }
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
        // Descendants first (collected while the tree is still linked), then the root.
        let _ = self
            .sandbox
            .exec_with("/bin/sh", |o| o.args(["-c", KILL_TREE_SCRIPT, "kill-tree", &self.pid.to_string()]).stdin_null())
            .await;
        let _ = self.control.kill().await;
        Ok(())
    }
}

/// Stops `$1` and every descendant, then SIGKILLs them all: stopping first
/// keeps children from forking new processes between the walk and the kill.
const KILL_TREE_SCRIPT: &str = r#"
root=$1
kill -STOP "$root" 2>/dev/null
tree=$root
frontier=$root
while [ -n "$frontier" ]; do
  next=""
  for stat in /proc/[0-9]*/stat; do
    line=$(cat "$stat" 2>/dev/null) || continue
    pid=${line%% *}
    rest=${line##*) }
    set -- $rest
    for parent in $frontier; do
      if [ "$2" = "$parent" ]; then next="$next $pid"; fi
    done
  done
  for pid in $next; do kill -STOP "$pid" 2>/dev/null; done
  tree="$tree$next"
  frontier=$next
done
kill -KILL $tree 2>/dev/null
exit 0
"#;
