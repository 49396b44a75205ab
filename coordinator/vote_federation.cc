#include "vote_federation.h"

#include <algorithm>
#include <cstdio>

#include "fl/exit_codes.h"
#include "fl/log.h"
#include "fl/privacy/noisy_votes.h"

namespace fl::coordinator {

namespace {
constexpr int kMaxAttemptsPerRound = 20;
}  // namespace

VoteFederation::VoteFederation(VoteParts parts)
    : p_(parts), ledger_(parts.env, parts.options.state_dir + "/privacy-ledger.jsonl") {}

Status VoteFederation::Open(uint32_t highest_round) {
  const VoteOptions& v = p_.options.vote;
  // Every sum holds at least min_workers hospitals' inputs (the rounds never unmask fewer),
  // so each hospital adds sigma^2 / min_workers and every released sum carries sigma^2.
  noise_ = {v.sigma_selection, v.sigma_answer, v.classes, static_cast<int64_t>(p_.options.min_workers)};
  FL_ASSIGN_OR_RETURN(privacy::PateAccountant a, privacy::PateAccountant::Create(noise_, v.epsilon_budget, v.delta));
  accountant_ = std::move(a);
  const double most = std::max(v.sigma_selection, v.sigma_answer);
  FL_RETURN_IF_ERROR(privacy::CheckVoteHeadroom(p_.options.max_workers, privacy::kMaxVotesPerCount,
                                                p_.options.max_workers * noise_.PerHospitalVariance(most)));
  FL_RETURN_IF_ERROR(p_.env.MakeDirs(p_.options.state_dir));
  if (!p_.options.resume && p_.env.FileExists(ledger_.path())) {
    return FailedPrecondition(p_.options.state_dir + " holds an earlier vote; set \"resume\": true to go on with "
                              "its privacy budget, or choose another state_dir");
  }
  FL_RETURN_IF_ERROR(ledger_.Open([this](const privacy::Release& r) { return accountant_->RecordRelease(r); }));
  next_round_ = highest_round + 1;
  p_.metrics.SetPrivacySpent(accountant_->Spent(), v.epsilon_budget);
  FL_LOG(kInfo) << "private vote: sigma_1 " << v.sigma_selection << ", sigma_2 " << v.sigma_answer << ", threshold "
                << v.threshold << " of the teachers; epsilon spent " << accountant_->Spent() << " of "
                << v.epsilon_budget << " at delta " << v.delta << " (" << ledger_.releases()
                << " releases in " << ledger_.path() << "); room for " << accountant_->MaxQueries()
                << " more queries";
  return Status::Ok();
}

void VoteFederation::OnQueries(WorkerRecord& w, const Message& m) {
  const VoteOptions& v = p_.options.vote;
  wire::Queries q;
  Status s = UnpackBody(m, &q);
  if (s.ok()) s = ExpectPayloadFrames(m, 1);
  if (s.ok() && w.vote_role != wire::Hello::STUDENT) s = PermissionDenied("only a student sends queries");
  if (s.ok() && w.name == answering_) {  // reconnected while its set is answered: it gets the labels
    FL_LOG(kInfo) << w.name << " sent its queries again while they are being answered";
    return;
  }
  const size_t bytes = s.ok() ? m.payload[0].size() : 0;
  if (s.ok() && (q.count() == 0 || q.count() > v.max_queries)) {
    s = OutOfRange("a query set holds 1 to " + std::to_string(v.max_queries) + " queries");
  } else if (s.ok() && (bytes == 0 || bytes > v.max_query_bytes || bytes % (sizeof(float) * q.count()) != 0)) {
    s = InvalidArgument("the queries' payload is not " + std::to_string(q.count()) + " float records of equal size "
                        "within max_query_bytes");
  }
  const size_t record_floats = s.ok() ? bytes / sizeof(float) / q.count() : 0;
  if (s.ok()) s = CheckRecordSize(record_floats);
  QuerySet qs;
  if (s.ok()) {
    StatusOr<std::vector<float>> records = ReadFloatFrame(m.payload[0], bytes / sizeof(float), "queries");
    s = records.status();
    if (s.ok()) qs.records = std::move(records).value();
  }
  if (!s.ok()) {
    FL_LOG(kWarning) << "refused the queries of worker " << w.id << " (" << w.name << "): " << s.message();
    p_.registry.Drop(w, "queries refused: " + s.message(), true, wire::Abort::REFUSED);
    return;
  }
  qs.name = w.name;
  qs.count = q.count();
  qs.record_floats = record_floats;
  FL_LOG(kInfo) << w.name << " asks for labels of " << qs.count << " queries";
  // One set per student: a student that reconnects replaces the set it sent before.
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(), [&](const QuerySet& o) { return o.name == w.name; }),
                 waiting_.end());
  waiting_.push_back(std::move(qs));
}

