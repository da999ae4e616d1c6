"""cc_fuzz_test: a libFuzzer target, built only with --config=fuzz (clang).

Tagged `fuzz` and `manual`: `bazel build //...` (gcc) leaves it alone; scripts/fuzz.sh builds
every target tagged `fuzz` in its own output base with clang, runs each for a bounded time on
its seed corpus (testdata/fuzz/<name>/) and fails on a crash, keeping the reproducer.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary")

def cc_fuzz_test(name, srcs, deps = [], dict = None, **kwargs):
    if not name.endswith("_fuzz"):
        fail("fuzz targets are named *_fuzz")
    cc_binary(
        name = name,
        srcs = srcs,
        deps = deps,
        linkopts = ["-fsanitize=fuzzer,address,undefined"],
        tags = ["fuzz", "manual"],
        testonly = True,
        **kwargs
    )
