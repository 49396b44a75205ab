// fl-worker: trains on one hospital's data and takes part in masked aggregation.
#include "worker_main.h"

int main(int argc, char** argv) { return fl::worker::WorkerMain(argc, argv); }
