//! What the agent changed in an overlay workspace, against the host directory:
//! a unified diff and the changed paths, and applying them to the host on
//! request. Only the overlay's upper layer is walked (what the agent wrote),
//! so the cost grows with the change, not with the repository. A deletion
//! shows as a name the host directory has and the agent's view lacks (a
//! whiteout, or a directory replaced whole). Regular files and symlinks count;
//! empty directories, devices and FIFOs do not (as in git).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::error::{Error, ErrorCode, Result};
use crate::vm::BoxFuture;

/// A file's content, on either side, bounded like every whole-file read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    File {
        content: Bytes,
        executable: bool,
    },
    Symlink(String),
    Dir,
    /// A device, FIFO or socket: not a change we carry.
    Other,
}

impl Node {
    fn digest(&self) -> Option<String> {
        let mut h = blake3::Hasher::new();
        match self {
            Node::File { content, executable } => h.update(if *executable { b"x" } else { b"f" }).update(content),
            Node::Symlink(target) => h.update(b"l").update(target.as_bytes()),
            Node::Dir | Node::Other => return None,
        };
        Some(h.finalize().to_hex()[..32].to_owned())
    }

    fn text(&self) -> Option<&str> {
        match self {
            Node::File { content, .. } if !content.contains(&0) => std::str::from_utf8(content).ok(),
            Node::Symlink(target) => Some(target),
            _ => None,
        }
    }

    fn git_mode(&self) -> &'static str {
        match self {
            Node::File { executable: true, .. } => "100755",
            Node::Symlink(_) => "120000",
            _ => "100644",
        }
    }
}

/// The kind of an entry of the upper layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Symlink,
    Dir,
    Other,
}

/// The guest's side: the overlay's upper layer and the agent's (merged) view,
/// by path relative to the workspace ("" is its root).
pub trait GuestTree: Sync {
    /// Loads the whole upper layer at once when the guest can (one round trip instead of a
    /// few per file); the other methods then answer from it.
    fn prefetch(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async { Ok(()) })
    }
    /// The upper layer's entries in directory `rel`: what the agent wrote there.
    fn upper<'a>(&'a self, rel: &'a str) -> BoxFuture<'a, Result<Vec<(String, Kind)>>>;
    /// The names the agent sees in directory `rel`.
    fn names<'a>(&'a self, rel: &'a str) -> BoxFuture<'a, Result<BTreeSet<String>>>;
    /// What the agent sees at `rel` (not following a last symlink); `None` when absent.
    fn node<'a>(&'a self, rel: &'a str) -> BoxFuture<'a, Result<Option<Node>>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Added,
    Modified,
    Deleted,
}

/// One changed path, with what each side held when the diff was taken, so that
/// an apply can refuse when either moved on since.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedFile {
    pub path: String,
    pub status: Status,
    pub binary: bool,
    /// The host file's digest; `None`: it did not exist.
    pub host_digest: Option<String>,
    /// The session's file's digest; `None`: the agent deleted it.
    pub session_digest: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Changes {
    /// A unified diff, git style: `a/` is the host, `b/` the session.
    pub diff: String,
    pub files: Vec<ChangedFile>,
}

