//! A rootfs-directory `image` made an OCI image, once per content: packed as a
//! one-layer docker-save archive and loaded into the image cache under a tag
//! derived from a fingerprint of the tree. The guest then boots it like any
//! image (a read-only lower and a writable layer of its own), so the host
//! directory is never handed to it: guest root cannot rewrite it. Being a
//! reference, it can also be snapshotted (templates, forks).

use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::Digest;

use crate::error::{Error, ErrorCode, Result};
use crate::progress::Progress;

/// Every entry's mtime in the layer: the same tree always packs to the same bytes.
const EPOCH: u64 = 1_704_067_200;
/// Kept as empty mount points: the guest provides them.
const EMPTY_DIRS: [&str; 3] = ["dev", "proc", "sys"];
/// A rootfs directory carries no image config; commands get a usual PATH.
const PATH_ENV: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The image's tag for the tree at `dir`, loading it into the image cache unless it is there.
pub async fn load(cache_root: &Path, dir: &Path, progress: &Progress) -> Result<String> {
    let real = std::fs::canonicalize(dir).map_err(|e| unreadable(dir, e))?;
    let walked = real.clone();
    let fingerprint = blocking(move || fingerprint(&walked)).await?;
    let tag = format!("localhost/ai-sdk-microsandbox/rootfs-{}:{}", stem(&real), &fingerprint[..24]);
    if microsandbox::Image::get(&tag).await.is_ok() {
        return Ok(tag);
    }
    progress.report("image", format!("packing rootfs directory {} as an image, once per content", real.display()));
    let work = cache_root.join("rootfs-images");
    std::fs::create_dir_all(&work).map_err(|e| crate::cache::io_error(&work, e))?;
    let archive = work.join(format!("{}-{}.tar", &fingerprint[..24], crate::naming::anonymous_name()));
    let (packed, packed_tag, root) = (archive.clone(), tag.clone(), real.clone());
    let result = async {
        blocking(move || pack(&root, &packed, &packed_tag)).await?;
        microsandbox::Image::load(&archive, vec![tag.clone()]).await.map_err(|e| {
            Error::new(
                ErrorCode::ImageNotFound,
                format!("cannot load rootfs directory {} as an image: {e}", real.display()),
            )
            .caused_by(e)
        })
    }
    .await;
    let _ = std::fs::remove_file(&archive);
    let _ = std::fs::remove_file(layer_path(&archive));
    result?;
    Ok(tag)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::new(ErrorCode::Internal, format!("the rootfs packing task ended: {e}")))?
}

fn unreadable(dir: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorCode::ImageNotFound, format!("rootfs directory {} cannot be read: {e}", dir.display())).caused_by(e)
}

fn stem(dir: &Path) -> String {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("rootfs");
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).take(40).collect()
}

/// Every entry of the tree: a directory's entries in byte order, then its subdirectories'
/// in that order (a parent always before its children); `dev`, `proc`, `sys` not entered.
fn walk(root: &Path) -> Result<Vec<(String, std::fs::Metadata)>> {
    let mut out = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() { root.to_path_buf() } else { root.join(&rel) };
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map_err(|e| unreadable(&dir, e))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        let mut subdirs = Vec::new();
        for name in names {
            let path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let meta = std::fs::symlink_metadata(root.join(&path)).map_err(|e| unreadable(&root.join(&path), e))?;
            if meta.is_dir() && !(rel.is_empty() && EMPTY_DIRS.contains(&name.as_str())) {
                subdirs.push(path.clone());
            }
            out.push((path, meta));
        }
        // The stack pops the first subdirectory next.
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(out)
}

