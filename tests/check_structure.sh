#!/usr/bin/env bash
# The structural rules of docs/architecture.md, checked on the sources:
#  1. no file outside the ZeroMQ backend includes a ZeroMQ header;
#  2. no product file outside the Env touches the file system or the clock directly;
#  3. no product file has a test hook (fault injection lives in tests/);
#  4. every coordinator and worker source file is under 350 lines.
# Usage: check_structure.sh SOURCE_ROOT
set -uo pipefail
src="$1"
cd "$src" || exit 2
status=0
fail() { echo "FAIL: $*"; status=1; }

product=(common coordinator worker models)

if grep -rnE '#include *[<"](zmq\.h|zmq\.hpp|zmq_addon\.hpp)' "${product[@]}" tests bench \
    | grep -vE '^common/src/zmq_(transport\.cc|security\.cc|internal\.h):'; then
  fail "ZeroMQ headers outside common/src/zmq_transport.cc (above)"
fi

fs_or_clock='std::filesystem::(exists|status|is_|file_size|directory_iterator|create_|remove|rename|copy)|fs::(exists|status|is_|file_size|directory_iterator|create_|remove|rename|copy)|std::(i|o)?fstream|\bfopen\(|[^_a-z]open\(|mkstemp|steady_clock::now|system_clock::now|high_resolution_clock::now|sleep_for|sleep_until|\busleep\(|::stat\(|\bstat\(path'
if grep -rnE "$fs_or_clock" "${product[@]}" --include='*.cc' --include='*.h' \
    | grep -v '^common/src/posix_env\.cc:' | grep -v 'Env exemption'; then
  fail "file system or clock used outside the Env (above); go through fl::Env"
fi

if grep -rnE 'CrashBefore|crash.before|_Exit\(137\)|fault injection' "${product[@]}" --include='*.cc' --include='*.h'; then
  fail "test hooks in product code (above); use a decorator in tests/support"
fi
if grep -rnE 'forced_k|force_complete' "${product[@]}" --include='*.cc' --include='*.h' \
    | grep -vE '^common/(include/fl|src)/secagg/simulation\.(h|cc):'; then
  fail "a forced graph outside the simulation (above)"
fi

while IFS= read -r f; do
  n=$(wc -l < "$f")
  if [ "$n" -ge 350 ]; then fail "$f has $n lines (the limit is 349: split it by responsibility)"; fi
done < <(find coordinator worker -name '*.cc' -o -name '*.h' | sort)

[ $status -eq 0 ] && echo "OK: transport, Env, test-hook and file-size rules hold"
exit $status