/// Every file of the host directory `root` whose content differs from the agent's view.
pub async fn changes(guest: &dyn GuestTree, root: &Path) -> Result<Changes> {
    guest.prefetch().await?;
    let mut found: BTreeMap<String, (Option<Node>, Option<Node>)> = BTreeMap::new();
    let mut dirs = vec![String::new()];
    while let Some(dir) = dirs.pop() {
        if host_node(root, &dir)? == Some(Node::Dir) {
            let seen = guest.names(&dir).await?;
            for name in host_names(root, &dir)? {
                if !seen.contains(&name) {
                    deleted(root, &join(&dir, &name), &mut found)?;
                }
            }
        }
        for (name, kind) in guest.upper(&dir).await? {
            check_name(&name)?;
            let rel = join(&dir, &name);
            let host = host_node(root, &rel)?;
            match kind {
                Kind::Dir => {
                    if host.as_ref().is_some_and(|h| *h != Node::Dir) {
                        found.insert(rel.clone(), (host, None));
                    }
                    dirs.push(rel);
                }
                Kind::File | Kind::Symlink => {
                    let session = guest.node(&rel).await?;
                    if host == Some(Node::Dir) {
                        deleted(root, &rel, &mut found)?;
                        found.insert(rel, (None, session));
                    } else if host != session {
                        found.insert(rel, (host, session));
                    }
                }
                Kind::Other => {}
            }
        }
    }
    let mut out = Changes::default();
    for (path, (host, session)) in found {
        let host = host.filter(|n| n.digest().is_some());
        let session = session.filter(|n| n.digest().is_some());
        let status = match (&host, &session) {
            (None, None) => continue,
            (None, Some(_)) => Status::Added,
            (Some(_), None) => Status::Deleted,
            (Some(_), Some(_)) => Status::Modified,
        };
        let binary = [&host, &session].into_iter().flatten().any(|n| n.text().is_none());
        out.diff.push_str(&unified(&path, host.as_ref(), session.as_ref(), binary));
        out.files.push(ChangedFile {
            path,
            status,
            binary,
            host_digest: host.as_ref().and_then(Node::digest),
            session_digest: session.as_ref().and_then(Node::digest),
        });
    }
    Ok(out)
}

/// Writes the session's side of `reviewed` to the host directory, all or
/// nothing as far as the checks go: every host file must still be what the
/// diff showed (else the user's edit would be lost), and every session file
/// too (else what lands is not what was reviewed). Files are replaced by a
/// rename; no path is written through a symlink of the host directory.
pub async fn apply(guest: &dyn GuestTree, root: &Path, reviewed: &[ChangedFile]) -> Result<Vec<String>> {
    guest.prefetch().await?;
    let mut plan = Vec::with_capacity(reviewed.len());
    for file in reviewed {
        check_rel(&file.path)?;
        real_parent(root, &file.path)?;
        let host = host_node(root, &file.path)?;
        if host.as_ref().and_then(Node::digest) != file.host_digest {
            return Err(conflict(format!(
                "{} changed on the host since the diff was taken; take a new diff, review it, then apply it",
                file.path
            )));
        }
        let session = guest.node(&file.path).await?;
        if session.as_ref().and_then(Node::digest) != file.session_digest {
            return Err(conflict(format!(
                "{} changed in the session since the diff was taken; take a new diff, review it, then apply it",
                file.path
            )));
        }
        plan.push((file.path.clone(), session));
    }
    for (rel, session) in &plan {
        let path = root.join(rel);
        match session {
            None => match std::fs::remove_file(&path) {
                Ok(()) => remove_empty_parents(root, &path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(host_io(rel, e)),
            },
            Some(node) => write_host(root, rel, node)?,
        }
    }
    Ok(plan.into_iter().map(|(rel, _)| rel).collect())
}

fn conflict(message: String) -> Error {
    Error::new(ErrorCode::WorkspaceConflict, message)
}

fn host_io(rel: &str, e: std::io::Error) -> Error {
    Error::new(ErrorCode::FileSystem, format!("cannot write {rel} in the workspace on the host: {e}")).caused_by(e)
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") }
}

/// A name the guest reported must be one path component.
fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(Error::new(ErrorCode::FileSystem, format!("the session's workspace has an invalid name {name:?}")));
    }
    Ok(())
}

fn check_rel(rel: &str) -> Result<()> {
    if rel.is_empty() || rel.starts_with('/') {
        return Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("changed path {rel:?} is not relative to the workspace"),
        ));
    }
    rel.split('/').try_for_each(check_name).map_err(|_| {
        Error::new(ErrorCode::InvalidArgument, format!("changed path {rel:?} is not a path in the workspace"))
    })
}

