# Sourced by the CI scripts: the pinned Deno version, the download cache, that
# Deno on PATH when none is there (from the npm package 'deno'), and the steps.
DENO_VERSION=2.9.6
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/libc-ipc"
if ! command -v deno >/dev/null 2>&1; then
  prefix="$CACHE/deno-$DENO_VERSION"
  if [ ! -x "$prefix/node_modules/.bin/deno" ]; then
    echo "installing deno $DENO_VERSION from the npm package 'deno'"
    npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "deno@$DENO_VERSION"
  fi
  export PATH="$prefix/node_modules/.bin:$PATH"
fi

# Deno's output without its colours.
plain() { sed 's/\x1b\[[0-9;]*m//g' "$@"; }
# Deno's summary lines ("ok | 12 passed (40 steps) | 0 failed | 1 ignored") in plain test output.
summaries_of() { grep -E '^(ok|FAILED) \| [0-9]+ passed' "$@"; }
# The ERRORS section of plain test output (which tests failed, and how), without stack lines.
errors_of() { sed -n '/^ ERRORS *$/,/^ FAILURES *$/p' "$@" | grep -v -E '^ +at '; }
# Whether exit status $1 is a death by a fault (SIGILL, SIGABRT, SIGBUS, SIGSEGV).
died_by_fault() { [[ " 132 134 135 139 " == *" $1 "* ]]; }

step() {
  echo
  echo "== $*"
  "$@"
}

# Runs a test command as a step, then repeats Deno's summary ("ok | 12 passed (40 steps) |
# 0 failed | 1 ignored") as a plain closing line, kept in SUMMARY; returns the command's status.
# Deno's ERRORS section (which tests failed, and how) is kept in FAILURES, at most 80 lines,
# for the caller to repeat last: a reader of the output's tail then sees what failed.
SUMMARY="no summary"
FAILURES=""
run_tests() {
  local log status summary
  log=$(mktemp)
  echo
  echo "== $*"
  "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  plain "$log" >"$log.txt"
  summary=$(summaries_of "$log.txt" | tail -n 1 || true)
  FAILURES=$(errors_of "$log.txt" | head -n 80 || true)
  rm -f "$log" "$log.txt"
  echo
  if [ -n "$summary" ]; then
    SUMMARY=$(echo "$summary" | sed -E 's/^[A-Z]+ \| //; s/ \| /, /g')
    echo "$SUMMARY"
  fi
  return "$status"
}
