//! The `image` setting: an OCI reference (from the local cache, pulled when
//! missing and a registry is reachable), a docker-save / OCI-layout tarball
//! (loaded once, tagged by content hash), or a rootfs directory / disk image.

use std::path::{Path, PathBuf};

use microsandbox::Image;

use crate::archive_hash;
use crate::error::{Error, ErrorCode, Result};
use crate::host::Host;
use crate::progress::Progress;

#[derive(Debug, Clone)]
pub enum ImageSource {
    /// An OCI reference, usable for snapshots.
    Reference(String),
    /// A rootfs directory or a disk image (`.qcow2`, `.raw`, `.vmdk`).
    Path(PathBuf),
}

impl ImageSource {
    pub fn apply(&self, builder: microsandbox::sandbox::SandboxBuilder) -> microsandbox::sandbox::SandboxBuilder {
        match self {
            Self::Reference(r) => builder.image(r.as_str()),
            Self::Path(p) => builder.image(p.clone()),
        }
    }
}

fn looks_like_path(image: &str) -> bool {
    image.starts_with('/') || image.starts_with("./") || image.starts_with("../") || image.starts_with('~')
}

fn is_archive(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".tar") || name.ends_with(".tar.gz") || name.ends_with(".tgz") || name.ends_with(".oci")
}

/// Whether sandboxes from this image can be snapshotted: an OCI reference or
/// an image archive, not a rootfs directory or disk image.
pub fn snapshot_capable(image: &str) -> bool {
    !looks_like_path(image) || is_archive(Path::new(image))
}

pub async fn resolve(host: &Host, image: &str, progress: &Progress) -> Result<ImageSource> {
    if !looks_like_path(image) {
        return Ok(ImageSource::Reference(image.to_owned()));
    }
    let path = PathBuf::from(image);
    let meta = std::fs::metadata(&path)
        .map_err(|e| Error::new(ErrorCode::ImageNotFound, format!("image path {image} cannot be read: {e}")))?;
    if meta.is_file() && is_archive(&path) {
        return load_archive(host, &path, &meta, progress).await.map(ImageSource::Reference);
    }
    Ok(ImageSource::Path(path))
}

/// Loads a tarball into the image cache under a tag derived from its content,
/// so the same file is loaded once however many processes use it.
async fn load_archive(host: &Host, path: &Path, meta: &std::fs::Metadata, progress: &Progress) -> Result<String> {
    let mib = meta.len() / (1024 * 1024);
    let hash = match archive_hash::remembered(host.cache_root(), path, meta) {
        Some(hash) => hash,
        None => {
            progress.report("image", format!("hashing image archive {} ({mib} MiB)", path.display()));
            archive_hash::compute(host.cache_root(), path, meta).await?
        }
    };
    let stem: String = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("image")
        .split('.')
        .next()
        .unwrap_or("image")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    let tag = format!("localhost/ai-sdk-microsandbox/{stem}:{hash}");
    if Image::get(&tag).await.is_ok() {
        return Ok(tag);
    }
    progress
        .report("image", format!("loading image archive {} ({mib} MiB) into the image cache, once", path.display()));
    Image::load(path, vec![tag.clone()]).await.map_err(|e| {
        Error::new(ErrorCode::ImageNotFound, format!("cannot load image archive {}: {e}", path.display()))
    })?;
    Ok(tag)
}

/// Rewords a failed pull of a reference that is not cached locally.
pub fn missing_reference(reference: &str, err: &microsandbox::MicrosandboxError) -> Error {
    Error::new(
        ErrorCode::ImageNotFound,
        format!(
            "image '{reference}' is not in the local image cache and could not be pulled ({err}). \
             Pull it where a registry is reachable, load it with `msb image load <tarball>`, \
             or set `image` to a docker-save/OCI tarball path"
        ),
    )
}
