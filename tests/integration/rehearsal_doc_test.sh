#!/usr/bin/env bash
# Runs the rehearsal of docs/operator.md exactly as written (its first ```sh block), as an
# operator would from a source checkout, and checks that it rehearses: the config loads, the
# daemon sends reminders to the local sink and the outbox shows them sent.
# Usage: rehearsal_doc_test.sh CUIFU_BINARY SOURCE_DIR
set -u
bin=${1:?usage: rehearsal_doc_test.sh CUIFU_BINARY SOURCE_DIR}
src=${2:?usage: rehearsal_doc_test.sh CUIFU_BINARY SOURCE_DIR}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The commands: the first sh block after "## Rehearsal".
awk '/^## Rehearsal/ {in_section = 1; next}
     in_section && /^## / {exit}
     in_section && /^```sh$/ {in_block = 1; next}
     in_block && /^```$/ {exit}
     in_block {print}' "$src/docs/operator.md" >"$tmp/rehearsal.sh"
[ -s "$tmp/rehearsal.sh" ] || fail "docs/operator.md has no sh block under ## Rehearsal"
grep -q 'cuifu run' "$tmp/rehearsal.sh" || fail "the rehearsal does not run cuifu run"
# Only additions of ours: where the scratch directory went, and the sink stopped if a step fails.
{
  echo 'trap '"'"'if [ -n "${SINK:-}" ]; then kill $SINK 2>/dev/null || true; fi'"'"' EXIT'
  cat "$tmp/rehearsal.sh"
  echo 'echo "REHEARSAL_DIR=$R"'
} >"$tmp/run.sh"

mkdir "$tmp/bin"
ln -s "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" "$tmp/bin/cuifu"
(cd "$src" && PATH="$tmp/bin:$PATH" bash -e "$tmp/run.sh") >"$tmp/out.txt" 2>"$tmp/err.txt"
rc=$?
[ $rc -eq 0 ] || fail "the documented rehearsal exited $rc: $(tail -20 "$tmp/err.txt") $(tail -5 "$tmp/out.txt")"
grep -q 'cannot read' "$tmp/err.txt" "$tmp/out.txt" && fail "a file could not be read: $(grep 'cannot read' "$tmp/err.txt")"
grep -q 'sending PAUSED' "$tmp/err.txt" && fail "the rehearsal paused sending: $(grep 'PAUSED' "$tmp/err.txt")"
dir=$(sed -n 's/^REHEARSAL_DIR=//p' "$tmp/out.txt")
[ -n "$dir" ] && [ -d "$dir" ] || fail "no scratch directory reported"
trap 'rm -rf "$tmp" "$dir"' EXIT
requests=$(grep -c '"path"' "$dir/http.jsonl" 2>/dev/null || echo 0)
[ "$requests" -ge 3 ] || fail "only $requests requests reached the sink; log: $(tail -20 "$tmp/err.txt")"
sent=$(grep -cw 'sent' "$tmp/out.txt")
[ "$sent" -ge 3 ] || fail "the outbox shows $sent sent reminders: $(cat "$tmp/out.txt")"
echo "rehearsal as documented: $requests requests to the sink, $sent outbox rows sent"
