"""Test rules shared by the BUILD files under tests/."""

# The tests' Python needs Debian's interpreter and its packages
# (python3-grpcio, python3-protobuf, ...), never the first python3 on PATH.
def debian_python_test(name, script, args = [], data = [], **kwargs):
    """An sh_test running `script` with /usr/bin/python3 from the workspace root.

    Args:
      name: the test's name (the same as its ctest name).
      script: the .py file, a label.
      args: more arguments, after the script.
      data: files the script reads; the script itself is added.
      **kwargs: passed to sh_test (size, tags, ...).
    """
    native.sh_test(
        name = name,
        srcs = ["//bazel:debian_python.sh"],
        args = ["$(rootpath %s)" % script] + args,
        data = [script] + data,
        **kwargs
    )
