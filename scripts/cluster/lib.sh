# Shared by scripts/cluster/*.sh (sourced): a progress line every minute while a long, quiet command runs.
#   long "what" command...   -> the command's exit status; prints "   ... what: N s" to stderr every
#                               PROGRESS_EVERY seconds (60) until it ends
long() {
  local what=$1 t0 ticker rc=0
  shift
  t0=$(date +%s)
  (
    s=""
    trap 'kill $s 2>/dev/null; exit 0' TERM
    while :; do
      sleep "${PROGRESS_EVERY:-60}" & s=$!
      wait "$s"
      echo "   ... $what: $(($(date +%s) - t0)) s" >&2
    done
  ) &
  ticker=$!
  "$@" || rc=$?
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  return "$rc"
}
