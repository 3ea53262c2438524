/* Hand-written stand-in for slimgen output (tests/firmware/spin_model): no weights. */
#include <stdint.h>

extern const int8_t spin_unused;
const int8_t spin_unused = 0;
