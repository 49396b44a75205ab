// fl-worker as a function: the whole command line (see --help). `wrap`, when set, wraps
// the transport to the coordinator before the worker uses it (a test tool puts a
// fault-injecting decorator there; the product passes nothing). `vote_noise`, when set,
// replaces the discrete Gaussian noise fl-worker vote adds to its teachers' counts (a test
// tool checks the vote's arithmetic without noise; the product passes nothing).
#pragma once

#include <functional>
#include <memory>

#include "fl/transport.h"
#include "vote_noise.h"

namespace fl::worker {

using TransportWrapper = std::function<std::unique_ptr<Transport>(std::unique_ptr<Transport>)>;

int WorkerMain(int argc, char** argv, const TransportWrapper& wrap = {}, VoteNoiseSource* vote_noise = nullptr);

}  // namespace fl::worker
