//! Guest file access: binary-safe, streaming, relative paths resolved against
//! the session's working directory, "missing" distinguished from "broken".

use std::sync::Arc;

use bytes::Bytes;
use microsandbox::sandbox::FsSetAttrs;
use microsandbox::sandbox::fs::{FsEntryKind, FsMetadata, FsReadStream, FsWriteSink};
use microsandbox::{MicrosandboxError, Sandbox};

use crate::error::{Error, ErrorCode, Result};

/// Resolves `path` against `cwd` and normalises `.` and `..`, POSIX style.
pub fn resolve_path(cwd: &str, path: &str) -> Result<String> {
    if path.is_empty() || path.contains('\0') {
        return Err(Error::invalid(format!("invalid guest path {path:?}")));
    }
    let joined = if path.starts_with('/') { path.to_owned() } else { format!("{cwd}/{path}") };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    Ok(format!("/{}", parts.join("/")))
}

fn parent_dir(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// What a failed fs operation means for a reader.
enum FsFailure {
    Missing,
    Other(Error),
}

fn classify(path: &str, err: MicrosandboxError) -> FsFailure {
    let text = err.to_string();
    let reason = match crate::sdk_text::fs_errno(&text) {
        crate::sdk_text::FsErrno::Missing => return FsFailure::Missing,
        crate::sdk_text::FsErrno::IsDirectory => "it is a directory".to_owned(),
        crate::sdk_text::FsErrno::PermissionDenied => "permission denied".to_owned(),
        crate::sdk_text::FsErrno::Other => text,
    };
    FsFailure::Other(Error::new(ErrorCode::FileSystem, format!("cannot access guest file {path}: {reason}")))
}

fn fs_error(path: &str, err: MicrosandboxError) -> Error {
    match classify(path, err) {
        FsFailure::Missing => {
            Error::new(ErrorCode::FileSystem, format!("cannot access guest file {path}: no such file or directory"))
        }
        FsFailure::Other(e) => e,
    }
}

/// Largest file that `read` returns whole (readBinaryFile/readTextFile need
/// it in host memory at once); bigger files are read with `open_read`. It
/// bounds the bytes received, not the size `stat` reports: procfs files say 0
/// and never end, and a symlink can be swapped to a device after the check.
pub const MAX_WHOLE_READ_BYTES: u64 = 64 * 1024 * 1024;

/// Fails for anything but a regular file (after following symlinks), and
/// answers whether the path exists. A directory would hang the agent's read,
/// and a device, FIFO or socket never ends (`/dev/zero`) or never answers.
async fn check_readable(sandbox: &microsandbox::Sandbox, path: &str) -> Result<Option<u64>> {
    match sandbox.fs().stat_with_follow(path, true).await {
        Ok(meta) => match meta.kind {
            FsEntryKind::File => Ok(Some(meta.size)),
            FsEntryKind::Directory => {
                Err(Error::new(ErrorCode::FileSystem, format!("cannot read guest file {path}: it is a directory")))
            }
            FsEntryKind::Symlink | FsEntryKind::Other => Err(Error::new(
                ErrorCode::FileSystem,
                format!("cannot read guest file {path}: it is not a regular file (a device, FIFO or socket)"),
            )),
        },
        Err(err) => match classify(path, err) {
            FsFailure::Missing => Ok(None),
            FsFailure::Other(e) => Err(e),
        },
    }
}

pub(crate) async fn read(sandbox: &microsandbox::Sandbox, path: &str) -> Result<Option<Bytes>> {
    let too_big = || {
        Error::new(
            ErrorCode::FileSystem,
            format!(
                "cannot read guest file {path} whole: it has more than {MAX_WHOLE_READ_BYTES} bytes; stream it with readFile()"
            ),
        )
    };
    let Some(size) = check_readable(sandbox, path).await? else { return Ok(None) };
    if size > MAX_WHOLE_READ_BYTES {
        return Err(too_big());
    }
    let Some(mut stream) = open_stream(sandbox, path).await? else { return Ok(None) };
    let mut content = bytes::BytesMut::with_capacity(size as usize);
    while let Some(chunk) = stream.recv().await.map_err(|e| fs_error(path, e))? {
        // Dropping the stream ends the guest side's read.
        if (content.len() + chunk.len()) as u64 > MAX_WHOLE_READ_BYTES {
            return Err(too_big());
        }
        content.extend_from_slice(&chunk);
    }
    Ok(Some(content.freeze()))
}

/// The file's content as a stream; `None` when it does not exist (any more).
async fn open_stream(sandbox: &microsandbox::Sandbox, path: &str) -> Result<Option<FsReadStream>> {
    match sandbox.fs().read_stream(path).await {
        Ok(stream) => Ok(Some(stream)),
        Err(err) => match classify(path, err) {
            FsFailure::Missing => Ok(None),
            FsFailure::Other(e) => Err(e),
        },
    }
}

/// A file being read in chunks; host memory holds one chunk at a time.
pub struct FileReader {
    path: String,
    stream: FsReadStream,
    first: Option<Bytes>,
    done: bool,
}

impl FileReader {
    pub async fn next(&mut self) -> Result<Option<Bytes>> {
        if let Some(first) = self.first.take() {
            return Ok(Some(first));
        }
        if self.done {
            return Ok(None);
        }
        let chunk = self.stream.recv().await.map_err(|e| fs_error(&self.path, e))?;
        self.done = chunk.is_none();
        Ok(chunk)
    }
}

/// Opens a streaming read; `None` when the file does not exist. The first
/// chunk is read eagerly so that errors surface here, not mid-stream.
pub(crate) async fn open_read(sandbox: &microsandbox::Sandbox, path: &str) -> Result<Option<FileReader>> {
    if check_readable(sandbox, path).await?.is_none() {
        return Ok(None);
    }
    let Some(mut stream) = open_stream(sandbox, path).await? else { return Ok(None) };
    let first = match stream.recv().await {
        Ok(first) => first,
        Err(err) => {
            return match classify(path, err) {
                FsFailure::Missing => Ok(None),
                FsFailure::Other(e) => Err(e),
            };
        }
    };
    Ok(Some(FileReader { path: path.to_owned(), stream, done: first.is_none(), first }))
}

/// Makes the parent directories; those it makes are given to `owner` (the session's user), so they
/// can write there too.
async fn ensure_parent(sandbox: &microsandbox::Sandbox, path: &str, owner: Option<(u32, u32)>) -> Result<()> {
    let parent = parent_dir(path);
    if parent == "/" {
        return Ok(());
    }
    let mut missing = Vec::new();
    if owner.is_some() {
        let mut dir = parent;
        while dir != "/" && !sandbox.fs().exists(dir).await.unwrap_or(true) {
            missing.push(dir);
            dir = parent_dir(dir);
        }
    }
    sandbox.fs().mkdir(parent).await.map_err(|e| fs_error(parent, e))?;
    if let Some((uid, gid)) = owner {
        for dir in missing {
            let attrs = FsSetAttrs { uid: Some(uid), gid: Some(gid), ..Default::default() };
            sandbox.fs().set_stat(dir, false, attrs).await.map_err(|e| fs_error(dir, e))?;
        }
    }
    Ok(())
}

/// A file being written in chunks. The content goes to a temporary file next
/// to the target, renamed over it on `close`: readers see the old content or
/// the new one, never a part. Dropped or aborted before `close`, it leaves
/// the old file as it was.
pub struct FileWriter {
    sandbox: Arc<Sandbox>,
    path: String,
    temp: String,
    mode: Option<u32>,
    /// The replaced file's owner, or for a new file the session's user (when not root).
    owner: Option<(u32, u32)>,
    sink: Option<FsWriteSink>,
    done: bool,
}

impl FileWriter {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        let sink = self.sink.as_ref().ok_or_else(|| Error::internal("file writer already closed"))?;
        sink.write(chunk).await.map_err(|e| fs_error(&self.path, e))
    }

    /// Completes the file: flushes it and renames it over the target.
    pub async fn close(&mut self) -> Result<()> {
        let Some(sink) = self.sink.take() else { return Ok(()) };
        let committed = async {
            sink.close().await?;
            if self.mode.is_some() || self.owner.is_some() {
                let (uid, gid) = self.owner.unzip();
                let attrs = FsSetAttrs { mode: self.mode, uid, gid, ..Default::default() };
                self.sandbox.fs().set_stat(&self.temp, false, attrs).await?;
            }
            self.sandbox.fs().rename(&self.temp, &self.path).await
        }
        .await;
        self.done = true;
        if let Err(err) = committed {
            let _ = self.sandbox.fs().remove(&self.temp).await;
            return Err(fs_error(&self.path, err));
        }
        Ok(())
    }

    /// Gives up: the target keeps its old content, the partial file goes.
    pub async fn abort(&mut self) {
        if self.done {
            return;
        }
        self.done = true;
        drop(self.sink.take());
        let _ = self.sandbox.fs().remove(&self.temp).await;
    }
}

