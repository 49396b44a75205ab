#include "fl/secagg/simulation.h"

#include <time.h>

#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "fl/crypto.h"
#include "fl/env.h"
#include "fl/secagg/client.h"
#include "fl/secagg/server.h"

namespace fl::secagg {
namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Runs fn(i) for i in [0, n) on `threads` threads.
void ParallelFor(size_t n, int threads, const std::function<void(size_t)>& fn) {
  if (threads <= 1 || n < 2) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < n; i = next++) fn(i);
    });
  }
  for (auto& th : pool) th.join();
}

// The phase index at which a drop point stops a worker (it does not send phase `p`'s
// message for p >= index).
int DropIndex(DropPoint p) {
  switch (p) {
    case DropPoint::kNever: return 99;
    case DropPoint::kBeforeAdvertise: return 0;
    case DropPoint::kBeforeShare: return 1;
    case DropPoint::kBeforeMaskedInput: return 2;
    case DropPoint::kAfterMaskedInput: return 3;
    case DropPoint::kBeforeUnmask: return 4;
  }
  return 99;
}

}  // namespace

const char* DropPointName(DropPoint p) {
  switch (p) {
    case DropPoint::kNever: return "never";
    case DropPoint::kBeforeAdvertise: return "before-advertise";
    case DropPoint::kBeforeShare: return "before-share";
    case DropPoint::kBeforeMaskedInput: return "before-masked-input";
    case DropPoint::kAfterMaskedInput: return "after-masked-input";
    case DropPoint::kBeforeUnmask: return "before-unmask";
  }
  return "?";
}

