// Secure-aggregation benchmark: in-process rounds (all workers and the coordinator in
// one process, as in fcp/secagg's benchmarks) against baselines measured in the same
// run: a plaintext sum of the same vectors, and raw crypto_stream_chacha20_ietf.
//
//   fl-secagg-bench                 the table of docs/performance.md
//   fl-secagg-bench --quick         a small table (CI smoke run)
//   fl-secagg-bench --n 1000 --d 100000 --dropout 0.05 --threads 2
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/resource.h>
#include <vector>

#include "fl/crypto.h"
#include "fl/secagg/simulation.h"

using namespace fl;
using namespace fl::secagg;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

long PeakRssMiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024;
}

RingVector Input(uint32_t id, size_t len) {
  RingVector v(len);
  for (size_t i = 0; i < len; ++i) v[i] = static_cast<uint32_t>(id * 2654435761u + i);
  return v;
}

// Baseline 1: the plaintext sum of the same n vectors (no protocol at all).
double PlaintextSumSeconds(uint32_t n, size_t len) {
  const double t0 = Now();
  RingVector sum(len);
  for (uint32_t id = 1; id <= n; ++id) (void)sum.Add(Input(id, len));
  volatile uint32_t sink = sum[0];
  (void)sink;
  return Now() - t0;
}

// Baseline 2: raw ChaCha20 keystream throughput in bytes per second.
double RawChaChaBytesPerSecond() {
  std::vector<uint8_t> buf(4 << 20);
  uint8_t key[32] = {1}, nonce[12] = {0};
  const double t0 = Now();
  const int reps = 64;
  for (int i = 0; i < reps; ++i) crypto_stream_chacha20_ietf(buf.data(), buf.size(), nonce, key);
  return reps * static_cast<double>(buf.size()) / (Now() - t0);
}

// A worker's mask generation alone: k + 1 keystreams of d words added into its vector
// (AddChaCha20Mask), against raw crypto_stream_chacha20_ietf over the same bytes.
void MaskGenerationVsRaw(size_t d, uint32_t masks) {
  std::vector<uint32_t> y(d + 1, 0);
  std::vector<crypto::SecretKey> keys(masks);
  for (auto& k : keys) k = crypto::RandomKey();
  const double t0 = Now();
  for (const auto& k : keys) crypto::AddChaCha20Mask(k, +1, y.data(), y.size());
  const double masked = Now() - t0;
  std::vector<uint8_t> raw(y.size() * sizeof(uint32_t));
  uint8_t nonce[12] = {0};
  const double t1 = Now();
  for (const auto& k : keys) crypto_stream_chacha20_ietf(raw.data(), raw.size(), nonce, k.data());
  const double plain = Now() - t1;
  const double bytes = static_cast<double>(masks) * raw.size();
  std::printf("worker mask generation, d = %zu, %u masks: %.2f GB/s; raw ChaCha20 over the same bytes: %.2f GB/s; "
              "ratio %.0f%%\n",
              d, masks, bytes / masked / 1e9, bytes / plain / 1e9, 100.0 * plain / masked);
}

struct Row {
  uint32_t n;
  size_t d;
  double dropout;
  std::string graph;  // "auto", "complete", or a forced Harary degree
  int threads;
};