/// What the packed image depends on: every entry's path, type, mode, owner, size, mtime and link target.
fn fingerprint(root: &Path) -> Result<String> {
    let mut h = blake3::Hasher::new();
    for (path, meta) in walk(root)? {
        let target = if meta.file_type().is_symlink() {
            std::fs::read_link(root.join(&path)).map(|t| t.to_string_lossy().into_owned()).unwrap_or_default()
        } else {
            String::new()
        };
        let line = format!(
            "{path}\0{}\0{}\0{}\0{}\0{}.{}\0{target}\n",
            meta.mode(),
            meta.uid(),
            meta.gid(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec()
        );
        h.update(line.as_bytes());
    }
    Ok(h.finalize().to_hex().to_string())
}

fn layer_path(archive: &Path) -> PathBuf {
    archive.with_extension("layer")
}

/// The layer (numeric owners, modes, symlinks, hard links; devices and sockets left
/// out), then the docker-save archive around it.
fn pack(root: &Path, archive: &Path, tag: &str) -> Result<()> {
    let io = |e: std::io::Error| crate::cache::io_error(archive, e);
    let layer = layer_path(archive);
    let mut tar = tar::Builder::new(std::io::BufWriter::new(std::fs::File::create(&layer).map_err(io)?));
    let mut first_of_inode = std::collections::HashMap::new();
    for (path, meta) in walk(root)? {
        let mut header = tar::Header::new_gnu();
        header.set_mode(meta.mode() & 0o7777);
        header.set_uid(u64::from(meta.uid()));
        header.set_gid(u64::from(meta.gid()));
        header.set_mtime(EPOCH);
        let kind = meta.file_type();
        if kind.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_size(0);
            tar.append_data(&mut header, format!("{path}/"), std::io::empty()).map_err(io)?;
        } else if kind.is_symlink() {
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            let target = std::fs::read_link(root.join(&path)).map_err(|e| unreadable(&root.join(&path), e))?;
            tar.append_link(&mut header, &path, target).map_err(io)?;
        } else if kind.is_file() {
            let inode = (meta.dev(), meta.ino());
            if meta.nlink() > 1
                && let Some(first) = first_of_inode.get(&inode)
            {
                header.set_entry_type(tar::EntryType::Link);
                header.set_size(0);
                tar.append_link(&mut header, &path, first as &String).map_err(io)?;
                continue;
            }
            first_of_inode.insert(inode, path.clone());
            header.set_entry_type(tar::EntryType::Regular);
            header.set_size(meta.len());
            let file = std::fs::File::open(root.join(&path)).map_err(|e| unreadable(&root.join(&path), e))?;
            tar.append_data(&mut header, &path, file.take(meta.len())).map_err(io)?;
        }
    }
    tar.into_inner().map_err(io)?.flush().map_err(io)?;

    let mut digest = sha2::Sha256::new();
    std::io::copy(&mut std::fs::File::open(&layer).map_err(io)?, &mut digest).map_err(io)?;
    let layer_hex = hex(&digest.finalize());
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": arch,
        "os": "linux",
        "config": { "Env": [PATH_ENV] },
        "rootfs": { "type": "layers", "diff_ids": [format!("sha256:{layer_hex}")] },
    }))
    .expect("json");
    let config_name = format!("{}.json", hex(&sha2::Sha256::digest(&config)));
    let layer_name = format!("{layer_hex}/layer.tar");
    let manifest =
        serde_json::to_vec(&serde_json::json!([{ "Config": config_name, "RepoTags": [tag], "Layers": [layer_name] }]))
            .expect("json");

    let mut out = tar::Builder::new(std::io::BufWriter::new(std::fs::File::create(archive).map_err(io)?));
    let mut add = |name: &str, size: u64, data: &mut dyn Read| {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_mtime(EPOCH);
        header.set_size(size);
        out.append_data(&mut header, name, data)
    };
    let layer_len = std::fs::metadata(&layer).map_err(io)?.len();
    add(&layer_name, layer_len, &mut std::fs::File::open(&layer).map_err(io)?).map_err(io)?;
    add(&config_name, config.len() as u64, &mut config.as_slice()).map_err(io)?;
    add("manifest.json", manifest.len() as u64, &mut manifest.as_slice()).map_err(io)?;
    out.into_inner().map_err(io)?.flush().map_err(io)?;
    std::fs::remove_file(&layer).map_err(io)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> PathBuf {
        let root = std::env::temp_dir().join(format!("aisdk-rootfs-image-{}", crate::naming::sandbox_id()));
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(root.join("proc/1")).unwrap();
        std::fs::write(root.join("bin/sh"), "#!echo\n").unwrap();
        std::fs::hard_link(root.join("bin/sh"), root.join("bin/ash")).unwrap();
        std::os::unix::fs::symlink("sh", root.join("bin/bash")).unwrap();
        std::fs::write(root.join("proc/1/status"), "not packed").unwrap();
        root
    }

    #[test]
    fn the_fingerprint_follows_the_content_of_the_tree() {
        let root = tree();
        let first = fingerprint(&root).unwrap();
        assert_eq!(first, fingerprint(&root).unwrap());
        std::fs::write(root.join("bin/new"), "x").unwrap();
        assert_ne!(first, fingerprint(&root).unwrap());
        let _ = std::fs::remove_dir_all(root);
    }

    #[test]
    fn a_rootfs_directory_packs_to_a_docker_save_archive_whose_layer_is_the_tree() {
        let root = tree();
        let archive = root.with_extension("tar");
        pack(&root, &archive, "localhost/t:1").unwrap();
        let mut names = Vec::new();
        let mut manifest = serde_json::Value::Null;
        let mut layer = Vec::new();
        for entry in tar::Archive::new(std::fs::File::open(&archive).unwrap()).entries().unwrap() {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            if name == "manifest.json" {
                manifest = serde_json::from_reader(&mut entry).unwrap();
            } else if name.ends_with("layer.tar") {
                entry.read_to_end(&mut layer).unwrap();
            }
            names.push(name);
        }
        assert_eq!(manifest[0]["RepoTags"][0], "localhost/t:1");
        assert_eq!(manifest[0]["Layers"][0], format!("{}/layer.tar", hex(&sha2::Sha256::digest(&layer))));
        let mut inner = Vec::new();
        for entry in tar::Archive::new(layer.as_slice()).entries().unwrap() {
            let entry = entry.unwrap();
            inner.push((entry.path().unwrap().to_string_lossy().into_owned(), entry.header().entry_type()));
        }
        use tar::EntryType::*;
        let expected =
            [("bin/", Directory), ("proc/", Directory), ("bin/ash", Regular), ("bin/bash", Symlink), ("bin/sh", Link)];
        let inner: Vec<_> = inner.iter().map(|(p, t)| (p.as_str(), *t)).collect();
        assert_eq!(inner, expected, "procfs contents are left out, a second name is a hard link");
        let _ = std::fs::remove_file(archive);
        let _ = std::fs::remove_dir_all(root);
    }
}
