#!/usr/bin/env python3
"""Check a docker-save tarball's structure: manifest -> config -> layer digests.

usage: verify_docker_archive.py ARCHIVE [PATH_IN_ROOTFS ...]

Exits non-zero on any mismatch. Each extra argument must exist in the layer
(e.g. bin/sh). Prints a one-line summary per image.
"""
import hashlib
import json
import sys
import tarfile


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    archive, expected = sys.argv[1], sys.argv[2:]
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        assert isinstance(manifest, list) and manifest, "manifest.json: empty"
        for image in manifest:
            config_bytes = tar.extractfile(image["Config"]).read()
            config_hex = hashlib.sha256(config_bytes).hexdigest()
            assert image["Config"] == f"{config_hex}.json", f"config digest {config_hex}"
            config = json.loads(config_bytes)
            assert (config["os"], config["architecture"]) == ("linux", "amd64")
            diff_ids = config["rootfs"]["diff_ids"]
            assert len(diff_ids) == len(image["Layers"]), "layer count mismatch"
            names = set()
            for layer_path, diff_id in zip(image["Layers"], diff_ids):
                h = hashlib.sha256()
                f = tar.extractfile(layer_path)
                while chunk := f.read(1 << 20):
                    h.update(chunk)
                assert diff_id == f"sha256:{h.hexdigest()}", f"{layer_path}: digest mismatch"
                with tarfile.open(fileobj=tar.extractfile(layer_path)) as layer:
                    for m in layer:
                        assert not (m.ischr() or m.isblk()), f"device node {m.name}"
                        names.add(m.name.rstrip("/"))
            missing = [p for p in expected if p.strip("/") not in names]
            assert not missing, f"missing in rootfs: {missing}"
            print(f"ok {image['RepoTags']} entries={len(names)} config={json.dumps(config['config'])}")


if __name__ == "__main__":
    main()
