"""protoc and grpc_cpp_plugin from Debian (@system), as genrules.

The same commands as cmake/protos.cmake: outputs land at the proto's import
path under bazel-bin, so `#include "google/rpc/status.pb.h"` means the same
in both builds. (Bazel 4's native proto rules would need the protobuf
repository built from source, which cannot be downloaded here.)
"""

PROTOC = "@system//:bin/protoc"
GRPC_CPP_PLUGIN = "@system//:bin/grpc_cpp_plugin"

# Import roots, each call with the same -I flags as its CMake twin: ours
# (proto/), google.rpc (@system's googleapis), the workspace (test protos);
# the well-known types (/usr/include in CMake) are always there.
PROTO_ROOT = "proto"
GOOGLEAPIS_ROOT = "external/system/googleapis"
WORKSPACE_ROOT = "."

def protoc_includes(roots):
    return " ".join(["-I" + root for root in roots] + ["-Iexternal/system/include"])

# Every .proto an import may reach.
PROTO_INPUTS = ["//:all_protos", "@system//:proto_imports"]

def _package_relative(path):
    prefix = native.package_name()
    if not prefix:
        return path
    if not path.startswith(prefix + "/"):
        fail("%s is not under package %s" % (path, prefix))
    return path[len(prefix) + 1:]

def cc_proto_sources(name, root, import_paths, grpc = False, srcs = []):
    """Generates C++ for `import_paths` (as protoc names them).

    Args:
      name: the genrule's name.
      root: the import root they are relative to (PROTO_ROOT, ...).
      import_paths: .proto files relative to `root`.
      grpc: also run grpc_cpp_plugin.
      srcs: the .proto files themselves when they are not in PROTO_INPUTS.

    Returns:
      The generated .pb.cc/.pb.h (and .grpc.pb.*) files, for a cc_library.
    """
    outs = []
    for path in import_paths:
        stem = _package_relative(path[:-len(".proto")])
        outs += [stem + ".pb.cc", stem + ".pb.h"]
        if grpc:
            outs += [stem + ".grpc.pb.cc", stem + ".grpc.pb.h"]
    plugin = ""
    tools = [PROTOC]
    if grpc:
        plugin = "--grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=$(location %s)" % GRPC_CPP_PLUGIN
        tools.append(GRPC_CPP_PLUGIN)
    native.genrule(
        name = name,
        srcs = srcs + PROTO_INPUTS,
        outs = outs,
        tools = tools,
        cmd = "$(location %s) %s --cpp_out=$(GENDIR) %s %s" % (
            PROTOC,
            protoc_includes([root]),
            plugin,
            " ".join(import_paths),
        ),
        message = "protoc " + " ".join(import_paths),
    )
    return outs
