//! An in-memory runtime for unit tests of the lifecycle: microVMs are rows
//! in a map, every call is logged, and boots can be told to fail or hang.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};

use super::{BootFailure, BootSpec, BoxFuture, Machine, Output, PublishedPort, Root, VmStatus, Vms};
use crate::error::{Error, ErrorCode, Result};

/// How the next boot goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextBoot {
    /// The microVM exits before its agent comes up.
    Transient,
    /// The runtime refuses the boot.
    Fatal,
    /// The boot never ends (the row exists, as a real half-created sandbox's does).
    Hang,
}

#[derive(Debug, Clone)]
pub struct FakeVm {
    pub running: bool,
    /// `image:<ref>`, `disk:<snapshot>` or `fork:<snapshot>`.
    pub root: String,
    pub detached: bool,
    /// The host directory bound at the workdir.
    pub workspace: Option<std::path::PathBuf>,
    /// Guest probes run in it (as the session's user).
    pub probes: usize,
    /// Whether its guest has bash: images named `*nobash*` lack it until a command installs it.
    pub bash: bool,
}

#[derive(Default)]
struct State {
    vms: BTreeMap<String, FakeVm>,
    snapshots: HashSet<String>,
    calls: Vec<String>,
    next_boots: VecDeque<NextBoot>,
    /// Commands containing one of these exit with 1.
    failing_commands: Vec<String>,
    /// The host ports each running microVM publishes, held like the runtime's forwarder holds them.
    listeners: BTreeMap<String, Vec<std::net::TcpListener>>,
}

#[derive(Default)]
pub struct FakeVms(Arc<Mutex<State>>);

struct FakeMachine {
    name: String,
    state: Arc<Mutex<State>>,
}

impl FakeVms {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.lock().unwrap()
    }

    /// Every call so far, as `verb name [detail]`, and forgets them.
    pub fn take_calls(&self) -> Vec<String> {
        std::mem::take(&mut self.state().calls)
    }

    pub fn script_boots(&self, boots: &[NextBoot]) {
        self.state().next_boots.extend(boots);
    }

    /// Commands containing `fragment` exit with 1.
    pub fn fail_command(&self, fragment: &str) {
        self.state().failing_commands.push(fragment.to_owned());
    }

    pub fn vm(&self, name: &str) -> Option<FakeVm> {
        self.state().vms.get(name).cloned()
    }

    pub fn names_now(&self) -> Vec<String> {
        self.state().vms.keys().cloned().collect()
    }

    pub fn set_running(&self, name: &str, running: bool) {
        if let Some(vm) = self.state().vms.get_mut(name) {
            vm.running = running;
        }
    }

    pub fn remove_now(&self, name: &str) {
        self.state().vms.remove(name);
    }

    fn machine(&self, name: &str) -> Arc<dyn Machine> {
        Arc::new(FakeMachine { name: name.to_owned(), state: self.0.clone() })
    }
}

