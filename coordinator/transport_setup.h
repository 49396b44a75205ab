// The coordinator's transport settings from its options: the message size limit and, with
// CURVE, its long-term key and the roster as the allow-list.
#pragma once

#include <cstdint>

#include "fl/env.h"
#include "fl/transport.h"
#include "options.h"

namespace fl::coordinator {

// The largest message of a federation whose model has `parameters` parameters.
int64_t ModelMessageBytes(uint64_t parameters);
// Messages up to the largest model allowed (max_model_parameters: the limit follows the
// actual model once it is known); with CURVE, the key from secret_key and the roster's
// hospitals as the only keys admitted.
StatusOr<TransportOptions> CoordinatorTransportOptions(const CoordinatorOptions& options, Env& env);

}  // namespace fl::coordinator
