//! The lifecycle's decisions against an in-memory runtime ([`crate::vm::fake`]):
//! what boots, from what, what is removed when something fails.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use super::record::SessionRecord;
use super::{FirstCreate, Provider, Session};
use crate::cancel::{Cancel, cancel_pair};
use crate::error::{Error, ErrorCode, Result};
use crate::host::Host;
use crate::settings::Settings;
use crate::vm::fake::{FakeVms, NextBoot};

struct World {
    vms: Arc<FakeVms>,
    host: Arc<Host>,
    root: PathBuf,
}

impl World {
    fn new() -> Self {
        let root = std::env::temp_dir().join(format!("aisdk-lifecycle-{}", crate::naming::sandbox_id()));
        let vms = FakeVms::new();
        let host = Host::with_vms(root.clone(), vms.clone());
        Self { vms, host, root }
    }

    fn provider(&self, settings: serde_json::Value) -> Arc<Provider> {
        Arc::new(Provider::new(Settings::parse(&settings).unwrap(), self.host.clone()))
    }

    /// The calls since the last look, with generated names made readable.
    fn calls(&self) -> Vec<String> {
        self.vms.take_calls()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// The caller's one-time setup; counts its runs and fails when told to.
#[derive(Default)]
struct Setup {
    runs: AtomicUsize,
    fail: bool,
}

impl FirstCreate for Setup {
    fn run(&self, _session: Arc<Session>) -> std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send + '_>> {
        Box::pin(async move {
            self.runs.fetch_add(1, Ordering::SeqCst);
            if self.fail { Err(Error::new(ErrorCode::ExecFailed, "setup failed")) } else { Ok(()) }
        })
    }
}

fn verbs(calls: &[String]) -> Vec<&str> {
    calls.iter().map(|c| c.split(' ').next().unwrap()).collect()
}

#[tokio::test]
async fn a_session_without_an_identity_boots_cold_from_the_image_and_runs_the_pre_commands() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine", "bootstrapPreCommands": ["echo one"] }));
    let session = provider.create_session(Some("s1"), None, None, &Cancel::never()).await.unwrap();
    assert!(!session.forked_from_template());
    let calls = world.calls();
    assert_eq!(verbs(&calls), ["boot", "run-as-root"], "pre-commands run as root");
    assert!(calls[0].ends_with("image:alpine"), "{calls:?}");
    let vm = world.vms.vm(session.sandbox_name()).unwrap();
    assert!(vm.detached, "a session with an id outlives its process");
    let record = SessionRecord::load(&world.root, session.sandbox_name()).unwrap();
    assert_eq!(record.session_id.as_deref(), Some("s1"));
    assert_eq!(record.working_directory, "/root");
}

#[tokio::test]
async fn the_first_session_of_an_identity_bootstraps_a_template_once_and_every_session_forks_from_it() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine", "bootstrapPreCommands": ["install"] }));
    let setup = Setup::default();
    let first = provider.create_session(Some("a"), Some("id-1"), Some(&setup), &Cancel::never()).await.unwrap();
    let calls = world.calls();
    // The template boots cold, takes the pre-commands and the setup, is snapshotted and removed.
    assert_eq!(verbs(&calls), ["boot", "run-as-root", "snapshot", "remove", "boot"], "{calls:?}");
    let template = calls[0].split(' ').nth(1).unwrap().to_owned();
    assert!(template.starts_with("aisdk-template-"));
    assert!(!world.vms.names_now().contains(&template));
    assert!(calls[4].contains(" fork:"), "the session forks: {calls:?}");
    assert!(first.forked_from_template());
    let second = provider.create_session(Some("b"), Some("id-1"), Some(&setup), &Cancel::never()).await.unwrap();
    let calls = world.calls();
    assert_eq!(verbs(&calls), ["boot"], "no second bootstrap: {calls:?}");
    assert!(calls[0].contains(" fork:"));
    assert!(second.forked_from_template());
    assert_eq!(setup.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_fork_takes_its_guest_from_the_template_record_and_probes_only_when_the_record_lacks_it() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine", "workdir": "/app", "env": { "A": "1" } }));
    let setup = Setup::default();
    let first = provider.create_session(Some("a"), Some("id"), Some(&setup), &Cancel::never()).await.unwrap();
    assert!(first.forked_from_template());
    assert_eq!(world.vms.vm(first.sandbox_name()).unwrap().probes, 0, "the template's probe serves its forks");
    assert_eq!(first.default_working_directory(), "/app");
    // A record written before templates kept their guest: the fork asks its guest.
    let store = crate::snapshots::TemplateStore::new(&world.root);
    let mut record = store.all().pop().unwrap();
    record.guest = None;
    store.publish(&record).unwrap();
    let second = provider.create_session(Some("b"), Some("id"), Some(&setup), &Cancel::never()).await.unwrap();
    assert!(second.forked_from_template());
    assert_eq!(world.vms.vm(second.sandbox_name()).unwrap().probes, 1);
    assert_eq!(second.probed_guest(), first.probed_guest());
}