std::vector<uint32_t> VoteFederation::Teachers(size_t record_floats) const {
  std::vector<uint32_t> ids;
  for (WorkerRecord* w : p_.registry.Alive()) {
    if (w->vote_role == wire::Hello::TEACHERS && w->vote_record_floats == record_floats) ids.push_back(w->id);
  }
  return ids;
}

WorkerRecord* VoteFederation::Student(const std::string& name) const {
  for (WorkerRecord* w : p_.registry.Alive()) {
    if (w->vote_role == wire::Hello::STUDENT && w->name == name) return w;
  }
  return nullptr;
}

Status VoteFederation::CheckRecordSize(size_t record_floats) const {
  for (WorkerRecord* t : p_.registry.Alive()) {
    if (t->vote_role == wire::Hello::TEACHERS && t->vote_record_floats != record_floats) {
      return InvalidArgument("records of " + std::to_string(record_floats) + " floats, but the teachers read " +
                             std::to_string(t->vote_record_floats) + " (does the student prepare its samples as the "
                             "hospitals do?)");
    }
  }
  return Status::Ok();
}

bool VoteFederation::Ready() {
  // Sets of students that left are forgotten; sets the connected teachers cannot read are
  // refused (they may have arrived before any teachers).
  waiting_.erase(std::remove_if(waiting_.begin(), waiting_.end(),
                                [&](const QuerySet& q) {
                                  WorkerRecord* w = Student(q.name);
                                  const Status s = CheckRecordSize(q.record_floats);
                                  if (w && !s.ok()) {
                                    FL_LOG(kWarning) << "refused the queries of " << q.name << ": " << s.message();
                                    p_.registry.Drop(*w, "queries refused: " + s.message(), true, wire::Abort::REFUSED);
                                  }
                                  return !w || !s.ok();
                                }),
                 waiting_.end());
  for (const QuerySet& q : waiting_) {
    if (Teachers(q.record_floats).size() >= p_.options.min_workers) return true;
  }
  return false;
}

std::optional<VoteFederation::VoteSum> VoteFederation::Vote(wire::RoundStart::Kind kind, const QuerySet& qs,
                                                            const std::vector<uint32_t>& which, bool* fatal,
                                                            std::string* note) {
  const VoteOptions& v = p_.options.vote;
  std::vector<float> records;
  records.reserve(which.size() * qs.record_floats);
  for (uint32_t i : which) {
    const float* r = qs.records.data() + static_cast<size_t>(i) * qs.record_floats;
    records.insert(records.end(), r, r + qs.record_floats);
  }
  RoundSpec spec;
  spec.kind = kind;
  spec.dimension = which.size() * static_cast<uint64_t>(v.classes);
  spec.payload = {&records};
  spec.fixed_point = p_.options.secagg;
  spec.vote_sigma = kind == wire::RoundStart::VOTE_SELECTION ? v.sigma_selection : v.sigma_answer;
  spec.vote_classes = static_cast<uint32_t>(v.classes);
  spec.min_survivors = p_.options.min_workers;
  const auto enough = [&] { return Teachers(qs.record_floats).size() >= p_.options.min_workers; };
  for (int attempt = 0; attempt < kMaxAttemptsPerRound && !p_.stop; ++attempt) {
    if (!enough() && p_.loop.RunFor(enough, p_.options.admission_timeout_s) != EventLoop::Wait::kReady) {
      FL_LOG(kError) << "too few teachers' hospitals (" << Teachers(qs.record_floats).size() << " of the "
                     << p_.options.min_workers << " required) within " << p_.options.admission_timeout_s << " s";
      *note = "the vote could not go on (too few teachers' hospitals)";
      return std::nullopt;
    }
    spec.cohort = Teachers(qs.record_floats);
    StatusOr<RoundResult> round = p_.rounds.Run(next_round_++, spec);
    if (!round.ok()) continue;
    const uint64_t d = spec.dimension;
    const int64_t survivors = static_cast<int64_t>(round->survivors);
    // The noisy sum is known from here on: it is accounted before anything else happens.
    const privacy::Release release{kind == wire::RoundStart::VOTE_SELECTION ? "selection" : "answer", spec.vote_sigma,
                                   noise_.guaranteed_contributors, v.classes, static_cast<int64_t>(which.size()),
                                   survivors, round->protocol_round};
    Status recorded = accountant_->RecordRelease(release);
    if (recorded.ok()) recorded = ledger_.Append(release, accountant_->Spent(), v.delta);
    if (Status s = recorded; !s.ok()) {
      FL_LOG(kError) << "cannot record a release in " << ledger_.path() << ": " << s.ToString();
      *fatal = true;
      return std::nullopt;
    }
    const int64_t teachers = round->sum.size() == d + 1 ? round->sum[d] : 0;
    if (teachers < survivors || teachers > survivors * privacy::kMaxVotesPerCount) {
      // A hospital sent a false weight word: nothing from this sum is used.
      FL_LOG(kError) << "protocol round " << round->protocol_round << ": a vote sum of " << survivors
                     << " hospitals claims " << teachers << " teachers; the query set ends here";
      *note = "a vote sum was malformed (a hospital's input was out of range)";
      return std::nullopt;
    }
    if (Status s = p_.audit.RecordSum(round->protocol_round, round->sum); !s.ok()) {
      FL_LOG(kError) << s.ToString();
      *fatal = true;
      return std::nullopt;
    }
    RingVector counts(std::vector<uint32_t>(round->sum.words().begin(), round->sum.words().end() - 1));
    return VoteSum{privacy::DecodeVoteSum(counts), teachers, survivors};
  }
  *note = p_.stop ? "the coordinator is stopping" : "the vote rounds kept failing";
  return std::nullopt;
}

