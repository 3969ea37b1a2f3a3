#!/usr/bin/env bash
# Runs every test: ./test.sh [dotnet test options]   (CI runs exactly this, through .ci/run)
# Two tests need programs from Debian's packages, installed here when missing:
#   chromium  - the dashboard's browser test (Playwright drives the system browser; it never downloads one)
#   iptables  - the real-partition tests (nodes as their own Unix users, packets dropped on lo; needs root)
#   iproute2  - the many-hosts tests (each node in a network namespace of its own; needs root)
#   kubectl   - renders deploy/kubernetes offline (kubectl kustomize) for the deployment's checks (Debian: kubernetes-client)
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v iptables > /dev/null || [ -x /usr/sbin/iptables ] || missing+=(iptables)
command -v kubectl > /dev/null || missing+=(kubernetes-client)
command -v ip > /dev/null || [ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || missing+=(iproute2)
if [ ${#missing[@]} -gt 0 ]; then
  as_root=""; [ "$(id -u)" -eq 0 ] || as_root="sudo"
  echo "Installing ${missing[*]} (Debian packages) for the browser and real-partition tests..."
  $as_root apt-get update -qq
  $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null
fi
# Release: the nodes, the router and the simulation run the code as it ships (optimized), which the two-core CI machine needs.
exec dotnet test CausalKv.sln -c Release "$@"
