#!/bin/sh
# Checks what can be checked of the deploy kit without Docker or a
# Kubernetes cluster. Run from the repository root: sh deploy/check.sh
# Needs go, python3 with PyYAML; uses systemd-analyze and kubectl when
# present.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== static build (as in the Dockerfile)"
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o "$tmp/wsgate" ./cmd/wsgate
if command -v file >/dev/null; then
	file "$tmp/wsgate" | grep -q "statically linked" || { echo "not a static binary"; exit 1; }
fi
echo ok

echo "== the flags the kit passes exist"
"$tmp/wsgate" serve -h 2>&1 | grep -q -- "-drain-window" || { echo "serve has no -drain-window"; exit 1; }
"$tmp/wsgate" serve -h 2>&1 | grep -q -- "-join-timeout" || { echo "serve has no -join-timeout"; exit 1; }
"$tmp/wsgate" register -h 2>&1 | grep -q -- "-secret-file" || { echo "register has no -secret-file"; exit 1; }
echo ok

echo "== Kubernetes manifests parse, and the drain fits the grace period"
python3 - deploy/kubernetes/register.yaml deploy/kubernetes/node.yaml deploy/kubernetes/kustomization.yaml <<'PY'
import re, sys, yaml

def seconds(v):
    m = re.fullmatch(r"(\d+)s", v)
    assert m, "want a duration in seconds, got %r" % v
    return int(m.group(1))

docs = []
for path in sys.argv[1:]:
    with open(path) as f:
        docs += [d for d in yaml.safe_load_all(f) if d]
kinds = sorted(d["kind"] for d in docs)
print("kinds:", ", ".join(kinds))
for d in docs:
    if d["kind"] != "Deployment":
        continue
    pod = d["spec"]["template"]["spec"]
    c = pod["containers"][0]
    flags = dict(a[2:].split("=", 1) for a in c["args"] if a.startswith("--"))
    window, timeout = seconds(flags["drain-window"]), seconds(flags["drain-timeout"])
    pre = c["lifecycle"]["preStop"]["sleep"]["seconds"]
    grace = pod["terminationGracePeriodSeconds"]
    assert window < timeout, "drain-window %ds must be below drain-timeout %ds" % (window, timeout)
    assert pre + timeout < grace, "preStop %ds + drain-timeout %ds must be below the grace period %ds" % (pre, timeout, grace)
    assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
    live = c["livenessProbe"]
    assert (live["failureThreshold"] - 1) * live["periodSeconds"] > timeout, "liveness could fail during the drain"
    print("drain: preStop %ds + drain-timeout %ds (window %ds) < grace %ds" % (pre, timeout, window, grace))
PY

if command -v kubectl >/dev/null; then
	echo "== kustomize build"
	kubectl kustomize deploy/kubernetes >/dev/null && echo ok
fi

if command -v systemd-analyze >/dev/null; then
	echo "== systemd units (ExecStart pointed at the binary built above)"
	for unit in deploy/systemd/*.service; do
		sed "s#/usr/local/bin/wsgate#$tmp/wsgate#" "$unit" >"$tmp/$(basename "$unit")"
	done
	# verify prints warnings yet exits 0: any output is a failure.
	out=$(cd "$tmp" && systemd-analyze verify ./*.service 2>&1) || true
	if [ -n "$out" ]; then echo "$out"; exit 1; fi
	echo ok
fi

echo "== the unit's config file passes wsgate config check, and its drain fits TimeoutStopSec"
echo "check-secret" >"$tmp/secret"
sed "s#^secret-file: .*#secret-file: $tmp/secret#" deploy/systemd/wsgate.yaml >"$tmp/wsgate.yaml"
"$tmp/wsgate" config check "$tmp/wsgate.yaml"
stop=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s$/\1/p' deploy/systemd/wsgate.service)
timeout=$(sed -n 's/^drain-timeout: \([0-9]*\)s$/\1/p' deploy/systemd/wsgate.yaml)
window=$(sed -n 's/^drain-window: \([0-9]*\)s$/\1/p' deploy/systemd/wsgate.yaml)
[ "$window" -lt "$timeout" ] && [ "$timeout" -lt "$stop" ] || {
	echo "want drain-window ($window) < drain-timeout ($timeout) < TimeoutStopSec ($stop)"
	exit 1
}
echo "drain: window ${window}s < timeout ${timeout}s < TimeoutStopSec ${stop}s"

echo "== every key of sysctl.conf exists on this kernel"
grep -E '^-?[a-z]' deploy/sysctl.conf | sed 's/^-//; s/ *=.*//' | while read -r key; do
	[ -e "/proc/sys/$(echo "$key" | tr . /)" ] || { echo "no such sysctl: $key"; exit 1; }
done
echo ok
