//! The `image` setting: an OCI reference (from the local cache, pulled when
//! missing and a registry is reachable), a docker-save / OCI-layout tarball
//! (loaded once, tagged by content hash), a rootfs directory (packed as an
//! image once per content, never handed to a guest), or a disk image.

use std::path::{Path, PathBuf};

use microsandbox::Image;

use crate::archive_hash;
use crate::error::{Error, ErrorCode, Result};
use crate::progress::Progress;

#[derive(Debug, Clone)]
pub enum ImageSource {
    /// An OCI reference, usable for snapshots.
    Reference(String),
    /// A disk image (`.qcow2`, `.raw`, `.vmdk`).
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

/// Whether sandboxes from this image can be snapshotted: an OCI reference, an
/// image archive or a rootfs directory (both become references), not a disk image.
pub fn snapshot_capable(image: &str) -> bool {
    !looks_like_path(image) || is_archive(Path::new(image)) || Path::new(image).is_dir()
}

pub async fn resolve(cache_root: &Path, image: &str, progress: &Progress) -> Result<ImageSource> {
    if !looks_like_path(image) {
        return Ok(ImageSource::Reference(image.to_owned()));
    }
    let path = PathBuf::from(image);
    let meta = std::fs::metadata(&path).map_err(|e| {
        Error::new(ErrorCode::ImageNotFound, format!("image path {image} cannot be read: {e}")).caused_by(e)
    })?;
    if meta.is_file() && is_archive(&path) {
        return load_archive(cache_root, &path, &meta, progress).await.map(ImageSource::Reference);
    }
    if meta.is_dir() {
        let home = dirs::home_dir();
        refuse_shared_rootfs(&path, &[cache_root, &crate::msb_home::microsandbox_home()], home.as_deref())?;
        return crate::rootfs_image::load(cache_root, &path, progress).await.map(ImageSource::Reference);
    }
    Ok(ImageSource::Path(path))
}

/// A rootfs directory is packed whole: never `/`, the home directory (or a
/// directory holding it), nor this package's or microsandbox's state (or
/// anything in or around it, which packing would read while it changes).
fn refuse_shared_rootfs(path: &Path, state_dirs: &[&Path], home: Option<&Path>) -> Result<()> {
    let real = std::fs::canonicalize(path).map_err(|e| {
        Error::new(ErrorCode::ImageNotFound, format!("image path {} cannot be read: {e}", path.display())).caused_by(e)
    })?;
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let state_overlaps = state_dirs.iter().map(|d| canonical(d)).any(|d| d.starts_with(&real) || real.starts_with(&d));
    let holds_home = home.map(canonical).is_some_and(|h| h.starts_with(&real));
    if real == Path::new("/") || state_overlaps || holds_home {
        return Err(Error::new(
            ErrorCode::InvalidSettings,
            format!(
                "`image` {} is (or holds, or lies in) `/`, a home directory or this package's or microsandbox's state: \
                 not a root filesystem of its own. Use an OCI image or tarball, or a rootfs directory of its own",
                path.display()
            ),
        ));
    }
    Ok(())
}

/// Loads a tarball into the image cache under a tag derived from its content,
/// so the same file is loaded once however many processes use it.
async fn load_archive(cache_root: &Path, path: &Path, meta: &std::fs::Metadata, progress: &Progress) -> Result<String> {
    let mib = meta.len() / (1024 * 1024);
    let hash = match archive_hash::remembered(cache_root, path, meta) {
        Some(hash) => hash,
        None => {
            progress.report("image", format!("hashing image archive {} ({mib} MiB)", path.display()));
            archive_hash::compute(cache_root, path, meta).await?
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
        Error::new(ErrorCode::ImageNotFound, format!("cannot load image archive {}: {e}", path.display())).caused_by(e)
    })?;
    Ok(tag)
}

/// Rewords a failed pull of a reference that is not cached locally.
pub fn missing_reference(reference: &str, err: microsandbox::MicrosandboxError) -> Error {
    Error::new(
        ErrorCode::ImageNotFound,
        format!(
            "image '{reference}' is not in the local image cache and could not be pulled ({err}). \
             Pull it where a registry is reachable, load it with `msb image load <tarball>`, \
             or set `image` to a docker-save/OCI tarball path"
        ),
    )
    .caused_by(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rootfs_directories_refuse_root_home_and_state_dirs() {
        let base = std::env::temp_dir().join(format!("aisdk-rootfs-{}", crate::naming::sandbox_id()));
        let (home, cache, own) = (base.join("home"), base.join("home/.cache/aisdk"), base.join("rootfs"));
        for dir in [&cache, &own] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let check = |p: &Path| refuse_shared_rootfs(p, &[&cache], Some(&home));
        for bad in [Path::new("/"), &home, &cache, &cache.join("..")] {
            let e = check(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidSettings, "{}", bad.display());
            assert!(e.message.contains("`image`"));
        }
        check(&own).unwrap();
        let in_home = home.join("projects/rootfs");
        std::fs::create_dir_all(&in_home).unwrap();
        check(&in_home).unwrap();
        let _ = std::fs::remove_dir_all(base);
    }
}
