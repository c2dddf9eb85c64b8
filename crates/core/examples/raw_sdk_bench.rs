//! Baseline for `bench/session.bench.mjs`: the same operations through the raw
//! microsandbox SDK, against the same running sandbox.
//! Usage: raw_sdk_bench <sandbox name> <iterations> <file MiB>

use std::time::Instant;

use microsandbox::Sandbox;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

fn ms_since(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1e3
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (name, iterations, mib): (&str, usize, usize) = (&args[1], args[2].parse()?, args[3].parse()?);
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

    // One round trip per microVM: sustained I/O is what kills microVMs under nested emulation.
    let data = vec![7u8; mib * 1024 * 1024];
    let started = Instant::now();
    sandbox.fs().write("/tmp/raw-bench.bin", &data).await?;
    let back = sandbox.fs().read("/tmp/raw-bench.bin").await?;
    assert_eq!(back.len(), data.len());
    let file = ms_since(started);
    sandbox.fs().remove("/tmp/raw-bench.bin").await?;
    println!(
        "{{\"execTrueMs\":{:.2},\"execBashTrueMs\":{:.2},\"fileWriteReadMs\":{:.1}}}",
        median(bare),
        median(shell),
        file
    );
    Ok(())
}
