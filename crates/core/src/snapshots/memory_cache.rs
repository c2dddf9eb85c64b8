//! The runtime's RAM cache of restored snapshots. microsandbox 0.7.2 realizes
//! a snapshot's memory as a file (`cache/memory/snapshots/<id>-<page size>.ram`,
//! as large as the microVM's RAM) the first time it restores it, and never
//! evicts it when the snapshot is removed: every template bootstrap would
//! leave its RAM size on disk for good. After a prune, the entries that no
//! snapshot or sandbox refers to and no microVM maps (a mapping holds a shared
//! lock on the file, as the runtime's own eviction checks) are removed. An
//! entry removed wrongly would only be realized again from its snapshot.

use std::collections::HashSet;
use std::path::Path;

/// Removes the RAM cache entries nothing refers to or maps; answers the bytes freed.
pub fn evict_orphans(msb_home: &Path) -> u64 {
    let mut referenced = HashSet::new();
    for top in ["snapshots", "sandboxes"] {
        collect_memory_ids(&msb_home.join(top), 5, &mut referenced);
    }
    let Ok(entries) = std::fs::read_dir(msb_home.join("cache/memory/snapshots")) else { return 0 };
    let mut freed = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let Some(stem) = name.strip_suffix(".ram") else { continue };
        // `<algorithm>-<hex>-<page size>`: the identity is what precedes the page size.
        let Some((identity, _page)) = stem.rsplit_once('-') else { continue };
        if referenced.contains(identity) {
            continue;
        }
        if let Some(bytes) = remove_unpinned(&path) {
            freed += bytes;
            let _ = std::fs::remove_file(path.with_extension("build-lock"));
        }
    }
    freed
}

/// The `memory` of every `checkpoint.json` under `dir`, as cache identities (`sha256-<hex>`).
fn collect_memory_ids(dir: &Path, depth: usize, into: &mut HashSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else { continue };
        if kind.is_dir() && depth > 0 {
            collect_memory_ids(&path, depth - 1, into);
        } else if kind.is_file() && entry.file_name() == "checkpoint.json" {
            let memory = std::fs::read(&path)
                .ok()
                .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
                .and_then(|json| json.get("memory")?.as_str().map(|m| m.replace(':', "-")));
            into.extend(memory);
        }
    }
}

/// Removes `path` unless a microVM maps it (holds its lock); answers its size when removed.
fn remove_unpinned(path: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::File::open(path).ok()?;
    file.try_lock().ok()?;
    let opened = file.metadata().ok()?;
    // Not a new entry published under the same name since we opened this one.
    let current = std::fs::symlink_metadata(path).ok()?;
    if (opened.dev(), opened.ino()) != (current.dev(), current.ino()) {
        return None;
    }
    std::fs::remove_file(path).ok()?;
    Some(opened.blocks() * 512)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ram_cache_entries_of_removed_snapshots_go_and_referenced_or_mapped_ones_stay() {
        let home = std::env::temp_dir().join(format!("aisdk-memcache-{}", crate::naming::sandbox_id()));
        let cache = home.join("cache/memory/snapshots");
        let checkpoint = home.join("snapshots/ai-sdk-microsandbox/snap_1/checkpoint");
        std::fs::create_dir_all(&cache).unwrap();
        std::fs::create_dir_all(&checkpoint).unwrap();
        std::fs::write(checkpoint.join("checkpoint.json"), r#"{"memory":"sha256:aaaa"}"#).unwrap();
        for id in ["aaaa", "bbbb", "cccc"] {
            std::fs::write(cache.join(format!("sha256-{id}-4096.ram")), vec![1u8; 8192]).unwrap();
            std::fs::write(cache.join(format!("sha256-{id}-4096.build-lock")), "").unwrap();
        }
        // A running fork maps cccc: it holds a shared lock.
        let mapped = std::fs::File::open(cache.join("sha256-cccc-4096.ram")).unwrap();
        mapped.lock_shared().unwrap();
        assert!(evict_orphans(&home) >= 8192);
        let left: HashSet<String> =
            std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert!(left.contains("sha256-aaaa-4096.ram"), "a snapshot refers to it");
        assert!(!left.contains("sha256-bbbb-4096.ram") && !left.contains("sha256-bbbb-4096.build-lock"));
        assert!(left.contains("sha256-cccc-4096.ram"), "a microVM maps it");
        drop(mapped);
        assert_eq!(evict_orphans(&home), 8192);
        let _ = std::fs::remove_dir_all(home);
    }
}
