#!/usr/bin/env bash
# Renders the backtest HTML report in headless Chromium and checks that it renders with its
# charts: the DOM Chromium builds has the four chart SVGs with their bars and lines.
# Usage: report_render_test.sh CUIFU_BINARY SOURCE_DIR. Exit 77 (skipped) without chromium.
set -u
bin=${1:?usage: report_render_test.sh CUIFU_BINARY SOURCE_DIR}
src=${2:?usage: report_render_test.sh CUIFU_BINARY SOURCE_DIR}
chromium=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$chromium" ]; then echo "SKIP: $chromium not installed"; exit 77; fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# A compare report on the sample export shipped in data/ (a second rule set without SMS).
mkdir "$tmp/no-sms" "$tmp/data"
cp "$src/data/gazetteer.tsv" "$tmp/data/"  # rules/address.yaml names ../data/gazetteer.tsv
cp "$src"/rules/*.yaml "$tmp/no-sms/"
sed -i '/^  sms:/,/^  [a-z]*:/ s/^\(    cost: .*\)$/\1\n    enabled: false/' "$tmp/no-sms/channels.yaml"
if ! "$bin" check --rules "$tmp/no-sms" --templates "$src/templates" >/dev/null 2>&1; then
  cp "$src"/rules/*.yaml "$tmp/no-sms/"  # this rules version has no "enabled": compare with itself
fi
"$bin" backtest --log "$src/data/sample_orders.csv" --rules "$src/rules" --templates "$src/templates" \
  --compare "$tmp/no-sms" --report "$tmp/report.html" >"$tmp/table.txt" 2>"$tmp/stderr.txt" ||
  fail "cuifu backtest exited $?: $(cat "$tmp/stderr.txt")"
[ -s "$tmp/report.html" ] || fail "no report written"

browse() {
  timeout 90 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-dev-shm-usage \
    --user-data-dir="$tmp/profile" "$@" "file://$tmp/report.html" 2>>"$tmp/chromium.log"
}
browse --dump-dom >"$tmp/dom.html" || fail "chromium --dump-dom failed: $(tail -5 "$tmp/chromium.log")"
grep -q '<h1>cuifu backtest' "$tmp/dom.html" || fail "rendered DOM has no heading"
for id in chart-hour chart-segment-channel-0 chart-segment-channel-1 chart-paid-curve chart-cost; do
  grep -q "<svg id=\"$id\"" "$tmp/dom.html" || fail "rendered DOM lacks the $id chart"
done
# The figures as an analyst reads them: a difference column, money with two decimals, per step
# and per template tables with the cost per paid order.
grep -q '<th>difference</th>' "$tmp/dom.html" || fail "the compare table has no difference column"
grep -Eq '<th>cost \(CNY\)</th><td>[0-9]+\.[0-9][0-9]</td>' "$tmp/dom.html" || fail "cost is not shown with two decimals"
for id in by-step by-template; do
  grep -q "<table class=\"summary kinds\" id=\"$id\">" "$tmp/dom.html" || fail "rendered DOM lacks the $id table"
done
grep -q 'cost per paid order' "$tmp/dom.html" || fail "no cost per paid order"
svgs=$(grep -o '<svg ' "$tmp/dom.html" | wc -l)
rects=$(grep -o '<rect ' "$tmp/dom.html" | wc -l)
lines=$(grep -o '<polyline ' "$tmp/dom.html" | wc -l)
[ "$svgs" -ge 5 ] || fail "only $svgs svg elements"
[ "$rects" -ge 48 ] || fail "only $rects bars/cells"
[ "$lines" -ge 3 ] || fail "only $lines lines"

# And it paints: a screenshot with more than a blank page's worth of bytes.
browse --window-size=1000,3000 --screenshot="$tmp/report.png" >/dev/null || fail "chromium --screenshot failed"
[ "$(stat -c %s "$tmp/report.png")" -gt 20000 ] || fail "screenshot is (nearly) blank"
echo "report renders: $svgs svg, $rects rect, $lines polyline"
