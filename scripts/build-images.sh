#!/usr/bin/env bash
# Builds the fl-coordinator and fl-worker images with podman and smoke-tests them, with no
# image registry: the Debian bookworm base image is made by mmdebstrap from Debian's
# mirror, the images are built with `podman build --isolation=chroot`, and since
# containers cannot be started here (`podman run` needs cgroups these machines lack), each
# image's file system is mounted and used directly:
#   1. every binary in each image has all its shared libraries (ldd);
#   2. `--version` runs in each image;
#   3. a federation runs with the coordinator from its image and three hospitals' workers
#      from theirs (chroot into each mounted image as uid 10001, loopback, CURVE, the
#      breast-cancer table), and /metrics answers during it.
# Prints the time of each step. Run as root. About 25-40 minutes the first time (the
# worker image compiles against LibTorch inside the builder), minutes once podman's layer
# cache holds the dependency layers.
#
#   scripts/build-images.sh [coordinator|worker|all]   (default all)
#
# Environment: FL_BASE_IMAGE (a bookworm image with apt to build on instead of making
# one), FL_DEBIAN_MIRROR (default http://deb.debian.org/debian).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
which="${1:-all}"
case "$which" in coordinator|worker|all) ;; *) echo "usage: $0 [coordinator|worker|all]" >&2; exit 2 ;; esac
if [ "$(id -u)" -ne 0 ]; then echo "build-images: run as root (chroot, mounts)" >&2; exit 2; fi
for tool in podman mmdebstrap; do
  if ! command -v "$tool" >/dev/null; then
    echo "build-images: installing podman and mmdebstrap (Debian packages)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman mmdebstrap uidmap >/dev/null
    break
  fi
done
version="$(sed -n 's/^project(hospital_fl VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)"
data=/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv
step_start=0
step() { step_start=$(date +%s); echo "== $*"; }
took() { echo "   ($(( $(date +%s) - step_start )) s)"; }

# --- the base image -----------------------------------------------------------------------
base="${FL_BASE_IMAGE:-localhost/fl-debian:bookworm}"
if ! podman image exists "$base"; then
  step "making the base image $base with mmdebstrap"
  tar="$(mktemp --suffix=.tar)"
  mmdebstrap --quiet --variant=apt --include=ca-certificates bookworm "$tar" \
    "deb ${FL_DEBIAN_MIRROR:-http://deb.debian.org/debian} bookworm main" \
    "deb ${FL_DEBIAN_MIRROR:-http://deb.debian.org/debian} bookworm-updates main"
  podman import --quiet "$tar" "$base" >/dev/null
  rm -f "$tar"
  took
fi

build() {  # image name, Dockerfile
  step "building localhost/$1:$version from $2"
  podman build --quiet --isolation=chroot --build-arg BASE_IMAGE="$base" -f "$2" -t "localhost/$1:$version" . >/dev/null
  took
}
[ "$which" = worker ] || build fl-coordinator deploy/docker/coordinator.Dockerfile
[ "$which" = coordinator ] || build fl-worker deploy/docker/worker.Dockerfile

# --- smoke test ---------------------------------------------------------------------------
containers=()
mounted=()
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
  for c in "${containers[@]}"; do podman umount "$c" >/dev/null 2>&1 || true; podman rm -f "$c" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT

# The writable file system of a created (never started) container of image $1, with /dev
# and /proc of the host, and /work owned by the image's user.
rootfs() {
  local c mnt
  c="$(podman create "localhost/$1:$version")"
  containers+=("$c")
  mnt="$(podman mount "$c")"
  for d in dev proc; do mount --bind "/$d" "$mnt/$d"; mounted+=("$mnt/$d"); done
  mkdir -p "$mnt/work"
  chown 10001:10001 "$mnt/work"
  echo "$mnt"
}
in_image() {  # rootfs, command...: as the image's user (uid 10001)
  local mnt="$1"
  shift
  chroot --userspec=10001:10001 "$mnt" "$@"
}
check_libraries() {  # rootfs, binaries...
  local mnt="$1"
  shift
  for b in "$@"; do
    if chroot "$mnt" ldd "$b" | grep -q "not found"; then
      chroot "$mnt" ldd "$b" | grep "not found" >&2
      echo "build-images: $b in the image lacks libraries" >&2
      exit 1
    fi
    in_image "$mnt" "$b" --version
  done
}