/// A setup that installs bash, as `apk add bash` would.
struct InstallBash;

impl FirstCreate for InstallBash {
    fn run(&self, session: Arc<Session>) -> std::pin::Pin<Box<dyn Future<Output = Result<()>> + Send + '_>> {
        Box::pin(async move { session.run_step("install bash", &Default::default()).await.map(drop) })
    }
}

#[tokio::test]
async fn what_the_setup_and_the_pre_commands_install_is_what_forks_and_sessions_see() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine-nobash" }));
    let fork = provider.create_session(Some("a"), Some("id"), Some(&InstallBash), &Cancel::never()).await.unwrap();
    assert!(fork.forked_from_template());
    assert_eq!(fork.shell(), "/bin/bash", "the template's record holds the guest as its setup left it");
    let pre = world.provider(json!({ "image": "alpine-nobash", "bootstrapPreCommands": ["install bash"] }));
    let cold = pre.create_session(Some("b"), None, None, &Cancel::never()).await.unwrap();
    assert_eq!(cold.shell(), "/bin/bash", "asked again after the pre-commands");
    let plain = world.provider(json!({ "image": "alpine-nobash" }));
    assert_eq!(plain.create_session(Some("c"), None, None, &Cancel::never()).await.unwrap().shell(), "/bin/sh");
}

#[tokio::test]
async fn a_failed_setup_publishes_no_template_and_leaves_no_microvm() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine" }));
    let setup = Setup { fail: true, ..Setup::default() };
    let err = provider.create_session(Some("a"), Some("id-1"), Some(&setup), &Cancel::never()).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::ExecFailed);
    assert_eq!(verbs(&world.calls()), ["boot", "remove"]);
    assert!(world.vms.names_now().is_empty());
    assert!(crate::snapshots::TemplateStore::new(&world.root).all().is_empty());
}

#[tokio::test]
async fn a_session_that_brokers_credentials_boots_the_templates_disk_not_its_ram() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine", "brokerCredentials": true }));
    let setup = Setup::default();
    provider.create_session(Some("a"), Some("id-1"), Some(&setup), &Cancel::never()).await.unwrap();
    let calls = world.calls();
    assert!(calls.last().unwrap().contains(" disk:"), "{calls:?}");
}

#[tokio::test]
async fn a_boot_whose_agent_never_comes_up_is_retried_once() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine" }));
    world.vms.script_boots(&[NextBoot::Transient]);
    provider.create_session(Some("a"), None, None, &Cancel::never()).await.unwrap();
    assert_eq!(verbs(&world.calls()), ["boot", "remove", "boot"]);

    world.vms.script_boots(&[NextBoot::Transient, NextBoot::Transient]);
    let err = provider.create_session(Some("b"), None, None, &Cancel::never()).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::BootFailed);
    assert!(err.message.contains("booted twice"), "{}", err.message);
    assert_eq!(verbs(&world.calls()), ["boot", "remove", "boot", "remove"], "nothing is left behind");

    world.vms.script_boots(&[NextBoot::Fatal]);
    let err = provider.create_session(Some("c"), None, None, &Cancel::never()).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::InvalidSettings);
    assert_eq!(verbs(&world.calls()), ["boot", "remove"], "a refused boot is not retried");
    assert_eq!(world.vms.names_now().len(), 1, "only the first session's microVM");
}