impl Vms for FakeVms {
    fn preflight(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn boot<'a>(&'a self, spec: BootSpec<'a>) -> BoxFuture<'a, Result<Arc<dyn Machine>, BootFailure>> {
        Box::pin(async move {
            let root = match spec.root {
                Root::Image(crate::image::ImageSource::Reference(r)) => format!("image:{r}"),
                Root::Image(crate::image::ImageSource::Path(p)) => format!("image:{}", p.display()),
                Root::TemplateDisk(s) => format!("disk:{s}"),
                Root::Fork(s) => format!("fork:{s}"),
            };
            let next = {
                let mut state = self.state();
                let overlay = spec
                    .settings
                    .workspace
                    .as_ref()
                    .is_some_and(|w| w.mode == crate::workspace::WorkspaceMode::Overlay);
                let kind = if overlay { "overlay" } else { "workspace" };
                let bound = spec.workspace.map(|w| format!(" {kind}:{}", w.display())).unwrap_or_default();
                state.calls.push(format!("boot {} {root}{bound}", spec.name));
                if state.vms.contains_key(spec.name) {
                    return Err(Error::new(ErrorCode::SessionExists, format!("{} exists", spec.name)).into());
                }
                let next = state.next_boots.pop_front();
                let running = next.is_none();
                let workspace = spec.workspace.map(std::path::Path::to_path_buf);
                state.vms.insert(
                    spec.name.to_owned(),
                    FakeVm {
                        running,
                        bash: !root.contains("nobash"),
                        root,
                        detached: spec.detached,
                        workspace,
                        probes: 0,
                    },
                );
                if running {
                    let listeners = spec
                        .ports
                        .iter()
                        .filter(|p| p.protocol == crate::settings::PortProtocol::Tcp)
                        .filter_map(|p| std::net::TcpListener::bind((p.bind, p.host)).ok())
                        .collect();
                    state.listeners.insert(spec.name.to_owned(), listeners);
                }
                next
            };
            match next {
                None => Ok(self.machine(spec.name)),
                Some(NextBoot::Transient) => Err(BootFailure {
                    error: Error::new(ErrorCode::BootFailed, format!("microVM {} exited", spec.name)),
                    transient: true,
                }),
                Some(NextBoot::Fatal) => Err(Error::new(ErrorCode::InvalidSettings, "the runtime refused").into()),
                Some(NextBoot::Hang) => std::future::pending().await,
            }
        })
    }

    fn status<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<VmStatus>>> {
        Box::pin(async move {
            Ok(self.state().vms.get(name).map(|vm| if vm.running { VmStatus::Running } else { VmStatus::NotRunning }))
        })
    }

    fn connect<'a>(&'a self, name: &'a str, start: bool) -> BoxFuture<'a, Result<Arc<dyn Machine>>> {
        Box::pin(async move {
            {
                let mut state = self.state();
                state.calls.push(format!("connect {name}{}", if start { " start" } else { "" }));
                let vm = state
                    .vms
                    .get_mut(name)
                    .ok_or_else(|| Error::new(ErrorCode::SessionNotFound, format!("{name} not found")))?;
                match (vm.running, start) {
                    (true, _) => {}
                    (false, true) => vm.running = true,
                    (false, false) => {
                        return Err(Error::new(ErrorCode::SessionStopped, format!("{name} is not running")));
                    }
                }
            }
            Ok(self.machine(name))
        })
    }

    fn published_ports<'a>(&'a self, _name: &'a str) -> BoxFuture<'a, Result<Vec<PublishedPort>>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    fn remove<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut state = self.state();
            state.listeners.remove(name);
            if state.vms.remove(name).is_some() {
                state.calls.push(format!("remove {name}"));
            }
            Ok(())
        })
    }

    fn names(&self) -> BoxFuture<'_, Result<HashSet<String>>> {
        Box::pin(async move { Ok(self.state().vms.keys().cloned().collect()) })
    }

    fn snapshot<'a>(&'a self, name: &'a str, snapshot: &'a str) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut state = self.state();
            state.calls.push(format!("snapshot {name} {snapshot}"));
            state.snapshots.insert(snapshot.to_owned());
            Ok(())
        })
    }

    fn snapshot_exists<'a>(&'a self, snapshot: &'a str) -> BoxFuture<'a, bool> {
        Box::pin(async move { self.state().snapshots.contains(snapshot) })
    }

    fn image_digest<'a>(&'a self, _image: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async { Some("sha256:fake".to_owned()) })
    }
}

impl Machine for FakeMachine {
    fn name(&self) -> &str {
        &self.name
    }

    fn probe<'a>(
        &'a self,
        script: &'a str,
        env: &'a BTreeMap<String, String>,
        as_root: bool,
    ) -> BoxFuture<'a, Result<Output>> {
        Box::pin(async move {
            if as_root {
                let mut state = self.state.lock().unwrap();
                state.calls.push(format!("probe-as-root {} {script}", self.name));
                return Ok(Output::default());
            }
            let bash = match self.state.lock().unwrap().vms.get_mut(&self.name) {
                Some(vm) => {
                    vm.probes += 1;
                    vm.bash
                }
                None => true,
            };
            let workdir = env.get("W").filter(|w| !w.is_empty()).map_or("/root", String::as_str);
            let fields = [workdir, "/root", "/usr/bin:/bin", "C.UTF-8", "0", if bash { "/bin/bash" } else { "" }, "0"];
            Ok(Output { exit_code: 0, stdout: fields.join("\0").into_bytes(), stderr: Vec::new() })
        })
    }

    fn run<'a>(
        &'a self,
        _shell: &'a str,
        command: &'a str,
        _cwd: &'a str,
        _env: &'a BTreeMap<String, String>,
        as_root: bool,
    ) -> BoxFuture<'a, Result<Output>> {
        Box::pin(async move {
            let mut state = self.state.lock().unwrap();
            state.calls.push(format!("run{} {} {command}", if as_root { "-as-root" } else { "" }, self.name));
            if command.contains("install bash")
                && let Some(vm) = state.vms.get_mut(&self.name)
            {
                vm.bash = true;
            }
            let fails = state.failing_commands.iter().any(|c| command.contains(c.as_str()));
            Ok(Output { exit_code: i32::from(fails), stdout: Vec::new(), stderr: b"it failed".to_vec() })
        })
    }

    fn touch(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }

    fn stop(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            let mut state = self.state.lock().unwrap();
            state.calls.push(format!("stop {}", self.name));
            if let Some(vm) = state.vms.get_mut(&self.name) {
                vm.running = false;
            }
            state.listeners.remove(&self.name);
            Ok(())
        })
    }

    fn sdk(&self) -> Option<Arc<microsandbox::Sandbox>> {
        None
    }
}