StatusOr<uint64_t> VoteFederation::NextSetNumber() const {
  const std::string dir = p_.options.state_dir + "/votes";
  if (!p_.env.IsDirectory(dir)) return uint64_t{1};
  FL_ASSIGN_OR_RETURN(const std::vector<std::string> names, p_.env.ListDir(dir));
  uint64_t n = 0;
  for (const std::string& f : names) n += f.rfind("query-set-", 0) == 0;
  return n + 1;
}

bool VoteFederation::Answer(const QuerySet& qs, uint32_t* posed_out) {
  const VoteOptions& v = p_.options.vote;
  StatusOr<uint64_t> set = NextSetNumber();
  if (!set.ok()) {
    FL_LOG(kError) << set.status().ToString();
    return false;
  }
  const size_t C = static_cast<size_t>(v.classes);
  wire::Labels labels;
  std::vector<uint32_t> pairs;  // (query, label), the LABELS payload
  std::string note;
  nlohmann::json selection = nlohmann::json::array(), answers = nlohmann::json::array();
  uint32_t posed = 0;
  while (posed < qs.count && !p_.stop) {
    if (!Student(qs.name)) {
      note = "the student left";
      break;
    }
    uint32_t n = std::min(v.batch_queries, qs.count - posed);
    const int64_t room = accountant_->MaxQueries();
    if (room < n) {
      n = static_cast<uint32_t>(room);
      note = "the privacy budget (epsilon " + std::to_string(v.epsilon_budget) + " at delta " +
             std::to_string(v.delta) + ") allows no more queries";
    }
    if (n == 0) break;
    std::vector<uint32_t> batch(n);
    for (uint32_t i = 0; i < n; ++i) batch[i] = posed + i;
    bool fatal = false;
    const int64_t releases = ledger_.releases();
    std::optional<VoteSum> sel = Vote(wire::RoundStart::VOTE_SELECTION, qs, batch, &fatal, &note);
    if (!sel) {
      if (fatal) return false;
      if (ledger_.releases() > releases) posed += n;  // learnt and accounted, though not used
      break;
    }
    posed += n;
    std::vector<uint32_t> confident;
    const double bar = v.threshold * static_cast<double>(sel->teachers);
    for (uint32_t i = 0; i < n; ++i) {
      const int64_t* row = &sel->counts[i * C];
      selection.push_back({{"query", batch[i]}, {"noisy_counts", std::vector<int64_t>(row, row + C)}});
      if (static_cast<double>(*std::max_element(row, row + C)) >= bar) confident.push_back(batch[i]);
    }
    size_t answered = 0;
    if (!confident.empty()) {
      std::string why;
      std::optional<VoteSum> ans = Vote(wire::RoundStart::VOTE_ANSWER, qs, confident, &fatal, &why);
      if (!ans) {
        if (fatal) return false;
        note = why;
      } else {
        for (size_t i = 0; i < confident.size(); ++i) {
          const int64_t* row = &ans->counts[i * C];
          const uint32_t label = static_cast<uint32_t>(std::max_element(row, row + C) - row);
          pairs.push_back(confident[i]);
          pairs.push_back(label);
          answers.push_back({{"query", confident[i]}, {"noisy_counts", std::vector<int64_t>(row, row + C)},
                             {"label", label}});
        }
        answered = confident.size();
      }
    }
    p_.metrics.VoteReleased(n, answered);
    p_.metrics.SetPrivacySpent(accountant_->Spent(), v.epsilon_budget);
    char line[200];
    std::snprintf(line, sizeof line, "%s: %u queries posed, %zu confident, %zu answered; epsilon spent %.4f of %.4f",
                  qs.name.c_str(), n, confident.size(), answered, accountant_->Spent(), v.epsilon_budget);
    FL_LOG(kInfo) << line;
    const nlohmann::json metrics = {{"vote_set", *set}, {"student", qs.name},   {"posed", n},
                                    {"confident", confident.size()}, {"answered", answered}, {"teachers", sel->teachers},
                                    {"hospitals", sel->contributors}, {"epsilon", accountant_->Spent()},
                                    {"delta", v.delta}, {"epsilon_budget", v.epsilon_budget},
                                    {"time", IsoTime(p_.env.WallTime())}};
    if (Status s = p_.env.AppendToFile(p_.options.state_dir + "/metrics.jsonl", metrics.dump() + "\n"); !s.ok()) {
      FL_LOG(kError) << "cannot record the vote: " << s.ToString();
      return false;
    }
    if (!note.empty()) break;
  }
  *posed_out = posed;
  labels.set_answered(static_cast<uint32_t>(pairs.size() / 2));
  labels.set_posed(posed);
  labels.set_epsilon(accountant_->Spent());
  labels.set_delta(v.delta);
  labels.set_note(note);
  // What was released, for the hospitals' and the student's auditors: the noisy histograms.
  const std::string dir = p_.options.state_dir + "/votes";
  char name[64];
  std::snprintf(name, sizeof name, "/query-set-%06llu.json", static_cast<unsigned long long>(*set));
  const nlohmann::json released = {{"student", qs.name}, {"queries", qs.count}, {"posed", posed},
                                   {"note", note},       {"selection", selection}, {"answer", answers},
                                   {"epsilon", accountant_->Spent()}, {"delta", v.delta}};
  Status s = p_.env.MakeDirs(dir);
  if (s.ok()) s = p_.env.WriteFileAtomic(dir + name, released.dump() + "\n", 0644);
  if (!s.ok()) {
    FL_LOG(kError) << "cannot record the released votes: " << s.ToString();
    return false;
  }
  FL_LOG(kInfo) << qs.name << ": " << labels.answered() << " labels released for " << posed << " of " << qs.count
                << " queries" << (note.empty() ? "" : " (" + note + ")") << "; epsilon spent " << accountant_->Spent();
  if (WorkerRecord* w = Student(qs.name)) {
    Message m = MakeMessage(wire::LABELS, p_.session, 0, 0, &labels);
    m.payload.push_back(WordFrame(pairs));
    p_.registry.Send(*w, std::move(m));
    p_.registry.Drop(*w, "its labels were sent", false);
  }
  return true;
}

