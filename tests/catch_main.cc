// The Catch2 main lives in its own tiny library so test files recompile quickly.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