SimulationResult RunSimulation(const SimulationOptions& o, const std::function<RingVector(uint32_t)>& make_input) {
  SimulationResult res;
  const auto started = Env::Default().Now();
  if (Status s = crypto::Init(); !s.ok()) {
    res.status = s;
    return res;
  }
  RoundId round;
  round.session.resize(16);
  crypto::RandomBytes(round.session.data(), round.session.size());
  round.round = o.round;

  // Identities and the roster.
  std::vector<Identity> ids(o.n);
  Roster roster;
  for (uint32_t i = 0; i < o.n; ++i) {
    ids[i] = Identity::Generate("w" + std::to_string(i + 1));
    (void)roster.Add(ids[i].name, ids[i].keys.public_key);
  }
  std::vector<std::unique_ptr<SecAggClient>> clients(o.n);
  std::vector<uint64_t> bytes(o.n, 0);
  std::vector<int> drop_at(o.n, 99);
  for (const auto& [id, p] : o.drops) {
    if (id >= 1 && id <= o.n) drop_at[id - 1] = DropIndex(p);
  }

  ServerConfig sc;
  sc.round = round;
  for (uint32_t i = 1; i <= o.n; ++i) sc.cohort.push_back(i);
  sc.vector_length = o.vector_length;
  sc.security = o.security;
  sc.min_cohort = o.min_cohort;
  if (o.force_complete || o.forced_k > 0) {
    // A fixed graph, for sizing rounds with degrees the parameter choice would not pick.
    sc.choose_params = [o](uint32_t n) -> StatusOr<RoundParams> {
      if (o.force_complete) return RoundParams{n, n - 1, n / 2 + 1, true};
      if (o.forced_k + 1 >= n) return ChooseParameters(n, o.security);
      return RoundParams{n, o.forced_k, o.forced_k / 2 + 1, false};
    };
  }
  sc.threads = o.threads;
  SecAggServer server(sc);
  double server_cpu = 0;
  // Coordinator time: wall time inside the server's calls (its unmasking step may use
  // several threads, so per-thread CPU time would undercount it).
  auto server_call = [&](auto&& fn) {
    const auto t0 = Env::Default().Now();
    fn();
    server_cpu += std::chrono::duration<double>(Env::Default().Now() - t0).count();
  };

  // Round 0: advertise.
  std::vector<std::optional<wire::SecAggClientMessage>> replies(o.n);
  for (uint32_t i = 0; i < o.n; ++i) {
    ClientConfig cc;
    cc.round = round;
    cc.worker_id = i + 1;
    cc.identity = &ids[i];
    cc.roster = &roster;
    cc.min_cohort = o.min_cohort;
    cc.security = o.security;
    clients[i] = std::make_unique<SecAggClient>(cc);
  }
  std::vector<std::array<double, 5>> step_cpu(o.n, std::array<double, 5>{0, 0, 0, 0, 0});
  ParallelFor(o.n, o.threads, [&](size_t i) {
    if (drop_at[i] <= 0) return;
    const double t0 = ThreadCpuSeconds();
    StatusOr<wire::SecAggClientMessage> m = clients[i]->Start();
    step_cpu[i][0] = ThreadCpuSeconds() - t0;
    if (m.ok()) replies[i] = std::move(m).value();
  });

  std::vector<Outgoing> outgoing;
  for (int phase = 0; phase <= 4; ++phase) {
    // Deliver this phase's replies to the server (dropped workers are reported as lost).
    server_call([&] {
      for (uint32_t i = 0; i < o.n; ++i) {
        if (replies[i]) {
          bytes[i] += replies[i]->ByteSizeLong();
          (void)server.Receive(i + 1, *replies[i]);
          replies[i].reset();
        } else if (drop_at[i] <= phase) {
          server.Drop(i + 1);
        }
      }
    });
    StatusOr<std::vector<Outgoing>> next = Status(StatusCode::kInternal, "not closed");
    size_t mem = 0;
    server_call([&] {
      mem = server.MemoryBytes();
      next = server.Close();
    });
    res.server_peak_bytes = std::max(res.server_peak_bytes, std::max(mem, server.MemoryBytes()));
    if (!next.ok()) {
      res.status = next.status();
      break;
    }
    if (phase == 4) break;
    // Workers handle the server's messages in parallel. The masked-input step produces
    // vectors, which are handed to the server in batches so that memory stays bounded.
    std::vector<Outgoing>& msgs = next.value();
    const size_t batch = phase == 1 ? static_cast<size_t>(std::max(8, 8 * o.threads)) : msgs.size();
    for (size_t b = 0; b < msgs.size(); b += batch) {
      const size_t end = std::min(msgs.size(), b + batch);
      std::vector<std::optional<RingVector>> vectors(end - b);
      ParallelFor(end - b, o.threads, [&](size_t j) {
        const Outgoing& out = msgs[b + j];
        const uint32_t i = out.to - 1;
        if (drop_at[i] <= phase + 1) return;
        if (phase == 1) clients[i]->SetInput(make_input(out.to));
        const double t0 = ThreadCpuSeconds();
        StatusOr<ClientOutput> r = clients[i]->Handle(out.message);
        step_cpu[i][phase + 1] = ThreadCpuSeconds() - t0;
        if (!r.ok()) return;
        if (r->message) replies[i] = std::move(r->message);
        if (r->masked_input) vectors[j] = std::move(r->masked_input);
      });
      if (phase == 1) {
        server_call([&] {
          for (size_t j = 0; j < vectors.size(); ++j) {
            const uint32_t i = msgs[b + j].to - 1;
            if (!vectors[j] || !replies[i]) continue;
            bytes[i] += replies[i]->ByteSizeLong() + vectors[j]->size() * sizeof(uint32_t);
            (void)server.Receive(i + 1, *replies[i], vectors[j]->data(), vectors[j]->size());
            replies[i].reset();
          }
        });
      }
    }
  }
  for (uint32_t i = 0; i < o.n; ++i) {
    if (clients[i]->aborted()) res.client_aborts[i + 1] = clients[i]->abort_reason();
    res.max_bytes_sent_per_worker = std::max(res.max_bytes_sent_per_worker, bytes[i]);
    for (int p = 0; p < 5; ++p) res.client_seconds[p] += step_cpu[i][p];
  }
  res.mask_seconds = res.client_seconds[2];  // the step that sends the masked input
  res.params = server.params();
  res.survivors = server.survivors();
  if (res.status.ok()) {
    StatusOr<RingVector> sum = server.TakeResult();
    if (sum.ok()) res.sum = std::move(sum).value();
    else res.status = sum.status();
  }
  res.server_cpu_seconds = server_cpu;
  res.wall_seconds = std::chrono::duration<double>(Env::Default().Now() - started).count();
  return res;
}

}  // namespace fl::secagg
