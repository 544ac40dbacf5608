#!/usr/bin/python3
"""Flags and the config file as a user meets them (docs/configuration.md),
envelope-gateway and envelope-cli run as real processes:

- `--help` spells every flag as the docs do (`--admin-listen`), and lists
  the environment variables the gateway reads (each name its sources read);
- an unknown flag is named in that spelling, with the nearest known flag;
  a bad value names the flag the same way, however it was typed;
- a YAML key given twice is an error naming the key and both lines; an
  unknown key comes with the nearest known one;
- a file that cannot be read says why, in the system's words;
- `envelope-cli --help` prints its usage; its typos are answered the same
  way.

    /usr/bin/python3 tests/python/flags_test.py \\
        --gateway build/gateway/main/envelope-gateway \\
        --cli build/tools/cli/envelope-cli
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import harness
from harness import REPO

GATEWAY_BIN = ""
CLI_BIN = ""
CONFIG_DOC = os.path.join(REPO, "docs", "configuration.md")

# What the gateway reads from the environment (docs/credentials.md,
# docs/configuration.md `--proxy`): --help must name each.
ENVIRONMENT = [
    "TENCENTCLOUD_SECRET_ID", "TENCENTCLOUD_SECRET_KEY",
    "TENCENTCLOUD_SESSION_TOKEN", "TENCENTCLOUD_CREDENTIALS_FILE",
    "TENCENTCLOUD_PROFILE", "HOME", "TKE_REGION", "TKE_PROVIDER_ID",
    "TKE_WEB_IDENTITY_TOKEN_FILE", "TKE_ROLE_ARN", "HTTPS_PROXY",
    "https_proxy", "http_proxy", "NO_PROXY", "no_proxy",
]

TMP = None


def setUpModule():
    global TMP
    TMP = tempfile.mkdtemp(prefix="flags-test-")
    os.chmod(TMP, 0o755)  # the permission case runs as another user


def tearDownModule():
    shutil.rmtree(TMP, ignore_errors=True)


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          env=harness.scrubbed_env(), **kwargs)


def write(name, text, mode=0o644):
    path = os.path.join(TMP, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def environment_section(help_text):
    return help_text.split("\nEnvironment:\n", 1)[1]


class GatewayHelpTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        r = run([GATEWAY_BIN, "--help"])
        assert r.returncode == 0, r.stderr
        cls.help = r.stdout

    def test_flags_are_spelled_as_the_docs_spell_them(self):
        flags = re.findall(r"^  (--[a-z0-9_-]+)=", self.help, re.M)
        self.assertGreater(len(flags), 30, self.help)
        self.assertIn("--admin-listen", flags)
        self.assertEqual([f for f in flags if "_" in f], [])
        with open(CONFIG_DOC, encoding="utf-8") as f:
            doc = f.read()
        self.assertEqual([f for f in flags if "`%s`" % f not in doc], [],
                         "flags of --help not in docs/configuration.md as "
                         "written there")

    def test_underscores_are_still_accepted(self):
        ok = write("ok.yaml", "signing: none\n")
        for flag in ("--admin_listen=127.0.0.1:0", "--admin-listen=127.0.0.1:0"):
            with self.subTest(flag):
                r = run([GATEWAY_BIN, flag, "--check_config", ok])
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_environment_variables_are_listed(self):
        section = environment_section(self.help)
        names = set(re.findall(r"\b[A-Za-z_]+\b", section))
        self.assertEqual([n for n in ENVIRONMENT if n not in names], [],
                         section)

    def test_every_variable_the_sources_read_is_listed(self):
        sources = glob.glob(os.path.join(REPO, "gateway", "**", "*.cc"),
                            recursive=True)
        if not sources:  # a Bazel sandbox holds the binaries, not gateway/
            self.skipTest("no gateway sources next to the test")
        read = set()
        for path in sources:
            with open(path, encoding="utf-8") as f:
                read.update(re.findall(
                    r'(?:getenv|\bEnv)\(\s*(?:\w+,\s*)?"([A-Za-z_]+)"',
                    f.read()))
        # The scan must see what it looks for: the credential chain's names.
        self.assertIn("TENCENTCLOUD_SECRET_ID", read)
        self.assertIn("TKE_ROLE_ARN", read)
        names = set(re.findall(r"\b[A-Za-z_]+\b",
                               environment_section(self.help)))
        self.assertEqual(sorted(read - names), [])


class GatewayErrorTest(unittest.TestCase):

    def assertRefused(self, argv, message):
        """Exit 2 and exactly `message` on stderr, one line."""
        r = run([GATEWAY_BIN] + argv)
        self.assertEqual(r.returncode, 2, (argv, r.stdout, r.stderr))
        self.assertEqual(r.stderr, "envelope-gateway: %s\n" % message)

    def test_unknown_flag_names_the_nearest(self):
        cases = [
            (["--max-attemps=3"],
             "unknown flag --max-attemps (did you mean --max-attempts?)"),
            (["--admin_listn=127.0.0.1:0"],
             "unknown flag --admin-listn (did you mean --admin-listen?)"),
            (["--check-confg", "x.yaml"],
             "unknown flag --check-confg (did you mean --check-config?)"),
            (["--regoin", "ap-guangzhou"],
             "unknown flag --regoin (did you mean --region?)"),
            (["--completely-different"], "unknown flag --completely-different"),
        ]
        for argv, message in cases:
            with self.subTest(argv[0]):
                self.assertRefused(argv, message)

    def test_bad_value_names_the_flag_as_documented(self):
        self.assertRefused(["--max_attempts=abc"],
                           "--max-attempts: expected a whole number")
        self.assertRefused(["--shutdown-grace=5 parsecs"],
                           "--shutdown-grace: expected a duration like 250ms, "
                           "5s or 1m")
        self.assertRefused(["--check_config"], "--check-config needs a file")

    def test_duplicate_key_names_the_key_and_lines(self):
        top = write("top.yaml", "signing: none\nmax_attempts: 3\n"
                    "log_level: info\nmax_attempts: 5\n")
        self.assertRefused(
            ["--check-config", top],
            'config %s: line 4: duplicate key "max_attempts" (first at line 2)'
            % top)
        nested = write("nested.yaml", "signing: none\nstatus_override:\n"
                       "  ResourceInUse: UNAVAILABLE\n"
                       "  FailedOperation: ABORTED\n"
                       "  ResourceInUse: INTERNAL\n")
        self.assertRefused(
            ["--check-config", nested],
            'config %s: line 5: status_override: duplicate key '
            '"ResourceInUse" (first at line 3)' % nested)
        # Also when the gateway is started with the file, not only checked.
        self.assertRefused(
            ["--config", top],
            'config %s: line 4: duplicate key "max_attempts" (first at line 2)'
            % top)

    def test_unknown_key_names_the_nearest(self):
        typo = write("typo.yaml", "signing: none\nmax_attemps: 3\n")
        self.assertRefused(
            ["--check-config", typo],
            'config %s: line 2: unknown key "max_attemps" (did you mean '
            'max_attempts?)' % typo)
        dashed = write("dashed.yaml", "signing: none\nadmin-listen: ''\n")
        self.assertRefused(
            ["--check-config", dashed],
            'config %s: line 2: unknown key "admin-listen" (did you mean '
            'admin_listen?)' % dashed)

    def test_cannot_read_says_why(self):
        missing = os.path.join(TMP, "missing.yaml")
        self.assertRefused(["--check-config", missing],
                           "config %s: cannot read: No such file or directory"
                           % missing)
        # yaml-cpp alone reads a directory as an empty file: all defaults.
        self.assertRefused(["--check-config", TMP],
                           "config %s: cannot read: Is a directory" % TMP)
        ok = write("ok.yaml", "signing: none\n")
        missing_set = os.path.join(TMP, "missing.pb")
        self.assertRefused(
            ["--descriptor-set=" + missing_set, "--check-config", ok],
            "descriptor_set: cannot read %s: No such file or directory"
            % missing_set)

    def test_cannot_read_without_permission_says_so(self):
        locked = write("locked.yaml", "signing: none\n", mode=0o000)
        binary, as_other = GATEWAY_BIN, {}
        if os.geteuid() == 0:  # root reads anything: ask as nobody
            as_other = {"user": 65534, "group": 65534, "extra_groups": []}
            # From where nobody may run it: Bazel's runfiles and temporary
            # folders are under root's home, which nobody cannot enter.
            bindir = tempfile.mkdtemp(prefix="flags-test-bin-", dir="/tmp")
            self.addCleanup(shutil.rmtree, bindir, True)
            os.chmod(bindir, 0o755)
            binary = os.path.join(bindir, "envelope-gateway")
            shutil.copy(GATEWAY_BIN, binary)
            os.chmod(binary, 0o755)
        r = run([binary, "--check-config", locked], **as_other)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr, "envelope-gateway: config %s: cannot read: "
                         "Permission denied\n" % locked)


class CliTest(unittest.TestCase):

    def test_help_prints_the_usage(self):
        for flag in ("--help", "-h"):
            with self.subTest(flag):
                r = run([CLI_BIN, flag])
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                self.assertIn("usage: envelope-cli", r.stdout)
                flags = re.findall(r"^  (--[a-z-]+)=", r.stdout, re.M)
                self.assertEqual(flags, ["--target", "--region", "--language",
                                         "--timeout"])
                self.assertIn("default: 127.0.0.1:50051", r.stdout)
                self.assertIn("\nEnvironment:\n", r.stdout)

    def test_no_method_prints_the_usage_as_an_error(self):
        r = run([CLI_BIN])
        self.assertEqual(r.returncode, 2)
        self.assertIn("usage: envelope-cli", r.stderr)

    def test_unknown_flag_names_the_nearest(self):
        r = run([CLI_BIN, "--tagret=127.0.0.1:1", "cvm.DescribeZones"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr, "envelope-cli: unknown flag --tagret "
                         "(did you mean --target?)\n")

    def test_bad_value_names_the_flag(self):
        r = run([CLI_BIN, "--timeout", "soon", "cvm.DescribeZones"])
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr, "envelope-cli: --timeout: expected a "
                         "duration like 250ms, 5s or 1m\n")


def take_cli_flag():
    """Removes `--cli PATH` from sys.argv; returns PATH as an absolute path."""
    path = os.environ.get("CLI_BIN", "")
    if "--cli" in sys.argv[1:-1]:
        i = sys.argv.index("--cli")
        path = sys.argv[i + 1]
        del sys.argv[i:i + 2]
    return os.path.abspath(path) if path else ""


if __name__ == "__main__":
    GATEWAY_BIN = harness.take_gateway_flag()
    CLI_BIN = take_cli_flag()
    if not GATEWAY_BIN or not CLI_BIN:
        sys.exit("usage: %s --gateway PATH/TO/envelope-gateway "
                 "--cli PATH/TO/envelope-cli [unittest args]" % sys.argv[0])
    unittest.main(verbosity=2)
