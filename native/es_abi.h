/* The call block shared by the assembly stubs, the C helpers and the Python loader.
 * One pointer to a preallocated block is the whole argument list of every stub: that keeps
 * the ctypes cost to one pointer conversion (see shared/spec/measured-facts.md). */
#ifndef ENTERSYS_ABI_H
#define ENTERSYS_ABI_H

#define ES_OFF_TRAP     0
#define ES_OFF_A1       8
#define ES_OFF_A2       16
#define ES_OFF_A3       24
#define ES_OFF_A4       32
#define ES_OFF_A5       40
#define ES_OFF_A6       48
#define ES_OFF_R1       56
#define ES_OFF_R2       64
#define ES_OFF_ERR      72
#define ES_OFF_RAW_RAX  80
#define ES_OFF_RAW_RDX  88
#define ES_OFF_ENTER    96
#define ES_OFF_EXIT     104
#define ES_OFF_HOOKCTX  112
#define ES_BLOCK_SIZE   120

#ifndef __ASSEMBLER__
#include <stdint.h>

typedef void (*es_hook)(void *ctx);

struct es_block {
    uint64_t trap;
    uint64_t a[6];
    uint64_t r1, r2, err;        /* Go's results: r1, r2, errno */
    uint64_t raw_rax, raw_rdx;   /* what the kernel left in RAX/RDX (input of es_map) */
    es_hook enter, exit;         /* entersyscall / exitsyscall stand-ins; NULL = none */
    void *hook_ctx;
};

_Static_assert(sizeof(struct es_block) == ES_BLOCK_SIZE, "es_block layout");

typedef void (*es_stub)(struct es_block *b);
#endif
#endif
