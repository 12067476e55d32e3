#include "tools/version_stamp.h"

// TSP_COMPILATION_MODE is Bazel's $(COMPILATION_MODE) (fastbuild, dbg or
// opt), set by the BUILD rule; the rest is what the compiler itself defines.
#ifndef TSP_COMPILATION_MODE
#define TSP_COMPILATION_MODE "unknown"
#endif

#if defined(__OPTIMIZE__)
#define TSP_OPTIMIZED "optimized"
#else
#define TSP_OPTIMIZED "not optimized"
#endif

#if defined(NDEBUG)
#define TSP_ASSERTIONS "assertions off"
#else
#define TSP_ASSERTIONS "assertions on"
#endif

#if defined(__SANITIZE_ADDRESS__)
#define TSP_SANITIZERS ", AddressSanitizer"
#else
#define TSP_SANITIZERS ""
#endif

const char kTspVersion[] = "unreleased";
const char kTspBuildMode[] = TSP_COMPILATION_MODE " (" TSP_OPTIMIZED ", " TSP_ASSERTIONS TSP_SANITIZERS ")";
