// fl-coordinator privacy: the privacy budget of a private vote (PATE with Confident-GNMax
// over secure aggregation) before running it: the epsilon that given numbers of selected
// and answered queries spend, and how many queries a budget allows.
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "fl/cli.h"
#include "fl/exit_codes.h"
#include "fl/privacy/pate_accountant.h"

namespace fl::coordinator {
namespace {

const std::vector<FlagSpec> kPrivacyFlags = {
    {"sigma1", true, "standard deviation of the summed noise in the selection round (required)"},
    {"sigma2", true, "standard deviation of the summed noise in the answer round (required)"},
    {"classes", true, "classes of the vote (default 2)"},
    {"hospitals", true, "hospitals whose noise every vote is guaranteed to hold: the survivor minimum (default 3)"},
    {"queries", true, "queries posed: each one's histogram is released in the selection round (default 0)"},
    {"answered", true, "queries answered: released again in the answer round (default: all posed)"},
    {"delta", true, "delta of the reported (epsilon, delta) (default 1e-5)"},
    {"budget", true, "an epsilon budget: also report how many more queries it allows, all answered"},
    {"help", false, "show this help"},
};

int Fail(const std::string& message) {
  std::fprintf(stderr, "fl-coordinator privacy: %s\n", message.c_str());
  return kExitConfigError;
}

bool ParseNumber(const std::string& text, double* out) {
  try {
    size_t used = 0;
    *out = std::stod(text, &used);
    return used == text.size();
  } catch (...) {
    return false;
  }
}

}  // namespace

int PrivacyMain(int argc, char** argv) {
  auto args = ParseArgs(argc, argv, 2, kPrivacyFlags);
  if (!args.ok()) return Fail(args.status().message());
  if (args->Has("help")) {
    std::printf("Usage: fl-coordinator privacy --sigma1 S1 --sigma2 S2 [options]\n\nThe (epsilon, delta) that a "
                "private vote spends (Confident-GNMax; data-independent\nRenyi-DP bound, docs/privacy.md), "
                "printed as JSON.\n\nOptions:\n%s",
                FormatFlags(kPrivacyFlags).c_str());
    return kExitOk;
  }
  if (!args->positional.empty()) return Fail("unexpected argument '" + args->positional[0] + "'");
  if (!args->Has("sigma1") || !args->Has("sigma2")) return Fail("--sigma1 and --sigma2 are required");
  double sigma1 = 0, sigma2 = 0, classes = 2, hospitals = 3, queries = 0, answered = 0, delta = 1e-5, budget = 0;
  const std::vector<std::pair<const char*, double*>> numbers = {
      {"sigma1", &sigma1}, {"sigma2", &sigma2}, {"classes", &classes},   {"hospitals", &hospitals},
      {"queries", &queries}, {"answered", &answered}, {"delta", &delta}, {"budget", &budget}};
  for (const auto& [name, value] : numbers) {
    if (args->Has(name) && !ParseNumber(args->Get(name), value)) return Fail(std::string("--") + name + " needs a number");
  }
  if (!args->Has("answered")) answered = queries;
  auto whole = [](double v) { return v >= 0 && v <= 1e12 && v == static_cast<double>(static_cast<int64_t>(v)); };
  if (!whole(classes) || !whole(hospitals) || !whole(queries) || !whole(answered)) {
    return Fail("--classes, --hospitals, --queries and --answered need whole numbers");
  }
  if (answered > queries) return Fail("--answered cannot exceed --queries");
  privacy::VoteNoise noise{sigma1, sigma2, static_cast<int64_t>(classes), static_cast<int64_t>(hospitals)};
  auto acc = privacy::PateAccountant::Create(noise, args->Has("budget") ? budget : 1e300, delta);
  if (!acc.ok()) return Fail(acc.status().message());
  const int64_t n = noise.guaranteed_contributors;
  if (Status s = acc->RecordSelection(static_cast<int64_t>(queries), n); !s.ok()) return Fail(s.message());
  if (Status s = acc->RecordAnswers(static_cast<int64_t>(answered), n); !s.ok()) return Fail(s.message());
  nlohmann::json out = {{"epsilon", acc->Spent()},
                        {"delta", delta},
                        {"queries", static_cast<int64_t>(queries)},
                        {"answered", static_cast<int64_t>(answered)},
                        {"per_hospital_variance",
                         {{"selection", noise.PerHospitalVariance(sigma1)}, {"answer", noise.PerHospitalVariance(sigma2)}}}};
  if (args->Has("budget")) {
    out["budget"] = budget;
    out["within_budget"] = acc->Spent() <= budget;
    out["more_queries_within_budget"] = acc->MaxQueries();
  }
  std::printf("%s\n", out.dump().c_str());
  return kExitOk;
}

}  // namespace fl::coordinator