impl Drop for FileWriter {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        drop(self.sink.take());
        let (sandbox, temp) = (self.sandbox.clone(), std::mem::take(&mut self.temp));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = sandbox.fs().remove(&temp).await;
            });
        }
    }
}

pub(crate) async fn open_write(sandbox: &Arc<Sandbox>, path: &str, owner: Option<(u32, u32)>) -> Result<FileWriter> {
    ensure_parent(sandbox, path, owner).await?;
    // Writing replaces a symlink's target, not the link, as a plain write would. The new file
    // takes the old one's mode and owner (it replaces it); a file that did not exist is `owner`'s.
    let kept = |m: FsMetadata| (Some(m.mode & 0o7777), Some((m.uid, m.gid)));
    let ((target, mode), owner) = match sandbox.fs().stat_with_follow(path, false).await {
        Ok(meta) if meta.kind == FsEntryKind::Symlink => match sandbox.fs().real_path(path).await {
            Ok(real) => {
                let (mode, kept_owner) = sandbox.fs().stat_with_follow(&real, false).await.map_or((None, owner), kept);
                ((real, mode), kept_owner)
            }
            Err(_) => ((path.to_owned(), None), owner),
        },
        Ok(meta) if meta.kind == FsEntryKind::Directory => {
            return Err(Error::new(
                ErrorCode::FileSystem,
                format!("cannot write guest file {path}: it is a directory"),
            ));
        }
        Ok(meta) => {
            let (mode, kept_owner) = kept(meta);
            ((path.to_owned(), mode), kept_owner)
        }
        Err(err) => match classify(path, err) {
            FsFailure::Missing => ((path.to_owned(), None), owner),
            FsFailure::Other(e) => return Err(e),
        },
    };
    let temp = temp_path(&target);
    let sink = sandbox.fs().write_stream(&temp).await.map_err(|e| fs_error(path, e))?;
    Ok(FileWriter { sandbox: sandbox.clone(), path: target, temp, mode, owner, sink: Some(sink), done: false })
}

