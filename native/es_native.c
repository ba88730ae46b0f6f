/* entersys native helpers: Go 1.19+ Syscall shape, the event recorder hook, batch loops,
 * the benchmark baselines and the seccomp fault injector. Everything here is called through
 * ctypes with argtypes/restype set by entersys/native/__init__.py. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "es_abi.h"

#ifndef GOMAP_SHA256
#define GOMAP_SHA256 "unknown"
#endif

void es_Syscall(struct es_block *b);
void es_Syscall6(struct es_block *b);
void es_RawSyscall(struct es_block *b);
void es_RawSyscall6(struct es_block *b);
void es_Syscall6_core(struct es_block *b);
void es_rawSyscallNoError(struct es_block *b);
void es_map(struct es_block *b);

/* sha256 of the mapping include this library was assembled from (set by the build). */
const char *es_gomap_sha256(void) { return GOMAP_SHA256; }
uint64_t es_block_size(void) { return sizeof(struct es_block); }

/* Go 1.19+ shape (src/syscall/syscall_linux.go): Syscall is a Go function doing
 * runtime_entersyscall(); RawSyscall6(...); runtime_exitsyscall(). */
void es_go119_Syscall(struct es_block *b) {
    b->a[3] = b->a[4] = b->a[5] = 0;
    if (b->enter) b->enter(b->hook_ctx);
    es_Syscall6_core(b);
    if (b->exit) b->exit(b->hook_ctx);
}

void es_go119_Syscall6(struct es_block *b) {
    if (b->enter) b->enter(b->hook_ctx);
    es_Syscall6_core(b);
    if (b->exit) b->exit(b->hook_ctx);
}

void es_go119_RawSyscall(struct es_block *b) {
    b->a[3] = b->a[4] = b->a[5] = 0;
    es_Syscall6_core(b);
}

/* ---- recorder hook: appends (sequence number, event, thread) without any Python ---- */
enum { ES_EV_ENTER = 1, ES_EV_EXIT = 2 };

struct es_event { uint64_t seq; uint32_t kind; uint32_t tid; };

struct es_recorder {
    uint64_t cap;
    uint64_t len;              /* updated atomically; may exceed cap (overflow count) */
    struct es_event *events;
};

static uint64_t es_seq;        /* global, so events of several recorders interleave in order */

static void es_record(struct es_recorder *r, uint32_t kind) {
    uint64_t seq = __atomic_add_fetch(&es_seq, 1, __ATOMIC_SEQ_CST);
    uint64_t i = __atomic_fetch_add(&r->len, 1, __ATOMIC_SEQ_CST);
    if (i < r->cap) {
        r->events[i].seq = seq;
        r->events[i].kind = kind;
        r->events[i].tid = (uint32_t)syscall(SYS_gettid);
    }
}

void es_rec_enter(void *ctx) { es_record((struct es_recorder *)ctx, ES_EV_ENTER); }
void es_rec_exit(void *ctx) { es_record((struct es_recorder *)ctx, ES_EV_EXIT); }

/* A hook that does nothing: the cost of the hook call itself, for the benchmark. */
void es_nop_hook(void *ctx) { (void)ctx; }

/* ---- batch loops ---- */
static uint64_t es_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Run `stub` n times on the same block; returns elapsed nanoseconds. */
uint64_t es_batch(es_stub stub, struct es_block *b, uint64_t n) {
    uint64_t t0 = es_now_ns();
    for (uint64_t i = 0; i < n; i++) stub(b);
    return es_now_ns() - t0;
}

/* Baseline: glibc's syscall(2) for the same trap, n times; returns elapsed nanoseconds. */
uint64_t es_batch_libc(uint64_t trap, uint64_t n) {
    uint64_t t0 = es_now_ns();
    for (uint64_t i = 0; i < n; i++) (void)syscall((long)trap);
    return es_now_ns() - t0;
}

/* Run the assembly mapping over n (rax, rdx) pairs; out holds n triples (r1, r2, err). */
void es_map_many(const uint64_t *rax, const uint64_t *rdx, uint64_t n, uint64_t *out) {
    struct es_block b;
    memset(&b, 0, sizeof b);
    for (uint64_t i = 0; i < n; i++) {
        b.raw_rax = rax[i];
        b.raw_rdx = rdx ? rdx[i] : 0;
        es_map(&b);
        out[3 * i] = b.r1;
        out[3 * i + 1] = b.r2;
        out[3 * i + 2] = b.err;
    }
}

/* Run the mapping over the contiguous range [start, start+n) with rdx = ~rax and return
 * the number of inputs the mapping classified as errors; *first and *last get the lowest and
 * highest error input (unchanged if none). Used by the scan oracle and the benchmark. */
uint64_t es_map_scan(uint64_t start, uint64_t n, uint64_t *first, uint64_t *last) {
    struct es_block b;
    uint64_t errors = 0;
    memset(&b, 0, sizeof b);
    for (uint64_t i = 0; i < n; i++) {
        b.raw_rax = start + i;
        b.raw_rdx = ~(start + i);
        es_map(&b);
        if (b.err != 0) {
            if (errors == 0) *first = start + i;
            *last = start + i;
            errors++;
        }
    }
    return errors;
}

/* ---- seccomp fault injection (call only in a disposable child process) ----
 * Install a raw BPF filter: on x86_64, system call `nr` returns SECCOMP_RET_ERRNO | e;
 * everything else is allowed. Raw BPF because libseccomp refuses e >= 4095.
 * Returns 0, or -errno. */
int es_seccomp_errno(uint32_t nr, uint32_t e) {
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (e & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = { .len = sizeof prog / sizeof prog[0], .filter = prog };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) return -errno;
    return 0;
}

/* Argument echo (call only in a disposable child process): on x86_64, system call `nr`
 * returns SECCOMP_RET_ERRNO | (low 12 bits of argument k, 0-based), so the caller sees
 * which value the kernel found in that argument register. Returns 0, or -errno. */
int es_seccomp_echo_arg(uint32_t nr, uint32_t k) {
    struct sock_filter prog[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 6),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 4),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args) + 8 * (k % 6)),
        BPF_STMT(BPF_ALU | BPF_AND | BPF_K, SECCOMP_RET_DATA & 0xfff),
        BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
        BPF_STMT(BPF_RET | BPF_A, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog fprog = { .len = sizeof prog / sizeof prog[0], .filter = prog };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) return -errno;
    return 0;
}

/* glibc's view of one call: the return value of syscall(2) and errno. */
int64_t es_libc_syscall(uint64_t trap, uint64_t a1, uint64_t a2, uint64_t a3, int *err_out) {
    errno = 0;
    long r = syscall((long)trap, a1, a2, a3);
    *err_out = errno;
    return r;
}
