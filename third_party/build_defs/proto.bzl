"""C++ code generation from .proto files with Debian's /usr/bin/protoc.

The native cc_proto_library wants a @com_google_protobuf repository, which
would have to be downloaded; this macro runs the system protoc in a genrule.
"""

def tsp_cc_proto_library(name, src, deps = [], visibility = None):
    """Generates `<src>.pb.{h,cc}` and a cc_library `name` over them.

    Args:
      name: the cc_library's name.
      src: one .proto file in this package.
      deps: other tsp_cc_proto_library targets whose .proto files `src` imports.
      visibility: of the generated targets.
    """
    base = src[:-len(".proto")]
    proto_srcs = name + "_srcs"
    native.filegroup(
        name = proto_srcs,
        srcs = [src] + [d + "_srcs" for d in deps],
        visibility = visibility,
    )
    pkg = native.package_name()
    out_dir = "$(GENDIR)" + ("/" + native.repository_name().lstrip("@") if native.repository_name() != "@" else "")
    native.genrule(
        name = name + "_gen",
        srcs = [":" + proto_srcs],
        outs = [base + ".pb.h", base + ".pb.cc"],
        cmd = "/usr/bin/protoc --proto_path=. --cpp_out=$(GENDIR) " + (pkg + "/" if pkg else "") + src,
        visibility = ["//visibility:private"],
    )
    native.cc_library(
        name = name,
        srcs = [base + ".pb.cc"],
        hdrs = [base + ".pb.h"],
        deps = deps + ["@system_libs//:protobuf"],
        visibility = visibility,
    )
