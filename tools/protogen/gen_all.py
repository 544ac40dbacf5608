#!/usr/bin/python3
"""Every product version of the vendored specs -> .proto (docs/protogen.md).

The specs of all public product versions are vendored compressed, as
third_party/tencentcloud-specs/tccli-specs.tar.xz (<service>/<vYYYYMMDD>/
api.json and examples.json). The field-number locks are committed, one per
product version: proto/tencentcloud/<service>/<version>/<service>.lock.json.
A product version is bundled exactly when its lock is committed.

    gen_all.py --out DIR            # build: DIR/tencentcloud/<s>/<v>/<s>.proto
                                    # for every bundled product version whose
                                    # .proto is not committed; fails if a lock
                                    # would change
    gen_all.py --emit cbs/v20170312 [--out DIR]
                                    # one product's .proto (stdout by default)
    gen_all.py --update-locks       # after a new tarball: write the locks (a
                                    # new product version gets one)
    gen_all.py --check              # exit 1 if a lock would change, a product
                                    # version that generates has none, or the
                                    # unpacked specs differ from the tarball
    gen_all.py --list               # the bundled product versions

Python 3 standard library only; run it with /usr/bin/python3.
"""

import argparse
import glob
import json
import multiprocessing
import os
import sys
import tarfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_proto  # noqa: E402

REPO = gen_proto.REPO_ROOT
TARBALL = os.path.join(REPO, "third_party", "tencentcloud-specs", "tccli-specs.tar.xz")
UNPACKED = os.path.join(REPO, "third_party", "tencentcloud-specs")
PROTO_ROOT = os.path.join(REPO, "proto", "tencentcloud")
TARBALL_LABEL = "third_party/tencentcloud-specs/tccli-specs.tar.xz"


def read_specs(tarball, file_name="api.json"):
    """{(service, version): <service>/<version>/<file_name> bytes} of the tarball."""
    specs = {}
    with tarfile.open(tarball, "r:xz") as tar:
        for member in tar:
            parts = member.name.lstrip("./").split("/")
            if len(parts) == 3 and parts[2] == file_name and member.isfile():
                specs[(parts[0], parts[1])] = tar.extractfile(member).read()
    return specs


def lock_path(root, service, version):
    return os.path.join(root, service, version, service + ".lock.json")


def committed_proto(root, service, version):
    path = os.path.join(root, service, version, service + ".proto")
    return path if os.path.exists(path) else None


def bundled(root):
    """[(service, version)] with a committed lock, sorted."""
    out = []
    for path in sorted(glob.glob(os.path.join(root, "*", "v*", "*.lock.json"))):
        version = os.path.basename(os.path.dirname(path))
        service = os.path.basename(os.path.dirname(os.path.dirname(path)))
        if os.path.basename(path) == service + ".lock.json":
            out.append((service, version))
    return out


def generate_one(job):
    """(service, version, api bytes, lock root) -> (key, text, lock text, error)."""
    service, version, raw, root = job
    key = (service, version)
    try:
        spec = json.loads(raw.decode("utf-8"))
        for k in ("actions", "objects"):
            if not isinstance(spec.get(k), dict):
                raise gen_proto.GenError("missing %r object" % k)
        lock = gen_proto.load_lock(lock_path(root, service, version))
        if committed_proto(root, service, version):
            source = "third_party/tencentcloud-specs/%s/%s/api.json" % key
        else:
            source = "%s:%s/%s/api.json" % ((TARBALL_LABEL,) + key)
        text, new_lock = gen_proto.generate(spec, service, version, lock, source)
    except (gen_proto.GenError, ValueError, OSError) as e:
        return key, None, None, str(e)
    return key, text, gen_proto.dump_lock(new_lock), None


def run(jobs, parallel):
    if parallel > 1 and len(jobs) > 1:
        with multiprocessing.Pool(parallel) as pool:
            return pool.map(generate_one, jobs, chunksize=4)
    return [generate_one(j) for j in jobs]


def write_if_changed(path, text):
    if gen_proto.read_or_none(path) != text:
        gen_proto.write_atomic(path, text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--specs", default=TARBALL, help="the specs tarball")
    ap.add_argument("--locks", default=PROTO_ROOT,
                    help="root of <service>/<version>/<service>.lock.json")
    ap.add_argument("--out", help="output root (tencentcloud/... under it)")
    ap.add_argument("--emit", help="<service>/<version>: one product's .proto")
    ap.add_argument("--update-locks", action="store_true")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args(argv)

    if args.list:
        for service, version in bundled(args.locks):
            print("%s/%s" % (service, version))
        return 0
    specs = read_specs(args.specs)
    if args.emit:
        key = tuple(args.emit.strip("/").split("/"))
        if key not in specs:
            sys.stderr.write("gen_all: no spec %s in %s\n" % (args.emit, args.specs))
            return 2
        _, text, _, error = generate_one(key + (specs[key], args.locks))
        if error:
            sys.stderr.write("gen_all: %s: %s\n" % (args.emit, error))
            return 2
        if args.out:
            path = os.path.join(args.out, "tencentcloud", key[0], key[1], key[0] + ".proto")
            write_if_changed(path, text)
            print(path)
        else:
            sys.stdout.write(text)
        return 0

    if args.update_locks or args.check:
        keys = sorted(specs)
    else:
        keys = [k for k in bundled(args.locks) if not committed_proto(args.locks, *k)]
    missing = [k for k in keys if k not in specs]
    if missing:
        sys.stderr.write("gen_all: locks without a spec in %s: %s\n" % (
            args.specs, " ".join("%s/%s" % k for k in missing)))
        return 2
    results = run([k + (specs[k], args.locks) for k in keys], args.jobs)
    have_lock = set(bundled(args.locks))
    status = 0
    for key, text, lock_text, error in results:
        name = "%s/%s" % key
        lpath = lock_path(args.locks, *key)
        if error:
            if key in have_lock or not error.endswith("no online actions"):
                sys.stderr.write("gen_all: %s: %s\n" % (name, error))
                status = 2
            continue  # a product version without online actions: not bundled
        if args.update_locks:
            write_if_changed(lpath, lock_text)
            continue
        if gen_proto.read_or_none(lpath) != lock_text:
            sys.stderr.write("gen_all: %s: the lock %s would change; run "
                             "tools/protogen/regen.sh\n" % (name, os.path.relpath(lpath, REPO)))
            status = max(status, 1)
            continue
        if args.out:
            write_if_changed(os.path.join(args.out, "tencentcloud", key[0], key[1],
                                          key[0] + ".proto"), text)
    if args.check:
        status = max(status, check_unpacked(specs, args.specs))
    return status


def check_unpacked(specs, tarball):
    """The unpacked specs (the committed protos' sources) equal the tarball's."""
    status = 0
    examples = None
    for api in sorted(glob.glob(os.path.join(UNPACKED, "*", "v*", "api.json"))):
        version = os.path.basename(os.path.dirname(api))
        service = os.path.basename(os.path.dirname(os.path.dirname(api)))
        with open(api, "rb") as f:
            same = specs.get((service, version)) == f.read()
        ex = os.path.join(os.path.dirname(api), "examples.json")
        if same and os.path.exists(ex):
            if examples is None:
                examples = read_specs(tarball, "examples.json")
            with open(ex, "rb") as f:
                same = examples.get((service, version)) == f.read()
        if not same:
            sys.stderr.write("gen_all: %s differs from the tarball's copy\n" %
                             os.path.relpath(os.path.dirname(api), REPO))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
