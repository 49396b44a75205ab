// Process exit codes of fl-coordinator and fl-worker (their --help lists them).
#pragma once

namespace fl {

enum ExitCode : int {
  kExitOk = 0,
  kExitRuntimeError = 1,     // a runtime or protocol error
  kExitConfigError = 2,      // bad configuration, usage or input data
  kExitTooFewWorkers = 3,    // coordinator: too few workers connected in time
  kExitRoundsFailing = 4,    // coordinator: rounds kept failing
};

}  // namespace fl
