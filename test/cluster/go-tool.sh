#!/usr/bin/env bash
# Builds one Go command at an exact module version into the version-keyed cache, once, and prints
# the binary's path. Usage: go-tool.sh NAME MODULE VERSION PACKAGE [OLD[@V]=NEW@V ...]
#   e.g. go-tool.sh ejson github.com/Shopify/ejson v1.5.4 github.com/Shopify/ejson/cmd/ejson
# The optional OLD=NEW@V arguments become `replace` lines of the wrapper module: a module's own
# replace lines apply only when it is the main module, so a tool that needs them (Vault) names them.
# `go install pkg@version` is not used: it asks the proxy for the module's version list (for its
# deprecation check), and some proxies refuse that lookup (403) while serving the version itself.
# A small wrapper module that requires the exact version, then `go build`, needs only the version.
set -euo pipefail
[ "$#" -ge 4 ] || { echo "usage: $0 NAME MODULE VERSION PACKAGE [OLD[@V]=NEW@V ...]" >&2; exit 2; }
name="$1" module="$2" version="$3" package="$4"
replaces=("${@:5}")
fail() { echo "capstan go-tool: $*" >&2; exit 1; }
command -v go >/dev/null 2>&1 || fail "Go is missing: install Go >= 1.26 to build ${name}."

cache_root="${CAPSTAN_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/capstan}"
dest="$cache_root/${name}-${version}"
binary="$dest/${name}"
if [ -x "$binary" ]; then echo "$binary"; exit 0; fi

mkdir -p "$dest"
# One build at a time per tool and version: a second caller waits, then finds the binary.
exec 9>"$dest/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ -x "$binary" ]; then echo "$binary"; exit 0; fi

work="$dest/work"
rm -rf "$work"; mkdir -p "$work"; cd "$work"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
go mod init "local/${name}-build" >/dev/null 2>&1
for replace in "${replaces[@]}"; do go mod edit -replace="$replace"; done
go get "${module}@${version}" >&2 || fail "could not fetch ${module} ${version} from the Go module proxy ($(go env GOPROXY))."
go build -trimpath -ldflags "-s -w" -o "$binary.tmp" "$package" >&2 || fail "building ${package} failed (see above)."
mv "$binary.tmp" "$binary"
cd "$dest" && rm -rf "$work"
echo "$binary"