/// Every ancestor of `rel` under `root` is a real directory, or missing (then made by the
/// write): never a symlink, which could lead the write out of the workspace.
fn real_parent(root: &Path, rel: &str) -> Result<()> {
    let mut path = root.to_path_buf();
    let parts: Vec<&str> = rel.split('/').collect();
    for part in &parts[..parts.len() - 1] {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(conflict(format!(
                    "{rel} cannot be written: {} is not a directory on the host",
                    path.strip_prefix(root).unwrap_or(&path).display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(host_io(rel, e)),
        }
    }
    Ok(())
}

/// The host's `rel`, not following symlinks anywhere: under a symlinked or missing
/// ancestor it is absent.
fn host_node(root: &Path, rel: &str) -> Result<Option<Node>> {
    if rel.is_empty() {
        return Ok(Some(Node::Dir));
    }
    let mut path = root.to_path_buf();
    for part in rel.split('/') {
        if std::fs::symlink_metadata(&path).map(|m| !m.is_dir()).unwrap_or(true) {
            return Ok(None);
        }
        path.push(part);
    }
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(read_error(rel, e)),
    };
    Ok(Some(if meta.is_dir() {
        Node::Dir
    } else if meta.file_type().is_symlink() {
        Node::Symlink(std::fs::read_link(&path).map_err(|e| read_error(rel, e))?.to_string_lossy().into_owned())
    } else if meta.is_file() {
        let mut content = Vec::new();
        let file = std::fs::File::open(&path).map_err(|e| read_error(rel, e))?;
        file.take(crate::files::MAX_WHOLE_READ_BYTES + 1).read_to_end(&mut content).map_err(|e| read_error(rel, e))?;
        if content.len() as u64 > crate::files::MAX_WHOLE_READ_BYTES {
            return Err(too_big(rel));
        }
        Node::File { content: content.into(), executable: meta.permissions().mode() & 0o111 != 0 }
    } else {
        Node::Other
    }))
}

pub(crate) fn too_big(rel: &str) -> Error {
    Error::new(
        ErrorCode::FileSystem,
        format!("{rel} has more than {} bytes: too big to diff", crate::files::MAX_WHOLE_READ_BYTES),
    )
}

fn read_error(rel: &str, e: std::io::Error) -> Error {
    Error::new(ErrorCode::FileSystem, format!("cannot read {rel} in the workspace on the host: {e}")).caused_by(e)
}

fn host_names(root: &Path, rel: &str) -> Result<Vec<String>> {
    let dir = root.join(rel);
    let entries = std::fs::read_dir(&dir).map_err(|e| read_error(rel, e))?;
    Ok(entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect())
}

/// The host's `rel` and, for a directory, every file under it, as deleted.
fn deleted(root: &Path, rel: &str, found: &mut BTreeMap<String, (Option<Node>, Option<Node>)>) -> Result<()> {
    match host_node(root, rel)? {
        Some(Node::Dir) => {
            for name in host_names(root, rel)? {
                deleted(root, &join(rel, &name), found)?;
            }
        }
        Some(node) => {
            found.insert(rel.to_owned(), (Some(node), None));
        }
        None => {}
    }
    Ok(())
}

fn unified(path: &str, host: Option<&Node>, session: Option<&Node>, binary: bool) -> String {
    let mut out = format!("diff --git a/{path} b/{path}\n");
    match (host, session) {
        (None, Some(s)) => out.push_str(&format!("new file mode {}\n", s.git_mode())),
        (Some(h), None) => out.push_str(&format!("deleted file mode {}\n", h.git_mode())),
        (Some(h), Some(s)) if h.git_mode() != s.git_mode() => {
            out.push_str(&format!("old mode {}\nnew mode {}\n", h.git_mode(), s.git_mode()));
        }
        _ => {}
    }
    let (a, b) = (
        host.map_or("/dev/null".to_owned(), |_| format!("a/{path}")),
        session.map_or("/dev/null".to_owned(), |_| format!("b/{path}")),
    );
    if binary {
        out.push_str(&format!("Binary files {a} and {b} differ\n"));
        return out;
    }
    let (old, new) = (host.and_then(Node::text).unwrap_or(""), session.and_then(Node::text).unwrap_or(""));
    if old != new {
        let diff = similar::TextDiff::from_lines(old, new);
        out.push_str(&diff.unified_diff().context_radius(3).header(&a, &b).missing_newline_hint(true).to_string());
    }
    out
}

/// The session's node written at `rel` by a rename over whatever is there; missing
/// directories are made. A file keeps the host file's other mode bits.
fn write_host(root: &Path, rel: &str, node: &Node) -> Result<()> {
    let path = root.join(rel);
    let parent = path.parent().expect("a relative path under root has a parent");
    std::fs::create_dir_all(parent).map_err(|e| host_io(rel, e))?;
    let temp: PathBuf =
        parent.join(format!(".{}.ai-sdk-microsandbox-{}", crate::naming::anonymous_name(), std::process::id()));
    let result = (|| match node {
        Node::File { content, executable } => {
            std::fs::write(&temp, content)?;
            let old = std::fs::symlink_metadata(&path).ok().filter(|m| m.is_file()).map(|m| m.permissions().mode());
            let base = old.unwrap_or(0o644) & 0o7666 & !0o6000;
            let mode = if *executable { base | ((base & 0o444) >> 2) | 0o100 } else { base };
            std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(mode))?;
            std::fs::rename(&temp, &path)
        }
        Node::Symlink(target) => {
            std::os::unix::fs::symlink(target, &temp)?;
            std::fs::rename(&temp, &path)
        }
        Node::Dir | Node::Other => Ok(()),
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(host_io(rel, e));
    }
    Ok(())
}

/// Directories emptied by a deletion go too, as `git apply` does; never the root.
fn remove_empty_parents(root: &Path, path: &Path) {
    let mut dir = path.parent();
    while let Some(d) = dir.filter(|d| *d != root && d.starts_with(root)) {
        if std::fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// The SDK's side of a running session: the upper layer and the workspace. The upper
/// layer comes in one `tar` stream when the image has tar (as root: the agent may have
/// made files only their owner reads); otherwise, and for what is not in the upper
/// layer, through the guest agent's file API, a few round trips per file.
pub(crate) struct SessionLayers<'s> {
    pub sandbox: &'s std::sync::Arc<microsandbox::Sandbox>,
    /// Where the agent sees the workspace.
    pub merged: &'s str,
    pub upper: String,
    pub prefetched: std::sync::Mutex<Option<UpperEntries>>,
}

/// The upper layer's entries by relative path.
type UpperEntries = BTreeMap<String, (Kind, Option<Node>)>;

/// Most of the upper layer one diff carries over (the agent's changes, whole).
pub const MAX_CHANGES_BYTES: usize = 256 * 1024 * 1024;

fn guest_path(base: &str, rel: &str) -> String {
    if rel.is_empty() { base.to_owned() } else { format!("{base}/{rel}") }
}

impl SessionLayers<'_> {
    async fn list(&self, path: &str) -> Result<Vec<microsandbox::sandbox::fs::FsEntry>> {
        match self.sandbox.fs().list(path).await {
            Ok(entries) => Ok(entries),
            Err(e) => {
                match crate::sdk_text::fs_errno(&e.to_string()) {
                    crate::sdk_text::FsErrno::Missing => Ok(Vec::new()),
                    _ => Err(Error::new(ErrorCode::FileSystem, format!("cannot list {path} in the session: {e}"))
                        .caused_by(e)),
                }
            }
        }
    }

    /// The upper layer as a tar stream, or `None` when the guest cannot make one.
    async fn upper_tar(&self) -> Result<Option<Vec<u8>>> {
        let env = BTreeMap::from([("U".to_owned(), self.upper.clone())]);
        let process = crate::process::Process::start(
            self.sandbox.clone(),
            crate::process::Launch::Exec,
            "/bin/sh",
            r#"cd "$U" && command -v tar >/dev/null && exec tar -cf - ."#,
            "/".to_owned(),
            env,
            crate::process::UnreadBudget::new(MAX_CHANGES_BYTES + 1024 * 1024),
            Some("root"),
        )
        .await?;
        let mut tar = Vec::new();
        while let Some(chunk) = process.stdout.read().await {
            if tar.len() + chunk.len() > MAX_CHANGES_BYTES {
                let _ = process.kill().await;
                return Err(Error::new(
                    ErrorCode::FileSystem,
                    format!(
                        "the session's workspace changes hold more than {} MiB; review them in the session \
                         (a dependency install belongs outside the workspace or in .gitignore'd paths you remove)",
                        MAX_CHANGES_BYTES >> 20
                    ),
                ));
            }
            tar.extend_from_slice(&chunk);
        }
        Ok((process.wait().await == 0).then_some(tar))
    }
}

/// Every entry of a tar of the upper layer, by path relative to it.
fn parse_upper_tar(tar: &[u8]) -> Result<UpperEntries> {
    let bad =
        |e: std::io::Error| Error::new(ErrorCode::FileSystem, format!("the session's upper layer is unreadable: {e}"));
    let mut out = UpperEntries::new();
    for entry in tar::Archive::new(tar).entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = entry.path().map_err(bad)?.to_string_lossy().into_owned();
        let rel = path.trim_start_matches("./").trim_end_matches('/').to_owned();
        if rel.is_empty() || rel == "." {
            continue;
        }
        rel.split('/').try_for_each(check_name)?;
        let header = entry.header();
        let value = match header.entry_type() {
            tar::EntryType::Directory => (Kind::Dir, Some(Node::Dir)),
            tar::EntryType::Symlink => {
                let target =
                    entry.link_name().map_err(bad)?.map(|t| t.to_string_lossy().into_owned()).unwrap_or_default();
                (Kind::Symlink, Some(Node::Symlink(target)))
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let executable = header.mode().map_err(bad)? & 0o111 != 0;
                let mut content = Vec::new();
                entry.read_to_end(&mut content).map_err(bad)?;
                (Kind::File, Some(Node::File { content: content.into(), executable }))
            }
            // A second name of a file seen earlier: the same content.
            tar::EntryType::Link => {
                let first =
                    entry.link_name().map_err(bad)?.map(|t| t.to_string_lossy().into_owned()).unwrap_or_default();
                let first = first.trim_start_matches("./").to_owned();
                match out.get(&first) {
                    Some(found) => found.clone(),
                    None => continue,
                }
            }
            _ => (Kind::Other, Some(Node::Other)),
        };
        out.insert(rel, value);
    }
    Ok(out)
}

