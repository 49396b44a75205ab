#!/usr/bin/env bash
# Fails if the given coordinator binary links LibTorch (directly or transitively), or if
# coordinator/ or common/ sources include LibTorch, models/ or worker/ headers.
# Usage: check_coordinator_deps.sh BINARY SOURCE_ROOT
set -euo pipefail
bin="$1"; src="$2"
status=0
if ldd "$bin" | grep -Ei 'libtorch|libc10|libcaffe2|libATen'; then
  echo "FAIL: $bin links LibTorch (above)"; status=1
fi
if grep -rnE '#include *[<"](torch|ATen|c10|fl/models|training/|data/|worker_client\.h|round_participant\.h)' "$src/coordinator" "$src/common"; then
  echo "FAIL: coordinator/ or common/ includes LibTorch, models/ or worker/ headers (above)"; status=1
fi
[ $status -eq 0 ] && echo "OK: $(basename "$bin") is free of LibTorch, models/ and worker/"
exit $status
