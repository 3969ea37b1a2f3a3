#!/usr/bin/env bash
# This checkout against an earlier commit, side by side in one run: bench/compare-builds.sh <commit>
# Each round runs `throughput` (64 connections: the bare endpoint, node0 of a shard of 2, the router; GET, PUT, 90/10)
# and `client` (4 nodes in 2 shards, 64 sessions) on one build, then on the other; the order alternates from round
# to round. BENCH_ROUNDS rounds (default 3), BENCH_DURATION seconds per load run (default 8). Prints, per figure, the
# median of the rounds and their spread (max/min) for each build, and the ratio this/earlier; the rounds' JSON stays
# in the folder it names, the table in bench/results/compare-builds.md (the scenarios' own results files are restored). Only the product differs between the builds: the earlier commit is measured with its own
# bench plus this checkout's THROUGHPUT_CONNECTIONS filter. The client table's columns are found by their start, so a
# build whose table has more targets (the plain PUT) compares with one that has fewer.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:?usage: bench/compare-builds.sh <commit>}
rounds=${BENCH_ROUNDS:-3}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 THROUGHPUT_CONNECTIONS=64 BENCH_ROUNDS=1
# The earlier build runs from a temporary folder with no shared/ beside it: both use this checkout's.
export CAUSALKV_SHARED_BENCH=${CAUSALKV_SHARED_BENCH:-$(cd .. && pwd)/shared/bench}
out=$(mktemp -d /tmp/causalkv-compare.XXXXXX)
earlier="$out/earlier"
git worktree add --detach -q "$earlier" "$base"
trap 'git worktree remove --force "$earlier" || true' EXIT
git diff "$base" HEAD -- bench/CausalKv.Bench/ThroughputScenario.cs | git -C "$earlier" apply
echo "Building this checkout and $base in Release..."
dotnet build bench/CausalKv.Bench -c Release -nologo -v q --disable-build-servers
dotnet build "$earlier/bench/CausalKv.Bench" -c Release -nologo -v q --disable-build-servers
run() { # build-root label round
  (cd "$1" && dotnet run --project bench/CausalKv.Bench -c Release --no-build -- throughput client)
  cp "$1/bench/results/throughput.json" "$out/$2-throughput-$3.json"
  cp "$1/bench/results/client.json" "$out/$2-client-$3.json"
}
this=$(git rev-parse --short HEAD)
for r in $(seq 1 "$rounds"); do
  echo "Round $r of $rounds (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  if [ $((r % 2)) -eq 1 ]; then run "$earlier" earlier "$r"; run . this "$r"; else run . this "$r"; run "$earlier" earlier "$r"; fi
done
git checkout -q -- bench/results 2>/dev/null || true
figures() { # label
  for f in "$out/$1"-throughput-*.json; do
    jq -r '.data.measurements[] | select(.connections == 64) | "\(.target) \(.op) ops/s=\(.opsPerSecond) p99ms=\(.p99Ms)"' "$f"
  done
  for f in "$out/$1"-client-*.json; do
    jq -r '.rows[] | .["op (64 in flight)"] as $op
      | (to_entries | map(select(.key | startswith("p50/p99 ms direct"))) | .[0].value | split(" / ") | map(split("/")[1])) as $p99
      | (to_entries | map(select(.key | startswith("cluster CPU µs/request direct"))) | .[0].value | split(" / ")) as $cpu
      | "client-direct \($op) ops/s=\(.["client direct ops/s"]) p99ms=\($p99[0]) cpu_us=\($cpu[0])",
        "client-router \($op) ops/s=\(.["client via router ops/s"]) p99ms=\($p99[1]) cpu_us=\($cpu[1])",
        "raw-owner \($op) ops/s=\(.["raw to owner ops/s"]) p99ms=\($p99[2]) cpu_us=\($cpu[2])"' "$f"
  done
}
summary() { # label -> "target op metric median spread"
  figures "$1" | awk '{ for (i = 3; i <= NF; i++) { split($i, kv, "="); print $1, $2, kv[1], kv[2] } }' |
    sort -k1,1 -k2,2 -k3,3 -k4,4g |
    awk '{ k = $1 " " $2 " " $3; v[k] = v[k] " " $4 } END { for (k in v) { n = split(substr(v[k], 2), a, " "); m = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2; s = (a[1] > 0) ? a[n] / a[1] : 0; printf "%s %.2f %.2f\n", k, m, s } }' | sort
}
{
echo "Medians of $rounds rounds (spread = max/min over the rounds); this = $this, earlier = $base; JSON in $out"
printf '| target | op | figure | earlier | spread | this | spread | this/earlier |\n|---|---|---|---|---|---|---|---|\n'
join -j1 <(summary earlier | awk '{ print $1 "|" $2 "|" $3, $4, $5 }' | sort) <(summary this | awk '{ print $1 "|" $2 "|" $3, $4, $5 }' | sort) |
  awk '{ split($1, k, "|"); r = ($2 > 0) ? $4 / $2 : 0; printf "| %s | %s | %s | %s | %s | %s | %s | %.2f |\n", k[1], k[2], k[3], $2, $3, $4, $5, r }'
} | tee bench/results/compare-builds.md
