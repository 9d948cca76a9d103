#!/usr/bin/env bash
# Builds the local control plane's binaries from their Go modules once, into a
# version-keyed cache folder outside the repository. Prints that folder's bin path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"

fail() { echo "capstan test cluster: $*" >&2; exit 1; }

command -v go >/dev/null 2>&1 || fail "Go is missing. Install Go >= 1.26 (https://go.dev/dl/ or 'apt-get install golang-go' on a release that has 1.26) and run again."
go_minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
[ "${go_minor:-0}" -ge 26 ] || fail "Go $(go env GOVERSION) is too old: Kubernetes ${KUBERNETES_VERSION} needs Go >= 1.26."

cache_root="${CAPSTAN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/capstan}"
key="k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
dest="$cache_root/$key"
bin="$dest/bin"
all=(kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok)

have_all() { for b in "${all[@]}"; do [ -x "$bin/$b" ] || return 1; done; }
if have_all; then echo "$bin"; exit 0; fi

mkdir -p "$dest/work" "$bin"
# One build at a time per cache folder: a second caller waits, then finds the binaries.
exec 9>"$dest/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if have_all; then echo "$bin"; exit 0; fi
export CGO_ENABLED=0 GOFLAGS=-mod=mod
log() { echo "[build $(date +%H:%M:%S)] $*" >&2; }
start=$(date +%s)

k8s_minor_patch="${KUBERNETES_VERSION#v1.}"          # 36.1
staging_version="v0.${k8s_minor_patch}"              # v0.36.1

if [ ! -x "$bin/etcd" ]; then
  log "etcd ${ETCD_VERSION}"
  w="$dest/work/etcd"; rm -rf "$w"; mkdir -p "$w"; cd "$w"
  go mod init local/etcd-binaries >/dev/null 2>&1
  go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >&2 || fail "could not fetch etcd ${ETCD_VERSION} from the Go module proxy ($(go env GOPROXY))."
  go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3 >&2 || fail "etcd build failed (see above)."
  mv "$bin/etcd.tmp" "$bin/etcd"
fi

if [ ! -x "$bin/kwok" ]; then
  log "kwok ${KWOK_VERSION}"
  # A wrapper module and `go build`, not `go install pkg@version`: some proxies refuse the version
  # list that `go install` reads, while serving the version itself.
  w="$dest/work/kwok"; rm -rf "$w"; mkdir -p "$w"; cd "$w"
  go mod init local/kwok-binary >/dev/null 2>&1
  go get "sigs.k8s.io/kwok@${KWOK_VERSION}" >&2 || fail "could not fetch kwok ${KWOK_VERSION} from the Go module proxy ($(go env GOPROXY))."
  go build -trimpath -ldflags "-s -w" -o "$bin/kwok.tmp" sigs.k8s.io/kwok/cmd/kwok >&2 || fail "kwok build failed (see above)."
  mv "$bin/kwok.tmp" "$bin/kwok"
fi

need_k8s=0
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do [ -x "$bin/$b" ] || need_k8s=1; done
if [ "$need_k8s" = 1 ]; then
  log "Kubernetes ${KUBERNETES_VERSION} (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl): the long part"
  w="$dest/work/k8s"; rm -rf "$w"; mkdir -p "$w"; cd "$w"
  go mod init local/k8s-binaries >/dev/null 2>&1
  go mod download "k8s.io/kubernetes@${KUBERNETES_VERSION}" >&2 || fail "could not fetch k8s.io/kubernetes ${KUBERNETES_VERSION} from the Go module proxy."
  kgomod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/${KUBERNETES_VERSION}.mod"
  [ -f "$kgomod" ] || fail "k8s.io/kubernetes go.mod not found at $kgomod"
  # k8s.io/kubernetes maps its staging modules to ./staging; a wrapper module replaces each
  # with its published tag, the only way to build these commands outside the kubernetes repo.
  mods=$(awk '$1=="replace" && $3=="=>" && $4 ~ /^\.\/staging\// {print $2; next} $2=="=>" && $3 ~ /^\.\/staging\// {print $1}' "$kgomod" | sort -u)
  [ -n "$mods" ] || fail "no staging modules found in $kgomod"
  for m in $mods; do go mod edit -replace="${m}=${m}@${staging_version}"; done
  pkgs=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  go get "${pkgs[@]/%/@${KUBERNETES_VERSION}}" >&2 || fail "resolving Kubernetes modules failed (see above)."
  build_date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  minor="${k8s_minor_patch%%.*}"
  ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=${KUBERNETES_VERSION} -X $p.gitMajor=1 -X $p.gitMinor=${minor} -X $p.gitTreeState=clean -X $p.buildDate=${build_date}"
  done
  mkdir -p "$dest/work/k8s-out"
  go build -p 2 -trimpath -tags=notest,grpcnotrace -ldflags "$ld" -o "$dest/work/k8s-out/" "${pkgs[@]}" >&2 || fail "Kubernetes build failed (see above)."
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do mv "$dest/work/k8s-out/$b" "$bin/$b"; done
fi

log "done in $(( $(date +%s) - start ))s"
echo "$(( $(date +%s) - start ))" > "$dest/build-seconds"
echo "$bin"
