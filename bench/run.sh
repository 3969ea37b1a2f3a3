#!/usr/bin/env bash
# Builds the bench in Release and runs scenarios: bench/run.sh [scenario...]  (all when none is named)
# Scenarios: throughput, storage, dependencies, engines, routercost, client, gossip, convergence, resharding, resharding-declared, metadata, mac, hostile, fuzz, simulation, load, memory, scans, deadpeer, startup.
# scans: SCANS_BASELINE (an earlier build's CausalKv.Node.dll, scanned un-paged beside this build), SCANS_VALUES (150), SCANS_VALUE_KIB (1024).
# SIM_SEEDS (default 1000), SIM_SEED (replay one seed, or a comma-separated list), SIM_OPERATIONS (default 300), SIM_PRUNE=0 or 1 (one mode; both by default), SIM_LIVENESS=1, SIM_THREADS (default 2) and SIM_TRACE (trace lines) tune simulation.
# FUZZ_REQUESTS (default 20000) and FUZZ_SEED tune fuzz.
# BENCH_DURATION (s per wrk run, default 8) and BENCH_ROUNDS (default 3) tune throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Release, so the AppHost launches the Release builds of the node and the router.
# No build servers: a compiler server left running would hold whatever lock the caller ran this under.
dotnet build bench/CausalKv.Bench -c Release -nologo -v q --disable-build-servers
exec dotnet run --project bench/CausalKv.Bench -c Release --no-build -- "$@"