fn entry_name(entry: &microsandbox::sandbox::fs::FsEntry) -> Option<String> {
    let name = entry.path.rsplit('/').next()?;
    (name != "." && name != "..").then(|| name.to_owned())
}

impl GuestTree for SessionLayers<'_> {
    fn prefetch(&self) -> BoxFuture<'_, Result<()>> {
        Box::pin(async move {
            if let Some(tar) = self.upper_tar().await? {
                let parsed = parse_upper_tar(&tar)?;
                *self.prefetched.lock().expect("prefetch lock") = Some(parsed);
            }
            Ok(())
        })
    }

    fn upper<'a>(&'a self, rel: &'a str) -> BoxFuture<'a, Result<Vec<(String, Kind)>>> {
        Box::pin(async move {
            use microsandbox::sandbox::fs::FsEntryKind;
            if let Some(all) = self.prefetched.lock().expect("prefetch lock").as_ref() {
                let prefix = if rel.is_empty() { String::new() } else { format!("{rel}/") };
                return Ok(all
                    .iter()
                    .filter_map(|(path, (kind, _))| {
                        let name = path.strip_prefix(&prefix)?;
                        (!name.contains('/')).then(|| (name.to_owned(), *kind))
                    })
                    .collect());
            }
            let entries = self.list(&guest_path(&self.upper, rel)).await?;
            Ok(entries
                .iter()
                .filter_map(|e| {
                    let kind = match e.kind {
                        FsEntryKind::File => Kind::File,
                        FsEntryKind::Symlink => Kind::Symlink,
                        FsEntryKind::Directory => Kind::Dir,
                        FsEntryKind::Other => Kind::Other,
                    };
                    Some((entry_name(e)?, kind))
                })
                .collect())
        })
    }

    fn names<'a>(&'a self, rel: &'a str) -> BoxFuture<'a, Result<BTreeSet<String>>> {
        Box::pin(
            async move { Ok(self.list(&guest_path(self.merged, rel)).await?.iter().filter_map(entry_name).collect()) },
        )
    }

    fn node<'a>(&'a self, rel: &'a str) -> BoxFuture<'a, Result<Option<Node>>> {
        Box::pin(async move {
            use microsandbox::sandbox::fs::FsEntryKind;
            // What the upper layer holds is what the agent sees there.
            if let Some((kind, node)) =
                self.prefetched.lock().expect("prefetch lock").as_ref().and_then(|all| all.get(rel))
                && *kind != Kind::Other
            {
                return Ok(node.clone());
            }
            let path = guest_path(self.merged, rel);
            let meta = match self.sandbox.fs().stat_with_follow(&path, false).await {
                Ok(meta) => meta,
                Err(e) => {
                    return match crate::sdk_text::fs_errno(&e.to_string()) {
                        crate::sdk_text::FsErrno::Missing => Ok(None),
                        _ => Err(Error::new(ErrorCode::FileSystem, format!("cannot stat {path} in the session: {e}"))
                            .caused_by(e)),
                    };
                }
            };
            Ok(Some(match meta.kind {
                FsEntryKind::File => match crate::files::read(self.sandbox, &path).await? {
                    Some(content) => Node::File { content, executable: meta.mode & 0o111 != 0 },
                    None => return Ok(None),
                },
                FsEntryKind::Symlink => Node::Symlink(self.sandbox.fs().read_link(&path).await.map_err(|e| {
                    Error::new(ErrorCode::FileSystem, format!("cannot read the link {path} in the session: {e}"))
                        .caused_by(e)
                })?),
                FsEntryKind::Directory => Node::Dir,
                FsEntryKind::Other => Node::Other,
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A guest whose upper layer and merged view are maps of relative paths.
    #[derive(Default)]
    struct FakeGuest {
        upper: BTreeMap<String, Kind>,
        merged: BTreeMap<String, Node>,
    }

    fn children<'m, V>(map: &'m BTreeMap<String, V>, rel: &'m str) -> impl Iterator<Item = (&'m str, &'m V)> {
        map.iter().filter_map(move |(path, v)| {
            let name = if rel.is_empty() { Some(path.as_str()) } else { path.strip_prefix(&format!("{rel}/")) }?;
            (!name.contains('/')).then_some((name, v))
        })
    }

    impl GuestTree for FakeGuest {
        fn upper<'a>(&'a self, rel: &'a str) -> BoxFuture<'a, Result<Vec<(String, Kind)>>> {
            Box::pin(async move { Ok(children(&self.upper, rel).map(|(n, k)| (n.to_owned(), *k)).collect()) })
        }
        fn names<'a>(&'a self, rel: &'a str) -> BoxFuture<'a, Result<BTreeSet<String>>> {
            Box::pin(async move { Ok(children(&self.merged, rel).map(|(n, _)| n.to_owned()).collect()) })
        }
        fn node<'a>(&'a self, rel: &'a str) -> BoxFuture<'a, Result<Option<Node>>> {
            Box::pin(async move { Ok(self.merged.get(rel).cloned()) })
        }
    }

    fn file(text: &str) -> Node {
        Node::File { content: Bytes::copy_from_slice(text.as_bytes()), executable: false }
    }

    /// A host project, and a guest that sees it unchanged.
    fn project() -> (PathBuf, FakeGuest) {
        let root = std::env::temp_dir().join(format!("aisdk-changes-{}", crate::naming::sandbox_id()));
        let mut guest = FakeGuest::default();
        for (rel, text) in [("README.md", "hello\n"), ("src/main.rs", "fn main() {}\n"), ("src/old/a.txt", "a\n")] {
            std::fs::create_dir_all(root.join(rel).parent().unwrap()).unwrap();
            std::fs::write(root.join(rel), text).unwrap();
            guest.merged.insert(rel.to_owned(), file(text));
        }
        for dir in ["src", "src/old"] {
            guest.merged.insert(dir.to_owned(), Node::Dir);
        }
        (root, guest)
    }

    /// The agent edits README.md, adds src/new.bin (binary), deletes src/old whole.
    fn agent_works(guest: &mut FakeGuest) {
        guest.merged.insert("README.md".into(), file("hello, world\n"));
        guest.upper.insert("README.md".into(), Kind::File);
        guest
            .merged
            .insert("src/new.bin".into(), Node::File { content: Bytes::from_static(b"\0\x01"), executable: true });
        guest.upper.insert("src".into(), Kind::Dir);
        guest.upper.insert("src/new.bin".into(), Kind::File);
        guest.merged.retain(|p, _| !p.starts_with("src/old"));
        guest.upper.insert("src/old".into(), Kind::Other);
    }

    #[tokio::test]
    async fn overlay_changes_name_added_modified_and_deleted_files_with_a_unified_diff() {
        let (root, mut guest) = project();
        assert_eq!(changes(&guest, &root).await.unwrap(), Changes::default(), "nothing written, nothing changed");
        agent_works(&mut guest);
        let out = changes(&guest, &root).await.unwrap();
        let listed: Vec<_> = out.files.iter().map(|f| (f.path.as_str(), f.status, f.binary)).collect();
        assert_eq!(
            listed,
            [
                ("README.md", Status::Modified, false),
                ("src/new.bin", Status::Added, true),
                ("src/old/a.txt", Status::Deleted, false)
            ]
        );
        assert!(
            out.diff.contains("--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-hello\n+hello, world\n"),
            "{}",
            out.diff
        );
        assert!(
            out.diff.contains("new file mode 100755\nBinary files /dev/null and b/src/new.bin differ\n"),
            "{}",
            out.diff
        );
        assert!(out.diff.contains("deleted file mode 100644\n--- a/src/old/a.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n"));
        assert_eq!(std::fs::read_to_string(root.join("README.md")).unwrap(), "hello\n", "the host is untouched");
        let _ = std::fs::remove_dir_all(root);
    }

    #[tokio::test]
    async fn apply_writes_what_was_reviewed_and_then_nothing_is_left_to_apply() {
        let (root, mut guest) = project();
        agent_works(&mut guest);
        let reviewed = changes(&guest, &root).await.unwrap();
        let applied = apply(&guest, &root, &reviewed.files).await.unwrap();
        assert_eq!(applied, ["README.md", "src/new.bin", "src/old/a.txt"]);
        assert_eq!(std::fs::read_to_string(root.join("README.md")).unwrap(), "hello, world\n");
        assert_eq!(std::fs::read(root.join("src/new.bin")).unwrap(), b"\0\x01");
        assert_eq!(std::fs::metadata(root.join("src/new.bin")).unwrap().permissions().mode() & 0o777, 0o755);
        assert!(!root.join("src/old").exists(), "a directory emptied by the deletions goes too");
        assert!(changes(&guest, &root).await.unwrap().files.is_empty(), "host and session agree now");
        let _ = std::fs::remove_dir_all(root);
    }

    #[tokio::test]
    async fn apply_refuses_when_the_host_file_or_the_session_file_changed_since_the_diff_and_writes_nothing() {
        let (root, mut guest) = project();
        agent_works(&mut guest);
        let reviewed = changes(&guest, &root).await.unwrap();
        std::fs::write(root.join("src/old/a.txt"), "the user's edit\n").unwrap();
        let err = apply(&guest, &root, &reviewed.files).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::WorkspaceConflict);
        assert!(err.message.contains("src/old/a.txt changed on the host"), "{}", err.message);
        assert_eq!(std::fs::read_to_string(root.join("README.md")).unwrap(), "hello\n", "all or nothing");
        std::fs::write(root.join("src/old/a.txt"), "a\n").unwrap();
        guest.merged.insert("README.md".into(), file("hello again\n"));
        let err = apply(&guest, &root, &reviewed.files).await.unwrap_err();
        assert!(err.message.contains("README.md changed in the session"), "{}", err.message);
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_tar_of_the_upper_layer_gives_each_entry_its_kind_and_content() {
        let mut tar = tar::Builder::new(Vec::new());
        let mut add = |path: &str, kind: tar::EntryType, mode: u32, data: &[u8], link: Option<&str>| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_size(data.len() as u64);
            match link {
                Some(target) => tar.append_link(&mut h, path, target).unwrap(),
                None => tar.append_data(&mut h, path, data).unwrap(),
            }
        };
        add("./", tar::EntryType::Directory, 0o755, b"", None);
        add("./src/", tar::EntryType::Directory, 0o755, b"", None);
        add("./src/run.sh", tar::EntryType::Regular, 0o755, b"echo hi\n", None);
        add("./src/again.sh", tar::EntryType::Link, 0o755, b"", Some("./src/run.sh"));
        add("./link", tar::EntryType::Symlink, 0o777, b"", Some("src/run.sh"));
        add("./gone.txt", tar::EntryType::Char, 0o000, b"", None);
        let parsed = parse_upper_tar(&tar.into_inner().unwrap()).unwrap();
        let script = Node::File { content: Bytes::from_static(b"echo hi\n"), executable: true };
        assert_eq!(parsed["src"], (Kind::Dir, Some(Node::Dir)));
        assert_eq!(parsed["src/run.sh"], (Kind::File, Some(script.clone())));
        assert_eq!(parsed["src/again.sh"], (Kind::File, Some(script)));
        assert_eq!(parsed["link"], (Kind::Symlink, Some(Node::Symlink("src/run.sh".into()))));
        assert_eq!(parsed["gone.txt"].0, Kind::Other, "a whiteout");
        assert_eq!(parsed.len(), 5);
    }

    #[tokio::test]
    async fn apply_never_writes_through_a_symlink_of_the_host_directory() {
        let (root, mut guest) = project();
        let outside = root.with_extension("outside");
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        // The agent replaced the link with a directory and wrote a file in it.
        guest.merged.insert("link".into(), Node::Dir);
        guest.merged.insert("link/x".into(), file("x\n"));
        guest.upper.insert("link".into(), Kind::Dir);
        guest.upper.insert("link/x".into(), Kind::File);
        let reviewed = changes(&guest, &root).await.unwrap();
        let err = apply(&guest, &root, &reviewed.files).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::WorkspaceConflict, "{}", err.message);
        assert!(!outside.join("x").exists());
        let forged = [ChangedFile {
            path: "../escape".into(),
            status: Status::Added,
            binary: false,
            host_digest: None,
            session_digest: None,
        }];
        assert_eq!(apply(&guest, &root, &forged).await.unwrap_err().code, ErrorCode::InvalidArgument);
        let _ = std::fs::remove_dir_all(root);
        let _ = std::fs::remove_dir_all(outside);
    }
}
