#!/usr/bin/env bash
# Builds the deploy benchmark's peers, Helm 4 and Helm 3, from their Go modules into the test cache
# (one versioned folder each, through test/cluster/go-tool.sh: a wrapper module requiring the exact
# version, then `go build`), once; later calls find the binaries. Prints `NAME PATH` per peer.
# Bench-only: `npm test` never builds Helm. Runs under `nice`: the machine is shared.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tool="$here/../test/cluster/go-tool.sh"
HELM4_VERSION="${HELM4_VERSION:-v4.3.1}"
HELM3_VERSION="${HELM3_VERSION:-v3.22.0}"

# Arguments pick peers (default both): build-peers.sh helm4
for peer in "${@:-helm4 helm3}"; do
  for p in $peer; do
    case "$p" in
      helm4) echo "helm4 $(nice -n 10 "$tool" helm "helm.sh/helm/v4" "$HELM4_VERSION" "helm.sh/helm/v4/cmd/helm")" ;;
      helm3) echo "helm3 $(nice -n 10 "$tool" helm "helm.sh/helm/v3" "$HELM3_VERSION" "helm.sh/helm/v3/cmd/helm")" ;;
      *) echo "build-peers.sh: unknown peer $p (helm4, helm3)" >&2; exit 2 ;;
    esac
  done
done
