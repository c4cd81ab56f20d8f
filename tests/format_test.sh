#!/usr/bin/env bash
# Every C++ file under src/ and tests/ is formatted as .clang-format says.
set -u
root=${1:?usage: format_test.sh SOURCE_DIR}
cd "$root" || exit 1
files=$(find src tests fuzz -name '*.cpp' -o -name '*.h')
if ! out=$(clang-format --dry-run --Werror $files 2>&1); then
  echo "$out" | grep -E '^[^ ].*error' | head -20
  echo "format: run  clang-format -i \$(find src tests fuzz -name '*.cpp' -o -name '*.h')"
  exit 1
fi
echo "format ok: $(echo "$files" | wc -l) files"
