#include "local_passes.h"

#include "fl/log.h"

namespace fl::worker {

StatusOr<double> TrainPasses(Trainer& t, int64_t rounds, const std::string& what) {
  double loss = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    FL_ASSIGN_OR_RETURN(const TrainStats stats, t.Train(round));
    loss = stats.train_loss;
    FL_LOG(kInfo) << what << " " << round + 1 << "/" << rounds << ": train loss " << loss;
  }
  return loss;
}

}  // namespace fl::worker