step "smoke test: libraries and --version"
[ "$which" = worker ] || { cmnt="$(rootfs fl-coordinator)"; check_libraries "$cmnt" /usr/local/bin/fl-coordinator; }
[ "$which" = coordinator ] || { wmnt="$(rootfs fl-worker)"; check_libraries "$wmnt" /usr/local/bin/fl-worker /usr/local/bin/fl-prep; }
took
if [ "$which" != all ]; then echo "build-images: the federation needs both images (all)"; exit 0; fi
if [ ! -f "$data" ]; then echo "build-images: SKIPPED the federation: missing $data (python3-sklearn)"; exit 0; fi

step "smoke test: a federation between the images (3 hospitals, CURVE, loopback)"
cp "$data" "$wmnt/work/breast_cancer.csv"
for h in hospital-a hospital-b hospital-c; do
  in_image "$wmnt" /usr/local/bin/fl-worker keygen --name "$h" --out "/work/$h.key" --roster /work/roster.json >/dev/null
done
cp "$wmnt/work/roster.json" "$cmnt/work/roster.json"
public="$(in_image "$cmnt" /usr/local/bin/fl-coordinator keygen --out /work/coordinator.key | sed 's/.*"public_key":"\([0-9a-f]*\)".*/\1/')"
port=$(( 20000 + RANDOM % 20000 ))
http=$(( port + 1 ))
cat > "$cmnt/work/coordinator.json" <<JSON
{"listen": "tcp://127.0.0.1:$port", "http_listen": "127.0.0.1:$http", "min_workers": 3, "rounds": 3,
 "roster": "/work/roster.json", "transport": {"security": "curve", "secret_key": "/work/coordinator.key"},
 "timeouts": {"admission_s": 120}, "state_dir": "/work/state",
 "plan": {"model": {"name": "logreg"}, "training": {"epochs": 2}}}
JSON
i=0
for h in hospital-a hospital-b hospital-c; do
  cat > "$wmnt/work/$h.json" <<JSON
{"name": "$h", "coordinator": "tcp://127.0.0.1:$port", "coordinator_public_key": "$public",
 "identity_key": "/work/$h.key", "roster": "/work/roster.json",
 "data": {"format": "csv", "path": "/work/breast_cancer.csv",
          "csv": {"header": false, "skip_rows": 1, "label_column": "-1"},
          "partition": {"weights": [1, 1, 1], "index": $i, "seed": 3}}}
JSON
  i=$((i + 1))
done
logs="$(mktemp -d)"
in_image "$cmnt" /usr/local/bin/fl-coordinator --config /work/coordinator.json 2>"$logs/coordinator.log" &
coord=$!
pids+=("$coord")
workers=()
for h in hospital-a hospital-b hospital-c; do
  in_image "$wmnt" /usr/local/bin/fl-worker --config "/work/$h.json" --once >"$logs/$h.out" 2>"$logs/$h.log" &
  workers+=($!)
  pids+=($!)
done
scraped=""
for _ in $(seq 1 600); do
  if ! kill -0 "$coord" 2>/dev/null; then break; fi
  if [ -z "$scraped" ]; then
    scraped="$(python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:$http/metrics', timeout=1).read().decode())" 2>/dev/null | grep '^fl_up ' || true)"
  fi
  sleep 0.2
done
status=0
wait "$coord" || status=$?
for w in "${workers[@]}"; do wait "$w" || status=$?; done
if [ "$status" -ne 0 ]; then
  echo "build-images: the federation between the images failed; logs in $logs" >&2
  tail -5 "$logs"/*.log >&2
  exit 1
fi
rounds="$(grep -c '"round"' "$cmnt/work/state/metrics.jsonl")"
if [ "$rounds" -ne 3 ] || ! grep -q '"final"' "$cmnt/work/state/metrics.jsonl" || [ -z "$scraped" ]; then
  echo "build-images: expected 3 rounds, a final line and /metrics; logs in $logs" >&2
  exit 1
fi
took
echo "build-images: localhost/fl-coordinator:$version and localhost/fl-worker:$version built; a 3-round federation ran between them"
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "fl-(coordinator|worker):$version" || true