#[tokio::test]
async fn a_failed_boot_removes_its_microvm_record_and_port_leases() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine", "ports": [3000], "bootstrapPreCommands": ["bad"] }));
    world.vms.fail_command("bad");
    let err = provider.create_session(Some("a"), None, None, &Cancel::never()).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::BootFailed);
    assert!(err.message.contains("bootstrapPreCommands[0] exited with 1"), "{}", err.message);
    assert!(world.vms.names_now().is_empty());
    assert!(SessionRecord::all(&world.root).is_empty());
    let leases = std::fs::read_dir(world.root.join("ports"))
        .map(|d| d.filter(|e| !e.as_ref().unwrap().file_name().to_string_lossy().starts_with('.')).count())
        .unwrap_or(0);
    assert_eq!(leases, 0, "the port lease went with it");
}

#[tokio::test]
async fn an_abort_mid_boot_removes_what_the_boot_created() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine" }));
    world.vms.script_boots(&[NextBoot::Hang]);
    let (source, cancel) = cancel_pair();
    let create = provider.create_session(Some("a"), None, None, &cancel);
    let abort = async {
        while world.vms.names_now().is_empty() {
            tokio::task::yield_now().await;
        }
        source.cancel();
    };
    let (created, ()) = tokio::join!(create, abort);
    assert_eq!(created.err().unwrap().code, ErrorCode::Aborted);
    assert!(world.vms.names_now().is_empty(), "the half-created microVM is removed");
    assert!(SessionRecord::all(&world.root).is_empty());
}

#[tokio::test]
async fn a_second_create_of_an_id_is_refused_unless_replace_is_set() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine" }));
    let first = provider.create_session(Some("a"), None, None, &Cancel::never()).await.unwrap();
    let err = provider.create_session(Some("a"), None, None, &Cancel::never()).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::SessionExists);
    world.calls();
    let replacing = world.provider(json!({ "image": "alpine", "replace": true }));
    let second = replacing.create_session(Some("a"), None, None, &Cancel::never()).await.unwrap();
    assert_eq!(verbs(&world.calls()), ["remove", "boot"]);
    assert_eq!(first.sandbox_name(), second.sandbox_name());
}

#[tokio::test]
async fn a_record_whose_microvm_is_gone_does_not_block_a_create() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine" }));
    let first = provider.create_session(Some("a"), None, None, &Cancel::never()).await.unwrap();
    world.vms.remove_now(first.sandbox_name());
    provider.create_session(Some("a"), None, None, &Cancel::never()).await.unwrap();
}

#[tokio::test]
async fn resume_reattaches_a_running_session_starts_a_stopped_one_and_refuses_a_missing_one() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine" }));
    let created = provider.create_session(Some("a"), None, None, &Cancel::never()).await.unwrap();
    let name = created.sandbox_name().to_owned();
    world.calls();
    provider.resume_session("a", &Cancel::never()).await.unwrap();
    assert_eq!(world.calls(), [format!("connect {name} start")]);
    created.stop().await.unwrap();
    assert!(!world.vms.vm(&name).unwrap().running, "stop keeps a resumable session's microVM, stopped");
    world.calls();
    let resumed = provider.resume_session("a", &Cancel::never()).await.unwrap();
    assert!(world.vms.vm(&name).unwrap().running);
    assert_eq!(resumed.id(), name);
    world.vms.remove_now(&name);
    let err = provider.resume_session("a", &Cancel::never()).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::SessionNotFound);
    let err = provider.resume_session("never-made", &Cancel::never()).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::SessionNotFound);
}

