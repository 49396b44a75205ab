#include "fl/secagg/server.h"

#include "server_states.h"

namespace fl::secagg {

std::string Who(uint32_t id) { return "worker " + std::to_string(id); }

Status Admit(ServerContext& ctx, const std::set<uint32_t>& expected, uint32_t from,
             wire::SecAggClientMessage::StepCase got, wire::SecAggClientMessage::StepCase want) {
  if (!ctx.u0.count(from)) return PermissionDenied(Who(from) + " is unknown in this round");
  if (!expected.count(from)) return FailedPrecondition(Who(from) + " is not expected in this phase");
  if (!ctx.alive.count(from)) return FailedPrecondition(Who(from) + " has already been dropped");
  if (got != want) return InvalidArgument("unexpected message for this phase from " + Who(from));
  if (ctx.responded.count(from)) return InvalidArgument("second message in this phase from " + Who(from));
  return Status::Ok();
}

std::set<uint32_t> LiveResponders(const ServerContext& ctx) {
  std::set<uint32_t> out;
  for (uint32_t id : ctx.responded) {
    if (ctx.alive.count(id)) out.insert(id);
  }
  return out;
}

Status RequireAtLeast(size_t have, uint32_t need, const std::string& what, const char* bound) {
  if (have >= need) return Status::Ok();
  return Aborted("only " + std::to_string(have) + " " + what + "; the " + bound + " is " + std::to_string(need));
}

uint32_t SurvivorMinimum(const ServerContext& ctx) { return MinimumSurvivors(ctx.params, ctx.config.min_survivors); }

SecAggServer::SecAggServer(ServerConfig config) {
  ctx_.config = std::move(config);
  ctx_.u0.insert(ctx_.config.cohort.begin(), ctx_.config.cohort.end());
  ctx_.u0.erase(0);
  ctx_.alive = ctx_.u0;
  state_ = std::make_unique<ServerAdvertiseKeysState>();
}

SecAggServer::~SecAggServer() = default;

const char* SecAggServer::phase_name() const { return aborted() ? "aborted" : state_->name(); }

bool SecAggServer::done() const { return !aborted() && std::string(state_->name()) == "done"; }

Status SecAggServer::Receive(uint32_t from, const wire::SecAggClientMessage& m, const uint32_t* vec, size_t n) {
  if (aborted()) return Aborted("round aborted: " + abort_reason_);
  Status s = state_->Receive(ctx_, from, m, vec, n);
  if (s.ok()) {
    ctx_.responded.insert(from);
  } else if (ctx_.u0.count(from)) {
    ctx_.alive.erase(from);  // a worker that misbehaves leaves the round
  }
  return s;
}

void SecAggServer::Drop(uint32_t id) { ctx_.alive.erase(id); }

std::vector<uint32_t> SecAggServer::Pending() const {
  std::vector<uint32_t> out;
  if (aborted()) return out;
  for (uint32_t id : state_->Expected(ctx_)) {
    if (ctx_.alive.count(id) && !ctx_.responded.count(id)) out.push_back(id);
  }
  return out;
}

bool SecAggServer::ReadyToClose() const { return !aborted() && !done() && Pending().empty(); }

StatusOr<std::vector<Outgoing>> SecAggServer::Close() {
  if (aborted()) return Aborted("round aborted: " + abort_reason_);
  std::unique_ptr<ServerState> next;
  StatusOr<std::vector<Outgoing>> out = state_->Close(ctx_, &next);
  if (!out.ok()) {
    abort_reason_ = std::string("in phase ") + state_->name() + ": " + out.status().message();
    ctx_.sum = RingVector();
    return Status(StatusCode::kAborted, abort_reason_);
  }
  ctx_.responded.clear();
  if (next) state_ = std::move(next);
  // Messages go only to workers still alive.
  std::vector<Outgoing> live;
  for (auto& o : *out) {
    if (ctx_.alive.count(o.to)) live.push_back(std::move(o));
  }
  return live;
}

StatusOr<RingVector> SecAggServer::TakeResult() {
  if (!done()) return FailedPrecondition("the round has not finished");
  if (result_taken_) return FailedPrecondition("result already taken");
  result_taken_ = true;
  return std::move(ctx_.sum);
}

size_t SecAggServer::MemoryBytes() const {
  size_t b = ctx_.sum.size() * sizeof(uint32_t);
  for (const auto& [id, k] : ctx_.keys) b += k.ByteSizeLong();
  for (const auto& [id, v] : ctx_.inbox) {
    for (const auto& e : v) b += e.ciphertext().size() + 8;
  }
  for (const auto& [id, v] : ctx_.seed_shares) b += v.size() * sizeof(Share);
  for (const auto& [id, v] : ctx_.secret_shares) b += v.size() * sizeof(Share);
  for (const auto& [id, s] : ctx_.signatures) b += s.size();
  return b;
}

}  // namespace fl::secagg