/// A hidden sibling of `path`, unique per write: same directory, so the
/// rename stays on one filesystem.
fn temp_path(path: &str) -> String {
    let (dir, base) = match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    };
    let nonce = &crate::naming::anonymous_name()["aisdk-anon-".len()..];
    format!("{dir}/.{base}.{nonce}.aisdk-partial")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_resolve_against_the_working_directory() {
        assert_eq!(resolve_path("/workspace", "a/b.txt").unwrap(), "/workspace/a/b.txt");
        assert_eq!(resolve_path("/workspace", "../etc/x").unwrap(), "/etc/x");
        assert_eq!(resolve_path("/workspace", "/abs/./y//z").unwrap(), "/abs/y/z");
        assert_eq!(resolve_path("/", "..").unwrap(), "/");
        assert!(resolve_path("/w", "").is_err());
    }

    #[test]
    fn partial_files_are_hidden_siblings_of_their_target() {
        let temp = temp_path("/work/dir/out.txt");
        assert!(temp.starts_with("/work/dir/.out.txt."), "{temp}");
        assert!(temp.ends_with(".aisdk-partial"));
        assert_ne!(temp, temp_path("/work/dir/out.txt"));
    }

    #[test]
    fn parent_of_a_top_level_file_is_root() {
        assert_eq!(parent_dir("/a"), "/");
        assert_eq!(parent_dir("/a/b/c"), "/a/b");
    }
}