void RunRow(const Row& r, double chacha_bps) {
  SimulationOptions o;
  o.n = r.n;
  o.vector_length = r.d + 1;
  o.threads = r.threads;
  o.min_cohort = 3;
  if (r.graph == "complete") o.force_complete = true;
  else if (r.graph != "auto") o.forced_k = static_cast<uint32_t>(std::stoul(r.graph));
  const uint32_t drops = static_cast<uint32_t>(r.dropout * r.n + 0.5);
  for (uint32_t i = 0; i < drops; ++i) o.drops[r.n - i] = DropPoint::kBeforeMaskedInput;  // worst case
  const double base = PlaintextSumSeconds(r.n, r.d + 1);
  SimulationResult res = RunSimulation(o, [&](uint32_t id) { return Input(id, r.d + 1); });
  const uint32_t masks = res.params.k + 1;  // per worker: k pairwise + 1 self
  const double mask_bytes = static_cast<double>(res.survivors.size()) * masks * (r.d + 1) * 4.0;
  const double mask_rate = res.mask_seconds > 0 ? mask_bytes / res.mask_seconds : 0;
  const double bytes_ratio = static_cast<double>(res.max_bytes_sent_per_worker) / (4.0 * (r.d + 1));
  std::printf("| %u | %zu | %.0f%% | %s k=%u t=%u | %d | %s | %.2f | %.2f | %.0fx | %.2f | %.1f | %ld | %.4f | %.0f%% |\n",
              r.n, r.d, 100 * r.dropout, res.params.complete ? "complete" : "harary", res.params.k, res.params.t,
              r.threads, res.status.ok() ? "ok" : res.status.message().c_str(), res.wall_seconds, base,
              base > 0 ? res.wall_seconds / base : 0.0, res.server_cpu_seconds, res.server_peak_bytes / 1048576.0,
              PeakRssMiB(), bytes_ratio, chacha_bps > 0 ? 100.0 * mask_rate / chacha_bps : 0.0);
  std::fprintf(stderr, "  worker CPU s per step: advertise %.2f, share %.2f, masked input %.2f, consistency %.2f, "
               "unmask %.2f; coordinator %.2f\n",
               res.client_seconds[0], res.client_seconds[1], res.client_seconds[2], res.client_seconds[3],
               res.client_seconds[4], res.server_cpu_seconds);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  if (!crypto::Init().ok()) return 1;
  std::vector<Row> rows;
  bool quick = false;
  Row custom{0, 0, 0, "auto", 1};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--quick") quick = true;
    else if (a == "--n") custom.n = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--d") custom.d = std::stoul(next());
    else if (a == "--dropout") custom.dropout = std::stod(next());
    else if (a == "--graph") custom.graph = next();
    else if (a == "--threads") custom.threads = std::stoi(next());
    else {
      std::fprintf(stderr,
                   "usage: fl-secagg-bench [--quick] [--n N --d D [--dropout F] [--graph auto|complete|K] "
                   "[--threads T]]\n");
      return 2;
    }
  }
  if (custom.n > 0) {
    if (custom.d == 0) custom.d = 100000;
    rows.push_back(custom);
  } else if (quick) {
    rows = {{10, 10000, 0, "auto", 1}, {50, 10000, 0.2, "auto", 2}, {200, 10000, 0.05, "auto", 2}};
  } else {
    // The comparison with fcp/secagg (single process, d = 100k and 1M, n = 100).
    rows = {{100, 100000, 0, "complete", 1}, {100, 100000, 0, "complete", 2}, {100, 100000, 0, "61", 1},
            {100, 100000, 0, "61", 2},       {100, 1000000, 0, "complete", 2}};
    // The scaling table.
    for (uint32_t n : {10u, 100u, 1000u}) {
      for (size_t d : {size_t{100000}, size_t{1000000}}) {
        if (n == 1000 && d == 1000000) continue;  // > 10 min on 2 cores; see docs/performance.md
        for (double drop : {0.0, 0.05, 0.2}) rows.push_back({n, d, drop, "auto", 2});
      }
    }
  }
  const double chacha = RawChaChaBytesPerSecond();
  std::printf("raw crypto_stream_chacha20_ietf: %.2f GB/s (one core)\n", chacha / 1e9);
  MaskGenerationVsRaw(100000, 85);
  MaskGenerationVsRaw(1000000, 10);
  std::printf("\n");
  std::printf("| n | d | dropout | graph | threads | result | wall s | plaintext-sum s | wall / plaintext | "
              "coordinator s | coordinator held MiB | process peak RSS MiB | bytes/worker / 4d | "
              "masking step / raw ChaCha20 |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const Row& r : rows) RunRow(r, chacha);
  return 0;
}
