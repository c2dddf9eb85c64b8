//! Baselines for `bench/bench.mjs`: each operation the benchmark times on a
//! session, done through the raw microsandbox SDK instead, on the same microVM
//! or snapshot. Prints one JSON object of milliseconds. Every mode ends with a
//! first exec of `true`, as the benchmark's side ends with its first `run`.
//!
//! Usage: `raw_sdk_bench serve` reads one request per line on stdin and answers each with one
//! line, so the benchmark's baseline runs in one warm process as ours does; a failed request
//! answers `{"error": "..."}`. A request is a mode and its arguments (or one of them as a
//! command line, for a single measurement):
//!   raw_sdk_bench warm                                   the SDK's first call (a listing), untimed
//!   raw_sdk_bench ops <sandbox> <iterations> <file MiB>   exec round trips and a file write + read
//!   raw_sdk_bench create <image> <memory MiB>           cold create of a new sandbox (then removed)
//!   raw_sdk_bench fork <template key>                   forked restore of a template's snapshot (then removed)
//!   raw_sdk_bench forks <template key> <count>          that many at once, the wall clock of all (then removed)
//!   raw_sdk_bench start <sandbox>                       start of a stopped sandbox (left running)
//!   raw_sdk_bench connect <sandbox>                     lookup of a running sandbox and connect
//!
//! The runtime is the SDK's own lookup: the benchmark sets `MSB_PATH` to the msb our provider uses.

use std::time::Instant;

use ai_sdk_microsandbox_core::{cache, host::Host, image, snapshots};
use microsandbox::Sandbox;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

fn ms_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

/// `{"<field>": ms}`: the time from `started` until a first exec in `sandbox` completed.
async fn until_first_exec(field: &str, started: Instant, sandbox: &Sandbox) -> Result<String> {
    sandbox.exec_with("true", |o| o.stdin_bytes(Vec::new())).await?;
    Ok(format!("{{\"{field}\":{:.1}}}", ms_since(started)))
}

fn unique(what: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("raw-bench-{what}-{:x}", nanos & 0xffff_ffff)
}

async fn ops(name: &str, iterations: usize, mib: usize) -> Result<String> {
    let sandbox = Sandbox::get(name).await?.connect().await?;
    let (mut bare, mut shell) = (Vec::new(), Vec::new());
    for i in 0..iterations + 3 {
        let started = Instant::now();
        sandbox.exec_with("true", |o| o.stdin_bytes(Vec::new())).await?;
        if i >= 3 {
            bare.push(ms_since(started));
        }
        let started = Instant::now();
        sandbox.exec_with("bash", |o| o.args(["-c", "true"]).stdin_bytes(Vec::new())).await?;
        if i >= 3 {
            shell.push(ms_since(started));
        }
    }
    let data = vec![7u8; mib * 1024 * 1024];
    let started = Instant::now();
    sandbox.fs().write("/tmp/raw-bench.bin", &data).await?;
    let back = sandbox.fs().read("/tmp/raw-bench.bin").await?;
    assert_eq!(back.len(), data.len());
    let file = ms_since(started);
    sandbox.fs().remove("/tmp/raw-bench.bin").await?;
    Ok(format!(
        "{{\"execTrueMs\":{:.2},\"execBashTrueMs\":{:.2},\"fileWriteReadMs\":{:.1}}}",
        median(bare),
        median(shell),
        file
    ))
}

async fn create(image_arg: &str, memory: u32) -> Result<String> {
    // The image as our provider resolves it (a tarball is already loaded and its hash remembered).
    let host = Host::new(cache::root());
    let source = image::resolve(host.cache_root(), image_arg, &Default::default()).await?;
    let started = Instant::now();
    let sandbox = source.apply(Sandbox::builder(unique("cold"))).memory(memory).create().await?;
    let json = until_first_exec("createMs", started, &sandbox).await?;
    sandbox.destroy().await?;
    Ok(json)
}

async fn fork(key: &str) -> Result<String> {
    let started = Instant::now();
    let sandbox = Sandbox::restore(snapshots::snapshot_name(key)).name(unique("fork")).forked().restore().await?;
    let json = until_first_exec("forkMs", started, &sandbox).await?;
    sandbox.destroy().await?;
    Ok(json)
}

/// `count` forked restores at once, each to its first exec: the wall clock of all.
async fn forks(key: &str, count: usize) -> Result<String> {
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..count {
        let (snapshot, name) = (snapshots::snapshot_name(key), unique(&format!("fork{i}")));
        set.spawn(async move {
            let sandbox = Sandbox::restore(snapshot).name(name).forked().restore().await?;
            sandbox.exec_with("true", |o| o.stdin_bytes(Vec::new())).await?;
            Ok::<_, microsandbox::MicrosandboxError>(sandbox)
        });
    }
    let all = set.join_all().await;
    let wall = ms_since(started);
    let mut failure = None;
    for sandbox in all {
        match sandbox {
            Ok(s) => s.destroy().await?,
            Err(e) => failure = Some(e),
        }
    }
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(format!("{{\"forksMs\":{wall:.1}}}")),
    }
}

async fn start(name: &str) -> Result<String> {
    let started = Instant::now();
    Sandbox::get(name).await?.start_detached().await?;
    let sandbox = Sandbox::get(name).await?.connect().await?;
    until_first_exec("startMs", started, &sandbox).await
}

async fn connect(name: &str) -> Result<String> {
    let started = Instant::now();
    let sandbox = Sandbox::get(name).await?.connect().await?;
    until_first_exec("connectMs", started, &sandbox).await
}

async fn request(args: &[String]) -> Result<String> {
    let arg = |i: usize| args.get(i).map(String::as_str).ok_or("missing argument (see the usage in the source)");
    Ok(match arg(0)? {
        "warm" => {
            Sandbox::list().await?;
            "{}".to_owned()
        }
        "ops" => ops(arg(1)?, arg(2)?.parse()?, arg(3)?.parse()?).await?,
        "create" => create(arg(1)?, arg(2)?.parse()?).await?,
        "fork" => fork(arg(1)?).await?,
        "forks" => forks(arg(1)?, arg(2)?.parse()?).await?,
        "start" => start(arg(1)?).await?,
        "connect" => connect(arg(1)?).await?,
        other => return Err(format!("unknown mode {other}").into()),
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    use tokio::io::AsyncBufReadExt;
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("serve") {
        println!("{}", request(&args).await?);
        return Ok(());
    }
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        let args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        let answer = match request(&args).await {
            Ok(json) => json,
            Err(e) => serde_json::json!({ "error": e.to_string() }).to_string(),
        };
        println!("{answer}");
    }
    Ok(())
}
