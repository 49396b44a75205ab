#include "teacher_ballot.h"

#include <algorithm>
#include <cmath>

#include "data/dataset.h"
#include "fl/env.h"
#include "teachers.h"

namespace fl::worker {

namespace {
constexpr uint64_t kMaxVoteQueries = 10'000'000;
}  // namespace

StatusOr<TeacherBallot> TeacherBallot::Open(const WorkerOptions& o, const data::Dataset& like,
                                            VoteNoiseSource* noise) {
  if (o.state_dir.empty()) return InvalidArgument("vote needs the config's state_dir (its teachers)");
  if (!noise) return FailedPrecondition("no noise source to vote with");
  if (like.sample_shape.empty()) return InvalidArgument("no sample shape to read the queries with");
  FL_ASSIGN_OR_RETURN(TeacherEnsemble teachers, TeacherEnsemble::Load(o, like));
  TeacherBallot ballot(o, like.sample_shape, noise, std::move(teachers),
                       privacy::ReleaseLedger(Env::Default(), o.state_dir + "/teachers/privacy-ledger.jsonl"));
  FL_RETURN_IF_ERROR(ballot.ledger_.Open([&](const privacy::Release& r) { return AddRelease(r, &ballot.spent_); }));
  return ballot;
}

StatusOr<VoteRound> TeacherBallot::ReadRound(const wire::RoundStart& rs, const Message& m, uint32_t round) const {
  const WorkerOptions& o = *options_;
  const uint64_t classes = rs.vote_classes();
  if (classes < 2 || classes > static_cast<uint64_t>(data::kMaxClasses) || rs.dimension() == 0 ||
      rs.dimension() % classes != 0 || rs.dimension() / classes > kMaxVoteQueries) {
    return InvalidArgument("a vote round needs 2 to " + std::to_string(data::kMaxClasses) + " classes and at most " +
                           std::to_string(kMaxVoteQueries) + " queries x classes entries");
  }
  const uint32_t guarantee = rs.vote_guarantee();
  const uint32_t ours = std::max<uint32_t>(3, o.min_survivors);
  if (!(rs.vote_sigma() >= o.min_vote_sigma) || !std::isfinite(rs.vote_sigma())) {
    return PermissionDenied("refusing a vote with noise sigma " + std::to_string(rs.vote_sigma()) +
                            ": below this hospital's min_vote_sigma " + std::to_string(o.min_vote_sigma));
  }
  if (guarantee < 1 || guarantee > ours) {
    return PermissionDenied("refusing a vote whose noise assumes " + std::to_string(guarantee) +
                            " hospitals in every sum: this hospital guarantees " + std::to_string(ours) +
                            " (min_survivors)");
  }
  const uint64_t queries = rs.dimension() / classes;
  FL_RETURN_IF_ERROR(ExpectPayloadFrames(m, 1));
  VoteRound v;
  FL_ASSIGN_OR_RETURN(v.records, ReadFloatFrame(m.payload[0], queries * static_cast<uint64_t>(record_floats()),
                                                "query records"));
  v.classes = static_cast<int64_t>(classes);
  v.variance = rs.vote_sigma() * rs.vote_sigma() / guarantee;
  const bool selection = rs.kind() == wire::RoundStart::VOTE_SELECTION;
  v.release = {selection ? "selection" : "answer", rs.vote_sigma(), guarantee, v.classes,
               static_cast<int64_t>(queries), guarantee, round};
  return v;
}

Status TeacherBallot::Charge(const privacy::Release& r) {
  privacy::RdpAccountant after = spent_;
  FL_RETURN_IF_ERROR(AddRelease(r, &after));
  const double epsilon = after.Epsilon(options_->vote_delta);
  if (epsilon > options_->vote_epsilon_budget) {
    return PermissionDenied("refusing a vote round of " + std::to_string(r.histograms) +
                            " queries: it would take this hospital's teachers to epsilon " + std::to_string(epsilon) +
                            ", past its vote_epsilon_budget " + std::to_string(options_->vote_epsilon_budget) +
                            " (spent so far " + std::to_string(spent()) + ", " + ledger_.path() + ")");
  }
  FL_RETURN_IF_ERROR(ledger_.Append(r, epsilon, options_->vote_delta));
  spent_ = std::move(after);
  return Status::Ok();
}

int64_t TeacherBallot::record_floats() const {
  int64_t n = 1;
  for (int64_t d : sample_shape_) n *= d;
  return n;
}

StatusOr<RingVector> TeacherBallot::Cast(std::vector<float> records, int64_t classes, double variance) {
  const size_t per = static_cast<size_t>(record_floats());
  if (records.empty() || records.size() % per != 0) return InvalidArgument("query records of the wrong size");
  data::Dataset queries;
  queries.sample_shape = sample_shape_;
  queries.num_classes = classes;
  queries.labels.assign(records.size() / per, 0);
  queries.features = std::move(records);
  if (teachers_.classes() != classes) {
    return InvalidArgument("the vote is over " + std::to_string(classes) + " classes; our teachers have " +
                           std::to_string(teachers_.classes()));
  }
  FL_ASSIGN_OR_RETURN(const std::vector<int64_t> counts, teachers_.Votes(queries));
  return noise_->Noisy(counts, variance);
}

}  // namespace fl::worker
