/* The SG_TRY the real kernels/src/sg_common.h provides. */
#ifndef FAKE_COMMON_H
#define FAKE_COMMON_H

#define SG_TRY(expr)                                                                               \
    do {                                                                                           \
        sg_status sg_try_status_ = (expr);                                                         \
        if (sg_try_status_ != SG_OK) {                                                             \
            return sg_try_status_;                                                                 \
        }                                                                                          \
    } while (0)

#endif /* FAKE_COMMON_H */
