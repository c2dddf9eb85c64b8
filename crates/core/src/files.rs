//! Guest file access: binary-safe, streaming, relative paths resolved against
//! the session's working directory, "missing" distinguished from "broken".

use bytes::Bytes;
use microsandbox::MicrosandboxError;
use microsandbox::sandbox::fs::{FsEntryKind, FsReadStream, FsWriteSink};

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
    let lower = text.to_ascii_lowercase();
    // The agent reports errno text; a missing file or a file used as a directory means "does not exist".
    if lower.contains("no such file") || lower.contains("os error 2)") || lower.contains("not a directory") || lower.contains("os error 20)") {
        return FsFailure::Missing;
    }
    let reason = if lower.contains("is a directory") || lower.contains("os error 21)") {
        "it is a directory".to_owned()
    } else if lower.contains("permission denied") || lower.contains("os error 13)") {
        "permission denied".to_owned()
    } else {
        text
    };
    FsFailure::Other(Error::new(ErrorCode::FileSystem, format!("cannot access guest file {path}: {reason}")))
}

fn fs_error(path: &str, err: MicrosandboxError) -> Error {
    match classify(path, err) {
        FsFailure::Missing => Error::new(ErrorCode::FileSystem, format!("cannot access guest file {path}: no such file or directory")),
        FsFailure::Other(e) => e,
    }
}

/// Fails for a directory, and answers whether the path exists. Reading a
/// directory through the agent would otherwise hang instead of failing.
async fn check_readable(sandbox: &microsandbox::Sandbox, path: &str) -> Result<bool> {
    match sandbox.fs().stat_with_follow(path, true).await {
        Ok(meta) if meta.kind == FsEntryKind::Directory => Err(Error::new(
            ErrorCode::FileSystem,
            format!("cannot read guest file {path}: it is a directory"),
        )),
        Ok(_) => Ok(true),
        Err(err) => match classify(path, err) {
            FsFailure::Missing => Ok(false),
            FsFailure::Other(e) => Err(e),
        },
    }
}

pub(crate) async fn read(sandbox: &microsandbox::Sandbox, path: &str) -> Result<Option<Bytes>> {
    if !check_readable(sandbox, path).await? {
        return Ok(None);
    }
    match sandbox.fs().read(path).await {
        Ok(bytes) => Ok(Some(bytes)),
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
    if !check_readable(sandbox, path).await? {
        return Ok(None);
    }
    let mut stream = match sandbox.fs().read_stream(path).await {
        Ok(stream) => stream,
        Err(err) => {
            return match classify(path, err) {
                FsFailure::Missing => Ok(None),
                FsFailure::Other(e) => Err(e),
            };
        }
    };
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

async fn ensure_parent(sandbox: &microsandbox::Sandbox, path: &str) -> Result<()> {
    let parent = parent_dir(path);
    if parent != "/" {
        sandbox.fs().mkdir(parent).await.map_err(|e| fs_error(parent, e))?;
    }
    Ok(())
}

/// Writes a whole file, creating parent directories and replacing any old content.
pub(crate) async fn write(sandbox: &microsandbox::Sandbox, path: &str, data: &[u8]) -> Result<()> {
    ensure_parent(sandbox, path).await?;
    sandbox.fs().write(path, data).await.map_err(|e| fs_error(path, e))
}

/// A file being written in chunks; must be closed to be complete.
pub struct FileWriter {
    path: String,
    sink: Option<FsWriteSink>,
}

impl FileWriter {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        let sink = self.sink.as_ref().ok_or_else(|| Error::internal("file writer already closed"))?;
        sink.write(chunk).await.map_err(|e| fs_error(&self.path, e))
    }

    pub async fn close(&mut self) -> Result<()> {
        match self.sink.take() {
            Some(sink) => sink.close().await.map_err(|e| fs_error(&self.path, e)),
            None => Ok(()),
        }
    }
}

pub(crate) async fn open_write(sandbox: &microsandbox::Sandbox, path: &str) -> Result<FileWriter> {
    ensure_parent(sandbox, path).await?;
    let sink = sandbox.fs().write_stream(path).await.map_err(|e| fs_error(path, e))?;
    Ok(FileWriter { path: path.to_owned(), sink: Some(sink) })
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
    fn parent_of_a_top_level_file_is_root() {
        assert_eq!(parent_dir("/a"), "/");
        assert_eq!(parent_dir("/a/b/c"), "/a/b");
    }
}
