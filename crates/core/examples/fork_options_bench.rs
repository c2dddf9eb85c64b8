//! Measures the SDK's ways to start a session from a bootstrapped template,
//! against a cold create, in one run: a disk snapshot restored (cold boot of
//! the captured disk), a full snapshot restored `forked` (CoW RAM), and a live
//! `branch` of the running template. Each is timed to its first completed exec,
//! and each child is checked for the template's file and for independence.
//! Usage: fork_options_bench <image: OCI reference or docker-save tarball> [msb path]

use std::future::Future;
use std::time::Instant;

use ai_sdk_microsandbox_core::{image, runtime};
use microsandbox::{Sandbox, Snapshot};

const GROUP: &str = "ai-sdk-microsandbox-bench";
const BOOTSTRAP: &str = "mkdir -p /opt/tools && head -c 50000000 /dev/urandom > /opt/tools/blob && sync";

async fn ready(sandbox: &Sandbox, from_template: bool) -> Result<(), Box<dyn std::error::Error>> {
    let out = sandbox.exec("sh", ["-c", "test -s /opt/tools/blob && echo has-template-file"]).await?;
    if (out.stdout()?.trim() == "has-template-file") != from_template {
        return Err("the child's /opt/tools is not what it should be".into());
    }
    // Independence: what one child writes, the template does not see.
    sandbox.exec("sh", ["-c", "echo child > /opt/tools/child"]).await?;
    Ok(())
}

async fn measure<F, Fut>(what: &str, from_template: bool, start: F) -> Option<f64>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Sandbox, microsandbox::MicrosandboxError>>,
{
    let started = Instant::now();
    let result = async {
        let sandbox = start().await?;
        let checked = ready(&sandbox, from_template).await;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let _ = sandbox.destroy().await;
        checked.map(|()| ms)
    }
    .await;
    match result {
        Ok(ms) => {
            println!("{what:<48} {:>8.1} s", ms / 1e3);
            Some(ms)
        }
        Err(err) => {
            println!("{what:<48} failed: {err}");
            None
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let image_arg = std::env::args().nth(1).ok_or("usage: fork_options_bench <image> [msb path]")?;
    runtime::configure(std::env::args().nth(2).as_deref().map(std::path::Path::new));
    let host = ai_sdk_microsandbox_core::host::Host::new(std::env::temp_dir().join("aisdk-fork-bench"));
    let source = image::resolve(host.cache_root(), &image_arg, &Default::default()).await?;
    let suffix =
        format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis() & 0xff_ffff);
    let build = |name: String| source.apply(Sandbox::builder(name)).memory(1024u32);

    let cold = measure("cold create from the image", false, || build(format!("bench-cold-{suffix}")).create()).await;

    let template_name = format!("bench-template-{suffix}");
    let template = build(template_name.clone()).create().await?;
    template.exec("sh", ["-c", BOOTSTRAP]).await?;

    let branch = measure("live branch of the running template", true, || {
        template.branch(format!("bench-branch-{suffix}")).branch()
    })
    .await;

    let full = format!("full-{suffix}");
    let started = Instant::now();
    let full_snapshot = Snapshot::builder(full.clone()).from_sandbox(&template_name).group(GROUP).full().create().await;
    println!("{:<48} {:>8.1} s", "  (taking the full snapshot)", started.elapsed().as_secs_f64());
    let forked = match full_snapshot {
        Ok(_) => {
            measure("full snapshot, restored forked (CoW RAM)", true, || {
                Sandbox::restore(format!("{GROUP}:{full}")).name(format!("bench-forked-{suffix}")).forked().restore()
            })
            .await
        }
        Err(err) => {
            println!("{:<48} failed: {err}", "full snapshot");
            None
        }
    };

    template.stop_with_timeout(std::time::Duration::from_secs(10)).await?;
    let disk = format!("disk-{suffix}");
    Snapshot::builder(disk.clone()).from_sandbox(&template_name).group(GROUP).create().await?;
    let disk_only = measure("disk snapshot, restored (cold boot of the disk)", true, || {
        Sandbox::restore(format!("{GROUP}:{disk}")).name(format!("bench-disk-{suffix}")).restore()
    })
    .await;

    let _ = template.destroy().await;
    let _ = Snapshot::remove(&format!("{GROUP}:{full}"), true).await;
    let _ = Snapshot::remove(&format!("{GROUP}:{disk}"), true).await;

    if let Some(cold) = cold {
        for (what, ms) in [("live branch", branch), ("full snapshot forked", forked), ("disk snapshot", disk_only)] {
            if let Some(ms) = ms {
                println!("{what:<24} {:>6.2}x faster than a cold create (bootstrap excluded)", cold / ms);
            }
        }
    }
    Ok(())
}
