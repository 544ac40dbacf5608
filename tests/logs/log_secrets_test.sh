#!/usr/bin/env bash
# The suite's last test: no line any gateway printed during the whole suite
# (access log on stdout, diagnostics on stderr) holds a secret, a signature
# or a token. The secrets are the ones the tests themselves use, read from
# their sources so that a new test's key is covered without editing this.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${ENVELOPE_TEST_LOG_DIR:-}
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
  echo "log_secrets_test: ENVELOPE_TEST_LOG_DIR is not set: run the suite with tools/test.sh"
  exit 77
fi
mapfile -t secrets < <(grep -rhoE '"[A-Za-z0-9_.-]*(secret-key|session-token)[A-Za-z0-9_.-]+"' \
    tests tools examples --include='*.cc' --include='*.py' --include='*.sh' |
  tr -d '"' | grep -vE '^--' | sort -u)
if [ "${#secrets[@]}" -lt 3 ]; then
  echo "log_secrets_test: FAIL: found only ${#secrets[@]} test secrets in the sources"
  exit 1
fi
mapfile -t logs < <(find "$dir" -type f -name 'envelope-gateway*' | sort)
if [ "${#logs[@]}" -eq 0 ]; then
  echo "log_secrets_test: FAIL: no gateway output in $dir (did the other tests run?)"
  exit 1
fi
lines=$(cat "${logs[@]}" | wc -l)
echo "log_secrets_test: ${#logs[@]} gateway output files, $lines lines, ${#secrets[@]} test secrets"
status=0
for secret in "${secrets[@]}" "Signature=" "TC3-HMAC-SHA256 Credential"; do
  if hits=$(grep -lF -- "$secret" "${logs[@]}"); then
    echo "log_secrets_test: FAIL: \"$secret\" appears in:"
    echo "$hits" | sed 's/^/  /'
    status=1
  fi
done
[ "$status" -eq 0 ] && echo "log_secrets_test: no secret, signature or token in any line"
exit "$status"
