//! A command running in the guest. A drain task reads its output as it comes,
//! whether or not anyone consumes it, so the guest never blocks on a full pipe.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use microsandbox::{ExecControl, ExecEvent, ExecHandle, Sandbox};
use tokio::sync::{Mutex, Notify, watch};

use crate::error::{Error, ErrorCode, Result};

/// Unread output kept per stream. Past it, new output is discarded (and
/// counted) rather than blocking the guest or growing host memory unbounded.
const MAX_UNREAD_BYTES: usize = 64 * 1024 * 1024;

/// Unread output kept for all spawned processes of one session together: a
/// guest that spawns many chatty processes nobody reads costs the host this much.
pub const SESSION_UNREAD_BYTES: usize = 128 * 1024 * 1024;

/// Unread output bytes held for one session's processes, against a limit.
pub struct UnreadBudget {
    used: std::sync::atomic::AtomicUsize,
    limit: usize,
}

impl UnreadBudget {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self { used: Default::default(), limit })
    }

    /// Takes `n` bytes if they fit.
    fn take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| used.checked_add(n).filter(|&u| u <= self.limit))
            .is_ok()
    }

    fn give_back(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// Output that `run()` keeps per stream: the first and the last half of it,
/// with a marker line where the middle was cut. A guest that prints forever
/// costs the host this much, not more.
pub const RUN_OUTPUT_LIMIT: usize = 8 * 1024 * 1024;

/// Exit code reported for a process we killed (128 + SIGKILL, as shells do).
const KILLED_EXIT_CODE: i32 = 137;

/// One output stream (stdout or stderr) of a process.
pub struct OutputPipe {
    state: std::sync::Mutex<PipeState>,
    readable: Notify,
    budget: Arc<UnreadBudget>,
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
    fn new(budget: Arc<UnreadBudget>) -> Self {
        Self { state: Default::default(), readable: Notify::new(), budget }
    }

    fn push(&self, data: Bytes) {
        let mut st = self.state.lock().unwrap();
        if st.cancelled {
            return;
        }
        if st.unread + data.len() > MAX_UNREAD_BYTES || !self.budget.take(data.len()) {
            if st.discarded == 0 {
                tracing::warn!("process output unread beyond the stream's or the session's bound; discarding the rest");
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
                    self.budget.give_back(chunk.len());
                    return Some(chunk);
                }
                if st.closed || st.cancelled {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// Reads until the process exits, keeping at most `limit` bytes (head and tail).
    pub async fn read_capped(&self, limit: usize) -> Vec<u8> {
        let mut out = CappedOutput::new(limit);
        while let Some(chunk) = self.read().await {
            out.push(chunk);
        }
        out.finish()
    }

    /// The consumer lost interest: drop what is buffered and discard the rest.
    /// The guest process keeps running and keeps being drained.
    pub fn cancel(&self) {
        let mut st = self.state.lock().unwrap();
        st.cancelled = true;
        st.chunks.clear();
        self.budget.give_back(st.unread);
        st.unread = 0;
        drop(st);
        self.readable.notify_one();
    }
}

/// Output nobody will read any more stops counting against the session.
impl Drop for OutputPipe {
    fn drop(&mut self) {
        let unread = self.state.get_mut().map(|st| st.unread).unwrap_or(0);
        self.budget.give_back(unread);
    }
}

/// The head and the tail of a stream, up to a limit; what lies between is
/// counted and replaced by one marker line.
struct CappedOutput {
    half: usize,
    head: Vec<u8>,
    tail: VecDeque<Bytes>,
    tail_len: usize,
    omitted: u64,
}

impl CappedOutput {
    fn new(limit: usize) -> Self {
        Self { half: limit / 2, head: Vec::new(), tail: VecDeque::new(), tail_len: 0, omitted: 0 }
    }

    fn push(&mut self, mut data: Bytes) {
        let room = self.half - self.head.len();
        if room > 0 {
            let n = room.min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = data.slice(n..);
        }
        if data.is_empty() {
            return;
        }
        self.tail_len += data.len();
        self.tail.push_back(data);
        while self.tail_len > self.half {
            let excess = self.tail_len - self.half;
            let front = self.tail.front_mut().expect("tail holds the excess");
            let cut = excess.min(front.len());
            *front = front.slice(cut..);
            if front.is_empty() {
                self.tail.pop_front();
            }
            self.tail_len -= cut;
            self.omitted += cut as u64;
        }
    }

    fn finish(self) -> Vec<u8> {
        let mut out = self.head;
        if self.omitted > 0 {
            out.extend_from_slice(
                format!("\n[ai-sdk-microsandbox: {} bytes of output omitted]\n", self.omitted).as_bytes(),
            );
        }
        for chunk in self.tail {
            out.extend_from_slice(&chunk);
        }
        out
    }
}

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

/// Where detached processes keep their output and exit status in the guest.
const RUN_DIR: &str = "/tmp/.ai-sdk-microsandbox/proc";

impl Process {
    /// Runs a command as a plain exec: fastest, but it dies with this host
    /// process (the agent kills an exec whose client disconnects).
    pub(crate) async fn exec(
        sandbox: Arc<Sandbox>,
        shell: &str,
        command: &str,
        cwd: String,
        env: BTreeMap<String, String>,
        budget: Arc<UnreadBudget>,
    ) -> Result<Arc<Self>> {
        let mut handle = sandbox
            .exec_stream_with(shell, |o| o.args(["-c", command]).cwd(cwd).envs(env).stdin_bytes(Vec::new()))
            .await
            .map_err(Error::from)?;
        let pid = first_pid(&mut handle).await?;
        let control = handle.control();
        Ok(Self::drain(sandbox, pid, KillTarget::Exec(control), handle, None, 0, budget))
    }

    /// Starts a command in its own guest session, detached from any exec, so
    /// it outlives this host process (an agent bridge must survive a detach).
    /// Its output goes to guest files that a second exec streams back.
    pub(crate) async fn spawn_detached(
        sandbox: Arc<Sandbox>,
        shell: &str,
        command: &str,
        cwd: String,
        env: BTreeMap<String, String>,
        budget: Arc<UnreadBudget>,
    ) -> Result<Arc<Self>> {
        let dir = format!("{RUN_DIR}/{}", crate::naming::anonymous_name());
        let launch = sandbox
            .exec_with("/bin/sh", |o| {
                o.args(["-c", LAUNCH_SCRIPT, "launch", &dir, shell, command]).cwd(cwd).envs(env).stdin_bytes(Vec::new())
            })
            .await
            .map_err(Error::from)?;
        let pid: u32 = launch.stdout().unwrap_or_default().trim().parse().map_err(|_| {
            Error::new(
                ErrorCode::ExecFailed,
                format!("command could not start: {}", String::from_utf8_lossy(launch.stderr_bytes()).trim()),
            )
        })?;
        let mut attempts = 0;
        let handle = stream_detached(&sandbox, &dir, pid, [0, 0], &mut attempts).await?;
        Ok(Self::drain(sandbox, pid, KillTarget::Detached, handle, Some(dir), attempts, budget))
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
                        trim_read_output(&sandbox, dir, received, &mut trimmed);
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
                match stream_detached(&sandbox, dir, pid, received, &mut stream_attempts).await {
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

/// How many times in a row the output stream of one detached process may be
/// started without delivering anything.
const MAX_STREAM_ATTEMPTS: u32 = 11;

/// Streams a detached process's output files from the given byte offsets
/// (stdout, stderr) until its wrapper exits. The process already runs, so a
/// stream that fails to start is retried with backoff, counting in `attempts`
/// the tries since output last arrived.
async fn stream_detached(
    sandbox: &Sandbox,
    dir: &str,
    pid: u32,
    from: [u64; 2],
    attempts: &mut u32,
) -> Result<ExecHandle> {
    let (pid, out, err) = (pid.to_string(), (from[0] + 1).to_string(), (from[1] + 1).to_string());
    loop {
        if *attempts > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(*attempts))).await;
        }
        *attempts += 1;
        let started = async {
            let mut handle = sandbox
                .exec_stream_with("/bin/sh", |o| {
                    o.args(["-c", STREAM_SCRIPT, "stream", dir, &pid, &out, &err]).stdin_bytes(Vec::new())
                })
                .await
                .map_err(Error::from)?;
            first_pid(&mut handle).await?;
            Ok(handle)
        };
        match started.await {
            Ok(handle) => return Ok(handle),
            Err(err) if *attempts >= MAX_STREAM_ATTEMPTS => return Err(err),
            Err(_) => {}
        }
    }
}

/// How much received output of a detached process may pile up in its guest
/// files before the space is given back.
const TRIM_EVERY_BYTES: u64 = 16 * 1024 * 1024;

/// Frees the guest disk space of output the host already has, by punching a
/// hole over it: offsets stay valid, so a resumed stream still starts where it
/// stopped, and a chatty long-lived process never fills the guest's /tmp.
/// Best effort: an image without `fallocate` keeps the files whole.
fn trim_read_output(sandbox: &Arc<Sandbox>, dir: &str, received: [u64; 2], trimmed: &mut [u64; 2]) {
    for (i, file) in ["stdout", "stderr"].into_iter().enumerate() {
        let upto = received[i] / 4096 * 4096;
        if upto < trimmed[i] + TRIM_EVERY_BYTES {
            continue;
        }
        trimmed[i] = upto;
        let (sandbox, path) = (sandbox.clone(), format!("{dir}/{file}"));
        tokio::spawn(async move {
            let _ = sandbox
                .exec_with("fallocate", |o| {
                    o.args(["-p", "-o", "0", "-l", &upto.to_string(), &path]).stdin_bytes(Vec::new())
                })
                .await;
        });
    }
}

async fn first_pid(handle: &mut ExecHandle) -> Result<u32> {
    loop {
        match handle.recv().await {
            Some(ExecEvent::Started { pid }) => return Ok(pid),
            Some(ExecEvent::Failed(failed)) => {
                return Err(Error::new(ErrorCode::ExecFailed, format!("command could not start: {}", failed.message)));
            }
            Some(_) => continue,
            None => return Err(Error::new(ErrorCode::ExecFailed, "command ended before it started")),
        }
    }
}

/// `$1` run dir, `$2` shell, `$3` command. Starts the command under a wrapper
/// in a new session (setsid does not fork here: a background job is not a
/// group leader, so `$!` is the wrapper, whose pid is also its group id). The
/// wrapper records the exit status atomically once the command ends.
const LAUNCH_SCRIPT: &str = include_str!("sh/launch.sh");

/// `$1` run dir, `$2` wrapper pid, `$3`/`$4` the 1-based byte to start stdout/stderr
/// from. Streams the output files until the wrapper is gone. GNU tail's `--pid`
/// prints what is left and exits when it dies; busybox tail polls once a
/// second, so it gets that long to catch up.
const STREAM_SCRIPT: &str = include_str!("sh/stream.sh");

/// Freezes `$1`'s process group, walks `/proc` for descendants that left it
/// (freezing them too, so nothing forks between the walk and the kill), then
/// SIGKILLs them all. Uses only shell builtins in the walk: forks are slow
/// in a microVM.
const KILL_TREE_SCRIPT: &str = include_str!("sh/kill-tree.sh");

#[cfg(test)]
mod tests {
    use super::*;

    fn capped(limit: usize, chunks: &[&[u8]]) -> String {
        let mut out = CappedOutput::new(limit);
        for chunk in chunks {
            out.push(Bytes::copy_from_slice(chunk));
        }
        String::from_utf8(out.finish()).unwrap()
    }

    #[test]
    fn output_within_the_limit_is_kept_whole() {
        assert_eq!(capped(8, &[b"ab", b"cd", b"efgh"]), "abcdefgh");
        assert_eq!(capped(8, &[]), "");
    }

    #[test]
    fn output_beyond_the_limit_keeps_head_and_tail_and_says_what_was_cut() {
        assert_eq!(
            capped(8, &[b"abc", b"defghij", b"kl", b"mnop"]),
            "abcd\n[ai-sdk-microsandbox: 8 bytes of output omitted]\nmnop"
        );
        let flood: Vec<&[u8]> = std::iter::repeat_n(&b"0123456789"[..], 1000).collect();
        let ten = "0123456789".repeat(5);
        assert_eq!(capped(100, &flood), format!("{ten}\n[ai-sdk-microsandbox: 9900 bytes of output omitted]\n{ten}"));
    }

    #[test]
    fn unread_output_is_capped_per_session_across_processes() {
        let budget = UnreadBudget::new(SESSION_UNREAD_BYTES);
        let chunk = Bytes::from(vec![0u8; 1024 * 1024]);
        // Three processes of one session, each flooding both streams, nobody reading.
        let pipes: Vec<OutputPipe> = (0..6).map(|_| OutputPipe::new(budget.clone())).collect();
        for _ in 0..(MAX_UNREAD_BYTES / chunk.len()) {
            for pipe in &pipes {
                pipe.push(chunk.clone());
            }
        }
        let held: usize = pipes.iter().map(|p| p.state.lock().unwrap().unread).sum();
        assert_eq!(held, SESSION_UNREAD_BYTES);
        // Cancelling or dropping a pipe gives its share back to the others.
        pipes[0].cancel();
        let mut pipes = pipes.into_iter().skip(1);
        drop(pipes.next());
        let last = pipes.next_back().unwrap();
        let before = last.state.lock().unwrap().unread;
        for _ in 0..4 {
            last.push(chunk.clone());
        }
        assert_eq!(last.state.lock().unwrap().unread, before + 4 * chunk.len());
    }

    #[test]
    fn unread_output_is_bounded_and_counted() {
        let pipe = OutputPipe::new(UnreadBudget::new(usize::MAX));
        let chunk = Bytes::from(vec![0u8; 1024 * 1024]);
        for _ in 0..(MAX_UNREAD_BYTES / chunk.len() + 3) {
            pipe.push(chunk.clone());
        }
        let st = pipe.state.lock().unwrap();
        assert_eq!(st.unread, MAX_UNREAD_BYTES);
        assert_eq!(st.discarded, 3 * 1024 * 1024);
    }
}