int VoteFederation::EndAll(const std::string& reason, int code) {
  p_.metrics.SetReady(false);
  p_.registry.EndFederation(reason);
  return code;
}

int VoteFederation::Run() {
  while (answered_sets_ < p_.options.rounds) {
    while (!Ready()) {
      // A student that left is forgotten with its queries (Ready).
      if (p_.loop.RunFor([&] { return Ready(); }, 3600) == EventLoop::Wait::kStopped || p_.stop) {
        return EndAll("the coordinator is stopping", kExitOk);
      }
    }
    p_.loop.Drain();
    auto next = std::find_if(waiting_.begin(), waiting_.end(), [&](const QuerySet& q) {
      return Student(q.name) && Teachers(q.record_floats).size() >= p_.options.min_workers;
    });
    if (next == waiting_.end()) continue;
    const QuerySet qs = std::move(*next);
    waiting_.erase(next);
    answering_ = qs.name;
    uint32_t posed = 0;
    const bool ok = Answer(qs, &posed);
    answering_.clear();
    if (!ok) return kExitRuntimeError;
    if (p_.stop) return EndAll("the coordinator is stopping", kExitOk);
    // A set counts once the teachers voted on it, or once the budget allows no query at all.
    if (posed > 0 || accountant_->MaxQueries() == 0) ++answered_sets_;
  }
  FL_LOG(kInfo) << "answered " << answered_sets_ << " query sets; epsilon spent " << accountant_->Spent();
  return EndAll("the private vote has answered its last query set", kExitOk);
}

}  // namespace fl::coordinator
