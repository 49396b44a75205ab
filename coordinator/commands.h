// fl-coordinator's subcommands besides running a federation.
#pragma once

namespace fl::coordinator {

// fl-coordinator simulate: sizes a secure-aggregation round in one process.
int SimulateMain(int argc, char** argv);
// fl-coordinator keygen: makes the coordinator's long-term transport key.
int KeygenMain(int argc, char** argv);
// fl-coordinator privacy: the (epsilon, delta) a private vote spends, and what a budget allows.
int PrivacyMain(int argc, char** argv);

}  // namespace fl::coordinator
