#!/usr/bin/env python3
"""Pack a rootfs directory as a deterministic single-layer `docker save` tarball.

usage: pack_docker_archive.py ROOTFS CONFIG_JSON OUT_TAR TAG [--all-root]

CONFIG_JSON is the image's runtime config fragment ({"Env": [...], "Cmd": [...],
"WorkingDir": "..."}), copied verbatim into the image config's "config" key.
--all-root records every entry as uid/gid 0 (for rootfs trees built without root).

The layer keeps numeric uid/gid, permission bits (incl. setuid/sticky), symlinks and
hardlinks; every mtime is set to SOURCE_DATE_EPOCH (default below) and entries are
written in sorted order, so the same tree always gives the same bytes. Device nodes,
sockets and the contents of /dev, /proc and /sys are left out (the VM provides them).
"""
import hashlib
import io
import json
import os
import stat
import sys
import tarfile
import time

EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "1704067200"))  # 2024-01-01T00:00:00Z
EMPTY_DIRS = {"dev", "proc", "sys"}  # kept as empty mount points


def walk(root, rel=""):
    """Yield (relative path, lstat) depth-first, children in byte-sorted order."""
    full = os.path.join(root, rel) if rel else root
    for name in sorted(os.listdir(full)):
        path = f"{rel}/{name}" if rel else name
        st = os.lstat(os.path.join(root, path))
        yield path, st
        if stat.S_ISDIR(st.st_mode):
            if os.path.ismount(os.path.join(root, path)):
                sys.exit(f"pack: {path} is a mount point; unmount it before packing")
            if path not in EMPTY_DIRS:
                yield from walk(root, path)


def write_layer(root, fileobj, all_root):
    seen_inodes = {}  # (dev, ino) -> first path, to emit later names as hardlinks
    with tarfile.open(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, st in walk(root):
            mode = st.st_mode
            ti = tarfile.TarInfo(path)
            ti.mode = stat.S_IMODE(mode)
            ti.uid, ti.gid = (0, 0) if all_root else (st.st_uid, st.st_gid)
            ti.uname = ti.gname = ""
            ti.mtime = EPOCH
            data = None
            if stat.S_ISDIR(mode):
                ti.type = tarfile.DIRTYPE
            elif stat.S_ISLNK(mode):
                ti.type = tarfile.SYMTYPE
                ti.linkname = os.readlink(os.path.join(root, path))
            elif stat.S_ISREG(mode):
                key = (st.st_dev, st.st_ino)
                if st.st_nlink > 1 and key in seen_inodes:
                    ti.type = tarfile.LNKTYPE
                    ti.linkname = seen_inodes[key]
                else:
                    seen_inodes.setdefault(key, path)
                    ti.size = st.st_size
                    data = open(os.path.join(root, path), "rb")
            elif stat.S_ISFIFO(mode):
                ti.type = tarfile.FIFOTYPE
            else:  # char/block devices, sockets
                print(f"pack: skipping special file {path}", file=sys.stderr)
                continue
            tar.addfile(ti, data)
            if data:
                data.close()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def add_bytes(tar, name, data):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), 0o644, EPOCH
    tar.addfile(ti, io.BytesIO(data))


def main():
    args = [a for a in sys.argv[1:] if a != "--all-root"]
    if len(args) != 4:
        sys.exit(__doc__)
    rootfs, config_path, out, tag = args
    all_root = "--all-root" in sys.argv
    with open(config_path) as f:
        runtime_config = json.load(f)

    # Write the layer next to the output first: its digest names everything else.
    layer_tmp = out + ".layer.tmp"
    with open(layer_tmp, "wb") as f:
        write_layer(rootfs, f, all_root)
    layer_hex = sha256_file(layer_tmp)  # the diff_id (the layer is stored uncompressed)
    layer_size = os.path.getsize(layer_tmp)

    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(EPOCH))
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": runtime_config,
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_hex}"]},
        "history": [{"created": created, "created_by": f"scripts/images ({tag})"}],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    repo, _, version = tag.rpartition(":")
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": [f"{layer_hex}/layer.tar"]}]
    legacy_json = {"id": layer_hex, "created": created, "os": "linux", "architecture": "amd64"}

    dump = lambda o: json.dumps(o, sort_keys=True, separators=(",", ":")).encode()
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        d = tarfile.TarInfo(layer_hex)
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o755, EPOCH
        tar.addfile(d)
        add_bytes(tar, f"{layer_hex}/VERSION", b"1.0")
        add_bytes(tar, f"{layer_hex}/json", dump(legacy_json))
        ti = tarfile.TarInfo(f"{layer_hex}/layer.tar")
        ti.size, ti.mode, ti.mtime = layer_size, 0o644, EPOCH
        with open(layer_tmp, "rb") as f:
            tar.addfile(ti, f)
        add_bytes(tar, config_name, config_bytes)
        add_bytes(tar, "manifest.json", dump(manifest))
        add_bytes(tar, "repositories", dump({repo: {version: layer_hex}}))
    os.unlink(layer_tmp)
    print(f"pack: {out}: layer sha256:{layer_hex} ({layer_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
