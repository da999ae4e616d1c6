"""Turns `pkg-config --cflags --libs` of installed Debian packages into cc_library targets.

Each entry of `libraries` becomes `@<name>//:<key>`. Nothing is downloaded: if a package is
missing, the repository fails with the pkg-config error so the set-up script can be re-run.
"""

def _split_flags(text):
    return [f for f in text.replace("\n", " ").split(" ") if f]

def _system_library_impl(rctx):
    build = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, pkgs in rctx.attr.libraries.items():
        args = ["pkg-config", "--cflags", "--libs"] + pkgs.split(" ")
        res = rctx.execute(args)
        if res.return_code != 0:
            fail("pkg-config failed for %s (%s): %s" % (name, pkgs, res.stderr))
        defines = []
        linkopts = []
        includes = []
        for flag in _split_flags(res.stdout) + _split_flags(rctx.attr.extra_linkopts.get(name, "")):
            if flag.startswith("-D"):
                if flag[2:] not in defines:
                    defines.append(flag[2:])
            elif flag.startswith("-I"):
                path = flag[2:]
                if not path.startswith("/usr/include"):
                    link = "include_%d" % len(includes)
                    rctx.symlink(path, link)
                    includes.append(link)
            elif flag not in linkopts:
                linkopts.append(flag)
        build.append("cc_library(\n    name = %r,\n    defines = %r,\n    includes = %r,\n    linkopts = %r,\n)\n" % (name, defines, includes, linkopts))
    rctx.file("WORKSPACE", 'workspace(name = "%s")\n' % rctx.name)
    rctx.file("BUILD.bazel", "\n".join(build))

system_library = repository_rule(
    implementation = _system_library_impl,
    attrs = {
        "libraries": attr.string_dict(mandatory = True),
        "extra_linkopts": attr.string_dict(),
    },
    configure = True,
    local = True,
)