#[tokio::test]
async fn a_reattach_takes_the_guest_from_the_session_record_and_a_restart_or_an_old_record_asks_the_guest() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine", "workdir": "/app" }));
    let created = provider.create_session(Some("a"), None, None, &Cancel::never()).await.unwrap();
    let name = created.sandbox_name().to_owned();
    let probes = || world.vms.vm(&name).unwrap().probes;
    assert_eq!(probes(), 1, "the boot probes once");
    let running = provider.resume_session("a", &Cancel::never()).await.unwrap();
    assert_eq!(probes(), 1, "a reattach takes the record's");
    assert_eq!(running.probed_guest(), created.probed_guest());
    created.stop().await.unwrap();
    let restarted = provider.resume_session("a", &Cancel::never()).await.unwrap();
    assert_eq!(probes(), 2, "a restarted guest is asked (its working directory is made again)");
    assert_eq!(restarted.default_working_directory(), "/app");
    // A record written before records kept the guest: a reattach asks the guest.
    let record = SessionRecord { guest: None, ..SessionRecord::load(&world.root, &name).unwrap() };
    record.save(&world.root).unwrap();
    let asked = provider.resume_session("a", &Cancel::never()).await.unwrap();
    assert_eq!(probes(), 3);
    assert_eq!(asked.probed_guest(), created.probed_guest());
}

#[tokio::test]
async fn stop_removes_a_session_without_an_id_and_keeps_a_resumable_one() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine" }));
    let anonymous = provider.create_session(None, None, None, &Cancel::never()).await.unwrap();
    assert!(!world.vms.vm(anonymous.sandbox_name()).unwrap().detached, "it dies with its process");
    anonymous.stop().await.unwrap();
    assert!(world.vms.vm(anonymous.sandbox_name()).is_none());
    let resumable = provider.create_session(Some("a"), None, None, &Cancel::never()).await.unwrap();
    resumable.destroy().await.unwrap();
    assert!(world.vms.vm(resumable.sandbox_name()).is_none(), "destroy removes it");
    assert!(SessionRecord::all(&world.root).is_empty());
}

#[tokio::test]
async fn a_warm_pool_hands_a_ready_member_to_the_next_create_and_refills() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine", "warmPool": { "size": 1 } }));
    provider.create_session(Some("a"), None, None, &Cancel::never()).await.unwrap();
    // The filler boots one member in the background.
    while provider.pool_status().unwrap().ready == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let member = world.vms.names_now().into_iter().find(|n| crate::naming::is_anonymous(n)).unwrap();
    assert!(world.vms.vm(&member).unwrap().detached, "a member may become a resumable session");
    world.calls();
    let handed = provider.create_session(Some("b"), None, None, &Cancel::never()).await.unwrap();
    assert_eq!(handed.sandbox_name(), member, "no boot: the member is handed over");
    let record = SessionRecord::find_by_session_id(&world.root, "b").unwrap();
    assert_eq!(record.sandbox.as_deref(), Some(member.as_str()));
    assert!(record.creator.is_none(), "the handed-over session is resumable");
    provider.close().await;
    assert!(world.vms.vm(&member).is_some(), "closing the pool leaves handed-over sessions alone");
}

