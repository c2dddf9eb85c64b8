//! Processes detached from any exec: launched in their own guest session,
//! their output kept in guest files and streamed back (again, after a cut).

use std::collections::BTreeMap;
use std::sync::Arc;

use microsandbox::{ExecEvent, ExecHandle, Sandbox};

use crate::error::{Error, ErrorCode, Result};

/// Where detached processes keep their output and exit status in the guest.
const RUN_DIR: &str = "/tmp/.ai-sdk-microsandbox/proc";

/// Starts `command` under the launch wrapper; returns the wrapper's pid and its run dir.
pub(super) async fn launch(
    sandbox: &Sandbox,
    shell: &str,
    command: &str,
    cwd: String,
    env: BTreeMap<String, String>,
) -> Result<(u32, String)> {
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
    Ok((pid, dir))
}

/// How many times in a row the output stream of one detached process may be
/// started without delivering anything.
const MAX_STREAM_ATTEMPTS: u32 = 11;

/// Streams a detached process's output files from the given byte offsets
/// (stdout, stderr) until its wrapper exits. The process already runs, so a
/// stream that fails to start is retried with backoff, counting in `attempts`
/// the tries since output last arrived.
pub(super) async fn stream(
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
pub(super) fn trim_read_output(sandbox: &Arc<Sandbox>, dir: &str, received: [u64; 2], trimmed: &mut [u64; 2]) {
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

pub(super) async fn first_pid(handle: &mut ExecHandle) -> Result<u32> {
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
const LAUNCH_SCRIPT: &str = include_str!("../sh/launch.sh");

/// `$1` run dir, `$2` wrapper pid, `$3`/`$4` the 1-based byte to start stdout/stderr
/// from. Streams the output files until the wrapper is gone. GNU tail's `--pid`
/// prints what is left and exits when it dies; busybox tail polls once a
/// second, so it gets that long to catch up.
const STREAM_SCRIPT: &str = include_str!("../sh/stream.sh");
