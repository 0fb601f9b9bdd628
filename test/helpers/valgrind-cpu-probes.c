/*
 * Preloaded into node under valgrind (test/helpers/valgrind.ts), never into the library.
 *
 * libhwy (Highway, pulled in by libjxl through libavcodec) measures its timer's resolution in a
 * constructor when it is loaded, with RDTSCP. valgrind 3.19's synthetic CPUID advertises RDTSCP
 * whatever the host has, and its RDTSCP is the host's instruction: on a CPU that lacks it (some
 * VMs of this machine kind hide it) valgrind stops at "Illegal opcode" while dlopen() loads the
 * addon, before any of our code runs. The constructor calls the function through the PLT, so this
 * definition wins; its value only feeds hwy's nanobenchmark, which nothing here uses.
 */
#include <stdint.h>

/* hwy::platform::TimerResolution() (libhwy 1.0, exported as TimerResolution@HWY_0). */
uint64_t _ZN3hwy8platform15TimerResolutionEv(void) { return 1; }
