#!/usr/bin/env bash
# Layers only point down: app -> io -> core -> std + fmt.
# core must not include Asio, curl, SQLite, yaml-cpp, spdlog, date, json or io/app headers;
# io must not include app headers; core must not read the real clock.
set -u
src=${1:?usage: layering_test.sh SRC_DIR}
fail=0
bad=$(grep -rnE '#include *[<"](boost/|curl/|SQLiteCpp/|sqlite3|yaml-cpp/|spdlog/|date/|nlohmann/|CLI/|io/|app/)' "$src/core")
if [ -n "$bad" ]; then echo "core includes a lower-level or I/O library:"; echo "$bad"; fail=1; fi
clock=$(grep -rnE 'system_clock::now|steady_clock::now|time\(nullptr\)|localtime' "$src/core")
if [ -n "$clock" ]; then echo "core reads the real clock:"; echo "$clock"; fail=1; fi
up=$(grep -rnE '#include *"app/' "$src/io")
if [ -n "$up" ]; then echo "io includes app:"; echo "$up"; fail=1; fi
[ $fail -eq 0 ] && echo "layering ok"
exit $fail
