"""Compiles .proto files with the system protoc and grpc_cpp_plugin (no Bazel proto toolchain)."""

def proto_cc_library(name, srcs, deps = [], grpc = False, visibility = None):
    """C++ messages (+ gRPC stubs when grpc=True) for `srcs`, all in this package.

    Imports are resolved from the workspace root, so `import "proto/config.proto";` works.
    """
    hdrs = []
    cc_srcs = []
    for src in srcs:
        base = src[:-len(".proto")]
        hdrs.append(base + ".pb.h")
        cc_srcs.append(base + ".pb.cc")
        if grpc:
            hdrs.append(base + ".grpc.pb.h")
            cc_srcs.append(base + ".grpc.pb.cc")

    pkg = native.package_name()
    out_flags = "--cpp_out=$(GENDIR)"
    if grpc:
        out_flags += " --grpc_out=$(GENDIR) --plugin=protoc-gen-grpc=$$(command -v grpc_cpp_plugin)"
    native.genrule(
        name = name + "_protoc",
        srcs = srcs + [d + "_srcs" for d in deps],
        outs = hdrs + cc_srcs,
        cmd = "protoc -I. -I/usr/include %s %s" % (
            out_flags,
            " ".join([pkg + "/" + s for s in srcs]),
        ),
    )
    native.filegroup(
        name = name + "_srcs",
        srcs = srcs + [d + "_srcs" for d in deps],
        visibility = visibility,
    )
    native.cc_library(
        name = name,
        srcs = cc_srcs,
        hdrs = hdrs,
        deps = deps + ["@system_libs//:grpc"],
        visibility = visibility,
    )