#[tokio::test]
async fn warm_pool_members_fork_the_identitys_template_and_one_made_while_it_was_gone_is_not_handed_over() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine", "warmPool": { "size": 1 } }));
    let setup = Setup::default();
    let ready_member = || async {
        while provider.pool_status().unwrap().ready == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let taken: Vec<String> = SessionRecord::all(&world.root).into_iter().filter_map(|r| r.sandbox).collect();
        let member = world.vms.names_now().into_iter().find(|n| crate::naming::is_anonymous(n) && !taken.contains(n));
        world.vms.vm(&member.unwrap()).unwrap()
    };
    provider.create_session(Some("a"), Some("id"), Some(&setup), &Cancel::never()).await.unwrap();
    assert!(ready_member().await.root.starts_with("fork:"), "members fork the template");
    let store = crate::snapshots::TemplateStore::new(&world.root);
    let key = store.all().pop().unwrap().key;
    let b = provider.create_session(Some("b"), Some("id"), Some(&setup), &Cancel::never()).await.unwrap();
    assert!(b.forked_from_template());
    // Pruned while the pool refills: the next member cannot fork and boots cold.
    store.remove(&key);
    let cold = ready_member().await;
    assert!(cold.root.starts_with("image:"), "a member of a template gone boots cold");
    // The next create bootstraps the template again and forks it; the cold member is not handed over.
    let c = provider.create_session(Some("c"), Some("id"), Some(&setup), &Cancel::never()).await.unwrap();
    assert!(c.forked_from_template());
    assert_eq!(setup.runs.load(Ordering::SeqCst), 2, "two bootstraps, no setup in a cold member");
    assert!(store.get(&key).is_some(), "the template is there again");
    provider.close().await;
}

#[tokio::test]
async fn a_template_never_binds_a_users_workspace_and_every_fork_binds_its_own() {
    let world = World::new();
    let projects = std::env::temp_dir().join(format!("aisdk-projects-{}", crate::naming::sandbox_id()));
    let (alice, bob) = (projects.join("alice"), projects.join("bob"));
    std::fs::create_dir_all(&alice).unwrap();
    std::fs::create_dir_all(&bob).unwrap();
    let settings = |dir: &std::path::Path| json!({ "image": "alpine", "workspace": { "path": dir } });
    let setup = Setup::default();
    let first =
        world.provider(settings(&alice)).create_session(Some("a"), Some("id"), Some(&setup), &Cancel::never()).await;
    let first = first.unwrap();
    let calls = world.calls();
    assert_eq!(verbs(&calls), ["boot", "snapshot", "remove", "boot"], "{calls:?}");
    assert!(calls[0].contains("template-workspaces"), "the template binds an empty directory: {calls:?}");
    assert!(!calls[0].contains("alice"), "{calls:?}");
    assert_eq!(world.vms.vm(first.sandbox_name()).unwrap().workspace, Some(alice.canonicalize().unwrap()));
    assert!(!world.root.join("template-workspaces").read_dir().unwrap().any(|_| true), "the placeholder is gone");
    let second =
        world.provider(settings(&bob)).create_session(Some("b"), Some("id"), Some(&setup), &Cancel::never()).await;
    let second = second.unwrap();
    assert!(second.forked_from_template(), "the same template serves every workspace");
    assert_eq!(world.vms.vm(second.sandbox_name()).unwrap().workspace, Some(bob.canonicalize().unwrap()));
    assert_eq!(second.default_working_directory(), "/workspace");
    let _ = std::fs::remove_dir_all(projects);
}

#[tokio::test]
async fn an_overlay_workspace_is_mounted_by_every_session_never_by_its_template_and_again_after_a_restart() {
    let world = World::new();
    let project = std::env::temp_dir().join(format!("aisdk-overlay-{}", crate::naming::sandbox_id()));
    std::fs::create_dir_all(&project).unwrap();
    let settings = json!({ "image": "alpine", "workspace": { "path": project, "mode": "overlay" } });
    let setup = Setup::default();
    let provider = world.provider(settings);
    let session = provider.create_session(Some("s"), Some("id"), Some(&setup), &Cancel::never()).await.unwrap();
    let calls = world.calls();
    let mounts =
        |calls: &[String]| calls.iter().filter(|c| c.contains("mount -t overlay")).cloned().collect::<Vec<_>>();
    assert_eq!(verbs(&calls), ["boot", "snapshot", "remove", "boot", "probe-as-root"], "{calls:?}");
    assert!(calls[0].contains(" overlay:") && calls[0].contains("template-workspaces"), "{calls:?}");
    assert_eq!(mounts(&calls).len(), 1, "the fork mounts it, the template does not: {calls:?}");
    assert!(mounts(&calls)[0].contains(session.sandbox_name()), "{calls:?}");
    assert_eq!(session.workspace().unwrap().host, project.canonicalize().unwrap());
    session.stop().await.unwrap();
    world.calls();
    let resumed = provider.resume_session("s", &Cancel::never()).await.unwrap();
    assert_eq!(mounts(&world.calls()).len(), 1, "a restarted microVM mounts it again");
    assert_eq!(resumed.workspace().unwrap().mode, crate::workspace::WorkspaceMode::Overlay);
    let _ = std::fs::remove_dir_all(project);
}

