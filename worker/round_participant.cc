#include "round_participant.h"

#include <sodium.h>

#include <cinttypes>
#include <cstdio>
#include <set>

#include "eval_metrics.h"
#include "fl/log.h"
#include "fl/masking.h"

namespace fl::worker {

RoundParticipant::~RoundParticipant() {
  cancel_ = true;
  if (round_ && round_->local.valid()) round_->local.wait();
  Settle();
}

void RoundParticipant::Settle() {
  if (abandoned_.valid()) abandoned_.wait();
}

Status RoundParticipant::CheckRound(const RoundState& r, uint64_t weight) const {
  // Refuse rounds that would weaken this hospital's protection, whatever the coordinator
  // asks for.
  FL_RETURN_IF_ERROR(r.params.Validate().WithContext("refusing round " + std::to_string(r.id)));
  const std::set<uint32_t> unique(r.cohort.begin(), r.cohort.end());
  if (r.id == 0 || unique.size() != r.cohort.size() || !unique.count(who_.worker_id)) {
    return InvalidArgument("refusing round " + std::to_string(r.id) + ": malformed cohort");
  }
  if (r.cohort.size() < options_.min_cohort) {
    return PermissionDenied("refusing round " + std::to_string(r.id) + ": cohort of " +
                            std::to_string(r.cohort.size()) + " is below this worker's min_cohort " +
                            std::to_string(options_.min_cohort));
  }
  if (r.cohort.size() > r.params.max_cohort) return InvalidArgument("cohort exceeds max_cohort");
  if (weight > r.params.max_total_weight) {
    return OutOfRange("this hospital's weight " + std::to_string(weight) + " (samples) is above the round's " +
                      "max_total_weight " + std::to_string(r.params.max_total_weight));
  }
  return Status::Ok();
}

StatusOr<LocalJob> RoundParticipant::TrainingJob(Trainer& trainer, const LocalInputs& in,
                                                                    const wire::RoundStart& rs, const Message& m) {
  if (in.vector) return FailedPrecondition("refusing a training round: this worker only contributes its data vector");
  const uint64_t d = trainer.Layout().dimension();
  if (rs.dimension() != d) {
    return InvalidArgument("the round's model has " + std::to_string(rs.dimension()) + " parameters, ours " +
                           std::to_string(d) + " (different data shape or plan?)");
  }
  FL_RETURN_IF_ERROR(ExpectPayloadFrames(m, 1));
  FL_ASSIGN_OR_RETURN(std::vector<float> global, ReadFloatFrame(m.payload[0], d, "global model"));
  Trainer* t = &trainer;
  std::atomic<bool>* cancel = &cancel_;
  // The learning-rate schedule counts completed global rounds: the model version.
  const int64_t schedule_round = static_cast<int64_t>(rs.model_version());
  const uint64_t weight = static_cast<uint64_t>(in.num_train);
  LocalJob job{weight, "training"};
  job.run = [t, cancel, schedule_round, weight, global = std::move(global)]() -> StatusOr<LocalResult> {
    LocalResult out;
    out.kind = wire::RoundStart::TRAIN;
    out.weight = weight;
    FL_RETURN_IF_ERROR(t->SetParameters(global));
    FL_ASSIGN_OR_RETURN(out.global_eval, t->Evaluate());
    FL_ASSIGN_OR_RETURN(out.train, t->Train(schedule_round, cancel));
    out.delta = t->Parameters();
    for (size_t i = 0; i < out.delta.size(); ++i) out.delta[i] -= global[i];
    return out;
  };
  return job;
}

StatusOr<LocalJob> RoundParticipant::VoteJob(const LocalInputs& in, const wire::RoundStart& rs,
                                                                const Message& m) {
  if (!in.ballot) return FailedPrecondition("refusing a vote round: this worker has no teachers (fl-worker vote)");
  FL_ASSIGN_OR_RETURN(VoteRound vote, in.ballot->ReadRound(rs, m, m.round()));
  TeacherBallot* ballot = in.ballot;
  const wire::RoundStart::Kind kind = rs.kind();
  const uint64_t weight = static_cast<uint64_t>(ballot->teachers());
  LocalJob job{weight, kind == wire::RoundStart::VOTE_SELECTION ? "voting on queries" : "voting on confident queries"};
  // Once the round is accepted, this hospital's own account is charged for it first.
  job.accept = [ballot, release = vote.release] { return ballot->Charge(release); };
  job.run = [ballot, kind, weight, vote = std::move(vote)]() mutable -> StatusOr<LocalResult> {
    LocalResult out;
    out.kind = kind;
    out.weight = weight;
    FL_ASSIGN_OR_RETURN(out.words, ballot->Cast(std::move(vote.records), vote.classes, vote.variance));
    return out;
  };
  return job;
}

Status RoundParticipant::Start(const Membership& who, Trainer* trainer, const LocalInputs& in, const Message& m) {
  if (round_) Abandon("superseded by round " + std::to_string(m.round()));
  who_ = who;
  wire::RoundStart rs;
  FL_RETURN_IF_ERROR(UnpackBody(m, &rs));

  RoundState r;
  r.id = m.round();
  r.model_version = rs.model_version();
  r.cohort.assign(rs.cohort().begin(), rs.cohort().end());
  r.params.clip = rs.clip();
  r.params.max_total_weight = rs.max_total_weight();
  r.params.ring_bits = rs.ring_bits();
  r.params.max_cohort = rs.max_cohort();
  StatusOr<LocalJob> job = InvalidArgument("a round of unknown kind " + std::to_string(rs.kind()));
  const bool trains = rs.kind() == wire::RoundStart::TRAIN || rs.kind() == wire::RoundStart::MERGE_SCORES;
  if (trains && !trainer) return FailedPrecondition("refusing a round that trains or scores: this worker only votes");
  switch (rs.kind()) {
    case wire::RoundStart::TRAIN:
      job = TrainingJob(*trainer, in, rs, m);
      break;
    case wire::RoundStart::MERGE_VECTORS:
      job = merge_.VectorJob(in, rs, m);
      break;
    case wire::RoundStart::MERGE_AGREEMENT:
      job = merge_.AgreementJob(in, rs, m);
      break;
    case wire::RoundStart::MERGE_SCORES:
      job = merge_.ScoringJob(*trainer, in, rs, m, &cancel_);
      break;
    case wire::RoundStart::VOTE_SELECTION:
    case wire::RoundStart::VOTE_ANSWER:
      job = VoteJob(in, rs, m);
      break;
    default:
      break;
  }
  FL_RETURN_IF_ERROR(job.status());
  FL_RETURN_IF_ERROR(CheckRound(r, job->weight));
  if (job->accept) FL_RETURN_IF_ERROR(job->accept());
  secagg::ClientConfig cc;
  cc.round = secagg::RoundId{who.session, r.id};
  cc.worker_id = who.worker_id;
  cc.identity = &identity_;
  cc.roster = &roster_;
  cc.min_cohort = options_.min_cohort;
  cc.min_survivors = options_.min_survivors;
  cc.security = options_.security;
  cc.required_survivors = job->required_survivors;
  cc.required_names = job->required_names;
  r.secagg = std::make_unique<secagg::SecAggClient>(cc);
  FL_ASSIGN_OR_RETURN(wire::SecAggClientMessage advertise, r.secagg->Start());
  FL_RETURN_IF_ERROR(link_.Send(wire::SECAGG_CLIENT, r.id, &advertise));
  // Only now, with the round accepted and our keys out, does the local work start.
  Settle();
  cancel_ = false;
  r.local = std::async(std::launch::async, std::move(job->run));
  FL_LOG(kInfo) << "round " << r.id << ": " << job->what << " (model version " << r.model_version
                << ") with a cohort of " << r.cohort.size();
  round_ = std::move(r);
  return Status::Ok();
}

Status RoundParticipant::OnSecAgg(const Message& m) {
  if (!round_ || m.round() != round_->id) return Status::Ok();  // a late message of an older round
  wire::SecAggServerMessage msg;
  FL_RETURN_IF_ERROR(UnpackBody(m, &msg));
  FL_RETURN_IF_ERROR(ExpectPayloadFrames(m, 0));
  if (msg.step_case() == wire::SecAggServerMessage::kShares && !round_->result) {
    round_->held_shares = std::move(msg);  // masked once local training is done
    return Status::Ok();
  }
  return Step(msg);
}

Status RoundParticipant::Step(const wire::SecAggServerMessage& m) {
  RoundState& r = *round_;
  const bool masking = m.step_case() == wire::SecAggServerMessage::kShares;
  EncodeStats enc;
  if (masking) {
    RingVector x;
    const uint64_t weight = r.result->weight;
    Status s = Status::Ok();
    if (r.result->words) {  // a vote: noisy counts already in the ring, then the weight
      std::vector<uint32_t> words = r.result->words->words();
      words.push_back(static_cast<uint32_t>(weight));
      sodium_memzero(r.result->words->data(), r.result->words->size() * sizeof(uint32_t));
      r.result->words.reset();
      x = RingVector(std::move(words));
    } else {
      s = EncodeWeighted(r.result->delta.data(), r.result->delta.size(), weight, r.params, &x, &enc);
    }
    sodium_memzero(r.result->delta.data(), r.result->delta.size() * sizeof(float));
    FL_RETURN_IF_ERROR(s);
    if (r.result->kind == wire::RoundStart::MERGE_VECTORS) {
      if (enc.clipped > 0) {
        FL_LOG(kWarning) << "round " << r.id << ": " << enc.clipped << " entries of our data vector were clipped at "
                         << r.params.clip << " (the federation's secagg.clip)";
      }
      FL_RETURN_IF_ERROR(merge_.VectorMasked());
    }
    FL_RETURN_IF_ERROR(audit_.Record({r.id, who_.worker_id, r.model_version, weight, r.params, r.cohort}, x));
    r.secagg->SetInput(std::move(x));
  }
  StatusOr<secagg::ClientOutput> out = r.secagg->Handle(m);
  if (!out.ok()) {
    // Too few peers left is a normal end of a round; anything else means the
    // coordinator deviated from the protocol, and this worker leaves the federation.
    if (out.status().code() == StatusCode::kAborted) {
      Abandon(out.status().message());
      return Status::Ok();
    }
    return out.status().WithContext("refusing round " + std::to_string(r.id));
  }
  if (r.secagg->done()) merge_.SumUnmasked(r.result->kind, r.secagg->signed_survivors(), r.secagg->neighbour_names());
  if (!out->message) return Status::Ok();
  std::vector<Frame> payload;
  if (out->masked_input && r.result->kind != wire::RoundStart::TRAIN) {
    payload.push_back(RingFrame(*out->masked_input));  // a merge round: nothing reported beside it
    r.sent = true;
    FL_LOG(kInfo) << "round " << r.id << ": sent the masked vector";
  } else if (out->masked_input) {
    const LocalResult& local = *r.result;
    MetricMap metrics = TestMetrics(local.global_eval);
    metrics["train_loss"] = local.train.train_loss;
    metrics["train_seconds"] = local.train.seconds;
    metrics["clipped_fraction"] =
        static_cast<double>(enc.clipped) / static_cast<double>(std::max<size_t>(1, out->masked_input->size() - 1));
    *out->message->mutable_masked_input()->mutable_metrics() = MetricsToWire(metrics);
    payload.push_back(RingFrame(*out->masked_input));
    r.sent = true;
    char line[200];
    std::snprintf(line, sizeof line,
                  "round %u: sent masked update (train loss %.4f, %.1f s); model v%" PRIu64 " on our test split: %s",
                  r.id, local.train.train_loss, local.train.seconds, r.model_version,
                  TestSummary(local.global_eval).c_str());
    FL_LOG(kInfo) << line;
  }
  return link_.Send(wire::SECAGG_CLIENT, r.id, &*out->message, std::move(payload));
}

Status RoundParticipant::Poll() {
  if (!round_ || round_->result || !round_->local.valid()) return Status::Ok();
  if (round_->local.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return Status::Ok();
  StatusOr<LocalResult> result = round_->local.get();
  if (!result.ok()) return result.status().WithContext("round " + std::to_string(round_->id));
  round_->result = std::move(result).value();
  if (!round_->held_shares) return Status::Ok();
  wire::SecAggServerMessage shares = std::move(*round_->held_shares);
  round_->held_shares.reset();
  return Step(shares);
}

void RoundParticipant::Abandon(const std::string& reason) {
  if (!round_) return;
  if (round_->sent && !round_->local.valid()) {  // our part of that round is done
    round_.reset();
    return;
  }
  FL_LOG(kWarning) << "round " << round_->id << " abandoned: " << reason;
  cancel_ = true;
  if (round_->local.valid()) abandoned_ = std::move(round_->local);
  round_.reset();
}

}  // namespace fl::worker
