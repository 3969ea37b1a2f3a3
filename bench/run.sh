#!/usr/bin/env bash
# Builds the bench in Release and runs scenarios: bench/run.sh [scenario...]  (all when none is named)
# Scenarios: throughput, storage, dependencies, engines, routercost, client, gossip, convergence, resharding, metadata, mac, simulation, load, memory, deadpeer, startup.
# SIM_SEEDS (default 1000), SIM_SEED (replay one seed, or a comma-separated list), SIM_OPERATIONS (default 300), SIM_PRUNE=1, SIM_LIVENESS=1 and SIM_TRACE (trace lines) tune simulation.
# BENCH_DURATION (s per wrk run, default 8) and BENCH_ROUNDS (default 3) tune throughput.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Release, so the AppHost launches the Release builds of the node and the router.
dotnet build bench/CausalKv.Bench -c Release -nologo -v q --disable-build-servers
exec dotnet run --project bench/CausalKv.Bench -c Release --no-build -- "$@"