#[tokio::test]
async fn prepare_bootstraps_the_template_ahead_so_the_first_create_forks() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine", "bootstrapPreCommands": ["install"] }));
    let setup = Setup::default();
    let prepared = provider.prepare(Some("id"), Some(&setup), &Cancel::never()).await.unwrap();
    assert!(prepared.bootstrapped);
    assert_eq!(prepared.image, "alpine");
    assert!(prepared.template_key.is_some());
    assert!(world.vms.names_now().is_empty(), "no session was made, the template microVM is gone");
    world.calls();
    let again = provider.prepare(Some("id"), Some(&setup), &Cancel::never()).await.unwrap();
    assert!(!again.bootstrapped, "already published");
    let session = provider.create_session(None, Some("id"), Some(&setup), &Cancel::never()).await.unwrap();
    assert!(session.forked_from_template());
    assert_eq!(verbs(&world.calls()), ["boot"]);
    assert_eq!(setup.runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn source_is_fetched_into_every_session_never_into_the_template_and_a_failed_fetch_removes_the_session() {
    let world = World::new();
    let source = json!({ "type": "git", "url": "git://host/repo", "password": "pw-for-the-fetch" });
    let provider = world.provider(json!({ "image": "alpine", "bootstrapPreCommands": ["install"], "source": source }));
    let setup = Setup::default();
    let session = provider.create_session(Some("a"), Some("id"), Some(&setup), &Cancel::never()).await.unwrap();
    let calls = world.calls();
    let fetches: Vec<&String> = calls.iter().filter(|c| c.contains("S_TYPE")).collect();
    assert_eq!(fetches.len(), 1, "{calls:?}");
    assert!(
        fetches[0].starts_with(&format!("run {} ", session.sandbox_name())),
        "the session fetches, not the template"
    );

    world.vms.fail_command("S_TYPE");
    let err = provider.create_session(Some("b"), Some("id"), Some(&setup), &Cancel::never()).await.err().unwrap();
    assert_eq!(err.code, ErrorCode::SourceFailed);
    assert!(err.message.contains("git://host/repo") && !err.message.contains("pw-for-the-fetch"), "{}", err.message);
    assert_eq!(world.vms.names_now(), [session.sandbox_name().to_owned()], "the failed session is gone");
    assert!(SessionRecord::find_by_session_id(&world.root, "b").is_none());
}

#[tokio::test]
async fn a_session_user_gets_the_working_directory_made_theirs_once_and_the_template_carries_it() {
    let world = World::new();
    let provider = world.provider(json!({ "image": "alpine", "user": "node", "workdir": "/app" }));
    let setup = Setup::default();
    provider.create_session(Some("a"), Some("id"), Some(&setup), &Cancel::never()).await.unwrap();
    let calls = world.calls();
    assert_eq!(verbs(&calls), ["boot", "probe-as-root", "snapshot", "remove", "boot"], "{calls:?}");
    assert!(calls[1].contains("chown"), "{calls:?}");
    provider.create_session(Some("b"), None, None, &Cancel::never()).await.unwrap();
    assert_eq!(verbs(&world.calls()), ["boot", "probe-as-root"], "a cold session makes it its own");
}
