/* entersys native explorer: the generic breadth-first driver. It knows no protocol step:
 * successors, invariants, the normal form, the progress predicates and the symmetry tables
 * come from the C that entersys.oracle.cgen generates from the steps' Z3 terms, and this
 * file is compiled together with it (see entersys.oracle.native_explore).
 *
 * States are stored packed (4 or 8 bits a field) in one arena indexed by state id (BFS
 * order); the visited set is an open-addressing table of ids; parent id and the instance
 * that led to a state are kept per id (the trace); edges (CSR, with the instance of each
 * edge) only when asked for (progress checks and liveness). Each BFS batch is expanded by
 * `threads` workers (successors, normal form, canonical form, packing, hashing), then
 * inserted in frontier order by one thread, so ids, counts and traces do not depend on the
 * number of threads. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* provided by the generated code */
extern const int es_nf, es_ninst, es_nprogress, es_global_q;
extern const uint8_t es_productive[];
extern const int es_counts[3], es_slots[3];
extern const int8_t es_fent[], es_fidx[], es_fslot[], es_fvkind[];
extern const uint16_t es_pos_m[], es_pos_p[], es_pos_g[];
extern const int es_nperm_m, es_nperm_p, es_nperm_g;
extern const uint8_t es_perm_m[], es_perm_p[], es_perm_g[];
int es_expand(const int16_t *s, int16_t *out, uint16_t *ids);
int es_normalize(int16_t *n);
int es_all_inv(const int16_t *s);
int es_terminal(const int16_t *s);
int es_psrc(int k, const int16_t *s);
int es_ptgt(int k, const int16_t *s);

typedef int16_t v_t;
#define BATCH 32768
#define MAXV 256
#define MAXF 512
#define MAXE 8

enum { ES_DONE = 0, ES_VIOLATION = 1, ES_LIMIT = 2, ES_FAULT = -1, ES_NOMEM = -2,
       ES_UNKNOWN = -3, ES_INTERRUPTED = -4 };

/* Called about twice a second; a nonzero return stops the run (ES_INTERRUPTED): the
 * caller's way to honour Ctrl-C while the search runs in C. */
typedef int (*es_progress_fn)(uint64_t states, uint64_t transitions, int depth,
                              uint64_t bytes);

typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int fault, ff, fv;
} tbuf;

/* One partition of the visited set: open addressing with linear probing over 64-bit
 * slots, (tag << 32) | ref, where tag is the high half of the state's hash (its home slot is
 * the tag masked, so growing needs no state read again) and ref is id + 1 (0 is empty), or
 * PEND | k while the batch's k-th successor is new but not yet numbered. */
#define NPART 64
#define PEND 0x80000000u
typedef struct { uint64_t *slot; uint64_t mask, count; } part_t;

typedef struct es_run {
    int pw, want_edges, threads, symmetry;
    v_t *vals; int *nvals; int *fbits;
    int16_t *code; int *cmin, *crange, *coff;   /* value -> code, per field */
    /* symmetry: per combination of M, P, G permutations, where each field goes and how
     * each reference kind is relabelled */
    int ncombo; uint16_t *cdst; uint8_t *crel;
    int fault_field, fault_value;
    uint64_t max_states;
    uint8_t *arena; uint64_t n, cap, mcap;
    uint32_t *parent; uint16_t *via; uint8_t *prod;
    part_t part[NPART];   /* the visited set, partitioned by the hash's low bits */
    /* the successors of one batch, in frontier order (phase B) */
    const uint8_t **sp; uint32_t *res, *newid; uint64_t spcap;
    uint64_t *levels; int nlevels, lcap;
    uint32_t *eoff; uint32_t *edst; uint16_t *einst; uint64_t ne, ecap;
    uint32_t *rev_off, *rev;
    uint32_t *zero; uint64_t nzero, zcap;
    uint32_t *bad; uint64_t nbad;
    int64_t viol, dead;   /* least invariant-violating id; least deadlocked id */
    uint64_t transitions;
    int status;
    tbuf tb[MAXE];
    /* symmetry: entity tables by kind */
    const uint16_t *pos[3]; const uint8_t *perm[3]; int nperm[3];
} es_run;

/* ---- packing: each field's value is coded by its index in that field's value table
 * (learned: a value not in the table is a fault naming it, and the caller restarts with
 * the table extended), in just enough bits ----------------------------------------------- */
static int pack(const es_run *r, const v_t *s, uint8_t *out, int *ff, int *fv) {
    /* codes gathered into a 64-bit accumulator, flushed 32 bits at a time (fields are at
     * most 8 bits wide, so the accumulator never holds more than 39 bits) */
    uint64_t acc = 0; int nb = 0, o = 0;
    const int *fbits = r->fbits, *cmin = r->cmin, *crange = r->crange, *coff = r->coff;
    const int16_t *code = r->code;
    for (int i = 0; i < es_nf; i++) {
        unsigned x = (unsigned)(s[i] - cmin[i]);
        int c = x < (unsigned)crange[i] ? code[coff[i] + (int)x] : -1;
        if (c < 0) { if (ff) { *ff = i; *fv = s[i]; } return -1; }
        acc |= (uint64_t)c << nb;
        nb += fbits[i];
        if (nb >= 32) {
            uint32_t w = (uint32_t)acc; memcpy(out + o, &w, 4);
            o += 4; acc >>= 32; nb -= 32;
        }
    }
    while (nb > 0) { out[o++] = (uint8_t)acc; acc >>= 8; nb -= 8; }
    return 0;
}

static void unpack(const es_run *r, const uint8_t *p, v_t *s) {
    uint64_t acc = 0; int nb = 0, o = 0;
    const int *fbits = r->fbits;
    const v_t *vals = r->vals;
    int left = r->pw;
    for (int i = 0; i < es_nf; i++) {
        int w = fbits[i];
        if (nb < w) {
            if (left >= 4) {
                uint32_t q; memcpy(&q, p + o, 4);
                acc |= (uint64_t)q << nb; nb += 32; o += 4; left -= 4;
            } else {
                while (nb < w) { acc |= (uint64_t)p[o++] << nb; nb += 8; left--; }
            }
        }
        s[i] = vals[i * MAXV + (acc & ((1u << w) - 1))];
        acc >>= w; nb -= w;
    }
}

static uint64_t hash(const uint8_t *p, int n) {
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)n;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w; memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull; h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, p + i, n - i);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull; h ^= h >> 29;
    return h;
}

/* ---- symmetry -------------------------------------------------------------------------- */
static v_t relabel(int vk, v_t v, const uint8_t *pm, const uint8_t *pp,
                       const uint8_t *pg) {
    if (v == 0) return 0;
    switch (vk) {
    case 1: return (v_t)(pp[v - 1] + 1);
    case 2: return (v_t)(pm[v - 1] + 1);
    case 3: return (v_t)(pg[v - 1] + 1);
    case 4: return v == es_global_q ? v : (v_t)(pp[v - 1] + 1);
    default: return v;
    }
}

static void apply_perm(const es_run *r, const v_t *s, v_t *t, const uint8_t *pm,
                       const uint8_t *pp, const uint8_t *pg) {
    const uint8_t *pk[3] = {pm, pp, pg};
    for (int f = 0; f < es_nf; f++) {
        v_t v = relabel(es_fvkind[f], s[f], pm, pp, pg);
        int e = es_fent[f];
        if (e < 0) { t[f] = v; continue; }
        int dest = r->pos[e][pk[e][es_fidx[f]] * es_slots[e] + es_fslot[f]];
        t[dest] = v;
    }
}

/* signature byte of a field that no relabelling changes */
static v_t sigval(int vk, v_t v) {
    if (vk == 0) return v;
    if (vk == 4) return v == 0 ? 0 : v == es_global_q ? 1 : 2;
    return v != 0;
}

/* the permutations of one entity kind that order its entities by signature */
static int sorting_perms(const es_run *r, int e, const v_t *s, int *out) {
    int n = es_counts[e], ns = es_slots[e], c = 0;
    if (n <= 1) { out[0] = 0; return 1; }
    v_t sig[8][64];
    for (int i = 0; i < n; i++)
        for (int k = 0; k < ns && k < 64; k++) {
            int pos = r->pos[e][i * ns + k];
            sig[i][k] = sigval(es_fvkind[pos], s[pos]);
        }
    int w = ns < 64 ? ns : 64;
    if (n == 2) {  /* permutations(range(2)) lists the identity, then the swap */
        int c2 = memcmp(sig[0], sig[1], w * sizeof(v_t));
        if (c2 <= 0) out[c++] = 0;
        if (c2 >= 0) out[c++] = 1;
        return c;
    }
    for (int q = 0; q < r->nperm[e]; q++) {
        const uint8_t *p = r->perm[e] + q * n;
        int inv[8];
        for (int i = 0; i < n; i++) inv[p[i]] = i;
        int ok = 1;
        for (int i = 0; i + 1 < n && ok; i++)
            if (memcmp(sig[inv[i]], sig[inv[i + 1]], w * sizeof(v_t)) > 0) ok = 0;
        if (ok) out[c++] = q;
    }
    return c;
}

#define RELV 16
static void apply_combo(const es_run *r, int k, const v_t *s, v_t *t) {
    const uint16_t *dst = r->cdst + (size_t)k * es_nf;
    const uint8_t *rel = r->crel + (size_t)k * 5 * RELV;
    for (int f = 0; f < es_nf; f++) {
        v_t v = s[f];
        int vk = es_fvkind[f];
        if (vk && v > 0 && v < RELV) v = rel[vk * RELV + v];
        t[dst[f]] = v;
    }
}

/* precomputed destination and relabelling tables of every combination (if not too many) */
static int build_combos(es_run *r) {
    long n = (long)r->nperm[0] * r->nperm[1] * r->nperm[2];
    if (n > 20000) return 0;
    r->cdst = malloc(sizeof(uint16_t) * n * es_nf);
    r->crel = calloc((size_t)n * 5 * RELV, 1);
    if (!r->cdst || !r->crel) return -1;
    v_t src[MAXF], t[MAXF];
    for (int f = 0; f < es_nf; f++) src[f] = (v_t)f;
    int k = 0;
    for (int a = 0; a < r->nperm[0]; a++)
        for (int b = 0; b < r->nperm[1]; b++)
            for (int c = 0; c < r->nperm[2]; c++, k++) {
                const uint8_t *pm = r->perm[0] + a * es_counts[0],
                              *pp = r->perm[1] + b * es_counts[1],
                              *pg = r->perm[2] + c * es_counts[2];
                /* where each field goes: permute the field numbers with plain values */
                const uint8_t *pk[3] = {pm, pp, pg};
                for (int f = 0; f < es_nf; f++) {
                    int e = es_fent[f];
                    int dest = e < 0 ? f
                        : r->pos[e][pk[e][es_fidx[f]] * es_slots[e] + es_fslot[f]];
                    r->cdst[(size_t)k * es_nf + f] = (uint16_t)dest;
                }
                for (int vk = 1; vk <= 4; vk++)
                    for (int v = 0; v < RELV; v++) {
                        int lim = vk == 2 ? es_counts[0] : vk == 3 ? es_counts[2]
                                : vk == 4 ? es_global_q : es_counts[1];
                        r->crel[(size_t)k * 5 * RELV + vk * RELV + v] =
                            (uint8_t)(v >= 1 && v <= lim ? relabel(vk, (v_t)v, pm, pp, pg) : v);
                    }
            }
    (void)src; (void)t;
    r->ncombo = (int)n;
    return 0;
}

static void canon(const es_run *r, v_t *s) {
    if (!r->symmetry) return;
    static __thread int lm[720], lp[720], lg[40320];
    int cm = sorting_perms(r, 0, s, lm), cp = sorting_perms(r, 1, s, lp),
        cg = sorting_perms(r, 2, s, lg);
    v_t best[MAXF], t[MAXF];
    if (r->ncombo && cm == 1 && cp == 1 && cg == 1) {
        int k = (lm[0] * r->nperm[1] + lp[0]) * r->nperm[2] + lg[0];
        if (k == 0) return;  /* the identity already sorts every entity */
        apply_combo(r, k, s, t);
        memcpy(s, t, es_nf * sizeof(v_t));
        return;
    }
    int have = 0;
    for (int a = 0; a < cm; a++)
        for (int b = 0; b < cp; b++)
            for (int c = 0; c < cg; c++) {
                if (r->ncombo)
                    apply_combo(r, (lm[a] * r->nperm[1] + lp[b]) * r->nperm[2] + lg[c], s, t);
                else
                    apply_perm(r, s, t, r->perm[0] + lm[a] * es_counts[0],
                               r->perm[1] + lp[b] * es_counts[1],
                               r->perm[2] + lg[c] * es_counts[2]);
                if (!have || memcmp(t, best, es_nf * sizeof(v_t)) < 0) {
                    memcpy(best, t, es_nf * sizeof(v_t)); have = 1;
                }
            }
    memcpy(s, best, es_nf * sizeof(v_t));
}

/* ---- growable arrays ------------------------------------------------------------------- */
static int grow(void **p, uint64_t *cap, uint64_t need, size_t elem) {
    if (need <= *cap) return 0;
    uint64_t c = *cap ? *cap : 1024;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q; *cap = c;
    return 0;
}

static int tb_put(tbuf *b, const void *src, size_t n) {
    if (b->len + n > b->cap) {
        size_t c = b->cap ? b->cap : 1 << 20;
        while (c < b->len + n) c *= 2;
        uint8_t *q = realloc(b->buf, c);
        if (!q) return -1;
        b->buf = q; b->cap = c;
    }
    memcpy(b->buf + b->len, src, n);
    b->len += n;
    return 0;
}

uint64_t es_bytes(const es_run *r) {
    uint64_t b = r->cap * r->pw + r->cap * (4 + 2 + 1) + r->spcap * (8 + 4 + 4);
    for (int q = 0; q < NPART; q++) b += (r->part[q].mask + 1) * 8;
    if (r->want_edges) b += r->cap * 4 + r->ecap * 6;
    for (int t = 0; t < MAXE; t++) b += r->tb[t].cap;
    return b;
}

/* ---- the visited set ------------------------------------------------------------------- */
/* NPART partitions (part_t above); a probe reads a state's packed bytes only when the
 * tags match. Phase B numbers a batch's successors in three steps, so that the partitions
 * are searched in parallel and the ids still come out in frontier order: B1 (parallel, a
 * worker per set of partitions) finds each successor's id or its first occurrence in the
 * batch; B2 (one thread, no hashing) numbers first occurrences in frontier order and
 * records parents and edges; B3 (parallel) writes those ids into the pending slots. */
#define TAG(h) ((uint64_t)(h) >> 32)
#define PART(h) ((h) & (NPART - 1))
#define LOADMAX(size) ((size) / 10 * 7)

static int part_resize(part_t *pt, uint64_t size) {
    uint64_t *t = calloc(size, 8);
    if (!t) return -1;
    uint64_t mask = size - 1;
    if (pt->slot)
        for (uint64_t k = 0; k <= pt->mask; k++) {
            uint64_t e = pt->slot[k];
            if (!e) continue;
            uint64_t i = (e >> 32) & mask;
            while (t[i]) i = (i + 1) & mask;
            t[i] = e;
        }
    free(pt->slot);
    pt->slot = t; pt->mask = mask;
    return 0;
}

/* Probe pt for packed state p (hash h): 1 and its slot if present, else 0 and the empty
 * slot where it goes. A pending ref is compared with that successor's bytes in the batch. */
static int probe(const es_run *r, const part_t *pt, uint64_t h, const uint8_t *p,
                 uint64_t *where) {
    uint64_t tag = TAG(h), i = tag & pt->mask;
    for (;;) {
        uint64_t e = pt->slot[i];
        if (!e) { *where = i; return 0; }
        if ((e >> 32) == tag) {
            uint32_t v = (uint32_t)e;
            const uint8_t *o = v & PEND ? r->sp[v & ~PEND] + 10
                                        : r->arena + (uint64_t)(v - 1) * r->pw;
            if (!memcmp(o, p, r->pw)) { *where = i; return 1; }
        }
        i = (i + 1) & pt->mask;
    }
}

/* a new state's id: its packed bytes appended to the arena, its per-id arrays grown */
static int64_t append_state(es_run *r, const uint8_t *p) {
    uint64_t id = r->n;
    if (id + 1 >= PEND) return -1;   /* ids are 31-bit here (32-bit parents and edges) */
    if (grow((void **)&r->arena, &r->cap, id + 1, r->pw)) return -1;
    if (r->cap > r->mcap) {
        uint64_t c = r->cap;
        r->parent = realloc(r->parent, c * 4);
        r->via = realloc(r->via, c * 2);
        r->prod = realloc(r->prod, c);
        if (r->want_edges) r->eoff = realloc(r->eoff, (c + 1) * 4);
        if (!r->parent || !r->via || !r->prod || (r->want_edges && !r->eoff)) return -1;
        r->mcap = c;
    }
    memcpy(r->arena + id * r->pw, p, r->pw);
    r->n++;
    return (int64_t)id;
}

/* insert a state known to be new, numbered id (the initial state) */
static int insert_numbered(es_run *r, const uint8_t *p, uint64_t h, uint64_t id) {
    part_t *pt = &r->part[PART(h)];
    uint64_t w;
    if (probe(r, pt, h, p, &w)) return 0;
    pt->slot[w] = (TAG(h) << 32) | (id + 1);
    if (++pt->count > LOADMAX(pt->mask + 1)) return part_resize(pt, (pt->mask + 1) * 2);
    return 0;
}

/* Phase B1, one worker: for the batch's successors whose partition this worker owns (by
 * partition number modulo the workers), the id if visited, else the first successor of the
 * batch with the same state (entered as pending where it is the first). */
typedef struct { es_run *r; uint64_t m; int t, nt, fault; } bjob;

static void *b1_range(void *arg) {
    bjob *j = arg;
    es_run *r = j->r;
    j->fault = 0;
    for (uint64_t k = 0; k < j->m; k++) {
        if (k + 16 < j->m) {   /* a home slot 16 successors ahead, to overlap the misses */
            uint64_t ha; memcpy(&ha, r->sp[k + 16] + 2, 8);
            if ((int)(PART(ha) % j->nt) == j->t) {
                const part_t *pa = &r->part[PART(ha)];
                __builtin_prefetch(&pa->slot[TAG(ha) & pa->mask]);
            }
        }
        uint64_t h; memcpy(&h, r->sp[k] + 2, 8);
        if ((int)(PART(h) % j->nt) != j->t) continue;
        part_t *pt = &r->part[PART(h)];
        uint64_t w;
        if (probe(r, pt, h, r->sp[k] + 10, &w)) {
            uint32_t v = (uint32_t)pt->slot[w];
            r->res[k] = v & PEND ? v : v - 1;
            continue;
        }
        pt->slot[w] = (TAG(h) << 32) | (PEND | (uint32_t)k);
        r->res[k] = PEND | (uint32_t)k;
        if (++pt->count > LOADMAX(pt->mask + 1) && part_resize(pt, (pt->mask + 1) * 2)) {
            j->fault = ES_NOMEM;
            return NULL;
        }
    }
    return NULL;
}

/* Phase B3, one worker: the pending slots of its partitions get the ids phase B2 gave. */
static void *b3_range(void *arg) {
    bjob *j = arg;
    es_run *r = j->r;
    for (uint64_t k = 0; k < j->m; k++) {
        if (r->res[k] != (PEND | (uint32_t)k)) continue;
        uint64_t h; memcpy(&h, r->sp[k] + 2, 8);
        if ((int)(PART(h) % j->nt) != j->t) continue;
        part_t *pt = &r->part[PART(h)];
        uint64_t i = TAG(h) & pt->mask;
        while ((uint32_t)pt->slot[i] != (PEND | (uint32_t)k)) i = (i + 1) & pt->mask;
        pt->slot[i] = (TAG(h) << 32) | ((uint64_t)r->newid[k] + 1);
    }
    return NULL;
}

/* ---- expansion (phase A, parallel) ----------------------------------------------------- */
typedef struct { es_run *r; uint64_t lo, hi; int t; } job;

static void *expand_range(void *arg) {
    job *j = arg;
    es_run *r = j->r;
    tbuf *b = &r->tb[j->t];
    b->len = 0; b->fault = 0;
    v_t s[MAXF]; uint8_t pk[MAXF * 2];
    v_t *succ = malloc(((size_t)es_ninst * es_nf + 1) * sizeof(v_t));
    uint16_t *ids = malloc(((size_t)es_ninst + 1) * 2);
    if (!succ || !ids) { b->fault = ES_NOMEM; free(succ); free(ids); return NULL; }
    for (uint64_t id = j->lo; id < j->hi; id++) {
        unpack(r, r->arena + id * r->pw, s);
        int c = es_expand(s, succ, ids);
        if (c < 0) { b->fault = ES_FAULT; break; }
        /* no step and not an intended terminal: a deadlock (marked for phase B) */
        uint16_t cnt = c == 0 && !es_terminal(s) ? UINT16_MAX : (uint16_t)c;
        if (tb_put(b, &cnt, 2)) { b->fault = ES_NOMEM; break; }
        for (int k = 0; k < c; k++) {
            v_t *n = succ + (size_t)k * es_nf;
            if (es_normalize(n) < 0) { b->fault = ES_FAULT; break; }
            canon(r, n);
            if (pack(r, n, pk, &b->ff, &b->fv) < 0) { b->fault = ES_UNKNOWN; break; }
            uint64_t h = hash(pk, r->pw);
            if (tb_put(b, &ids[k], 2) || tb_put(b, &h, 8) || tb_put(b, pk, r->pw)) {
                b->fault = ES_NOMEM; break;
            }
        }
        if (b->fault) break;
    }
    free(succ); free(ids);
    return NULL;
}

typedef struct { es_run *r; uint64_t lo, hi; int64_t first; } ijob;

static void *check_range(void *arg) {
    ijob *j = arg;
    v_t s[MAXF];
    j->first = -1;
    for (uint64_t id = j->lo; id < j->hi; id++) {
        unpack(j->r, j->r->arena + id * j->r->pw, s);
        if (!es_all_inv(s)) { j->first = (int64_t)id; break; }
    }
    return NULL;
}

static void parallel(es_run *r, void *(*fn)(void *), void *jobs, size_t size, int nt) {
    pthread_t th[MAXE];
    if (nt == 1) { fn(jobs); return; }
    for (int t = 0; t < nt; t++) pthread_create(&th[t], NULL, fn, (char *)jobs + t * size);
    for (int t = 0; t < nt; t++) pthread_join(th[t], NULL);
    (void)r;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* invariants of ids [lo, hi): the least violating id, or -1 */
static int64_t check_new(es_run *r, uint64_t lo, uint64_t hi) {
    ijob jobs[MAXE];
    int nt = r->threads;
    uint64_t step = (hi - lo + nt - 1) / nt;
    for (int t = 0; t < nt; t++) {
        jobs[t].r = r;
        jobs[t].lo = lo + t * step < hi ? lo + t * step : hi;
        jobs[t].hi = lo + (t + 1) * step < hi ? lo + (t + 1) * step : hi;
    }
    parallel(r, check_range, jobs, sizeof(ijob), nt);
    for (int t = 0; t < nt; t++)
        if (jobs[t].first >= 0) return jobs[t].first;
    return -1;
}

/* ---- the public API -------------------------------------------------------------------- */
void es_free(es_run *r);
/* vals: es_nf rows of MAXV sorted values, nvals[f] of them used in row f */
es_run *es_new(const int16_t *vals, const int *nvals, int want_edges, uint64_t max_states,
               int threads, int symmetry) {
    es_run *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->vals = malloc(sizeof(v_t) * MAXV * es_nf);
    r->nvals = malloc(sizeof(int) * es_nf);
    r->fbits = malloc(sizeof(int) * es_nf);
    if (!r->vals || !r->nvals || !r->fbits) return NULL;
    memcpy(r->vals, vals, sizeof(v_t) * MAXV * es_nf);
    int bits = 0;
    for (int i = 0; i < es_nf; i++) {
        int w = 0;
        r->nvals[i] = nvals[i] < 1 ? 1 : nvals[i] > MAXV ? MAXV : nvals[i];
        while ((1 << w) < r->nvals[i]) w++;
        r->fbits[i] = w; bits += w;
    }
    r->pw = (bits + 7) / 8;
    if (r->pw == 0) r->pw = 1;
    r->cmin = malloc(sizeof(int) * es_nf); r->crange = malloc(sizeof(int) * es_nf);
    r->coff = malloc(sizeof(int) * es_nf);
    if (!r->cmin || !r->crange || !r->coff) return NULL;
    int total = 0;
    for (int i = 0; i < es_nf; i++) {
        const v_t *t = r->vals + i * MAXV;
        r->cmin[i] = t[0];
        r->crange[i] = t[r->nvals[i] - 1] - t[0] + 1;
        r->coff[i] = total; total += r->crange[i];
    }
    r->code = malloc(sizeof(int16_t) * (total ? total : 1));
    if (!r->code) return NULL;
    for (int k = 0; k < total; k++) r->code[k] = -1;
    for (int i = 0; i < es_nf; i++)
        for (int c = 0; c < r->nvals[i]; c++)
            r->code[r->coff[i] + r->vals[i * MAXV + c] - r->cmin[i]] = (int16_t)c;
    r->want_edges = want_edges;
    r->max_states = max_states;
    r->threads = threads < 1 ? 1 : threads > MAXE ? MAXE : threads;
    r->symmetry = symmetry;
    r->viol = -1;
    r->dead = -1;
    r->pos[0] = es_pos_m; r->pos[1] = es_pos_p; r->pos[2] = es_pos_g;
    r->perm[0] = es_perm_m; r->perm[1] = es_perm_p; r->perm[2] = es_perm_g;
    r->nperm[0] = es_nperm_m; r->nperm[1] = es_nperm_p; r->nperm[2] = es_nperm_g;
    if (build_combos(r) < 0) return NULL;
    /* the partitions start sized for the state cap, up to 2^22 slots in all (32 MiB: a
     * generous cap must not cost memory); each grows on its own, so growing holds only
     * 1/NPART of the set twice */
    uint64_t size = 1 << 6;
    while (size < (1ull << 16) && LOADMAX(size) * NPART < max_states) size *= 2;
    for (int q = 0; q < NPART; q++)
        if (part_resize(&r->part[q], size)) { es_free(r); return NULL; }
    return r;
}

void es_free(es_run *r) {
    if (!r) return;
    free(r->arena); free(r->parent); free(r->via); free(r->prod);
    for (int q = 0; q < NPART; q++) free(r->part[q].slot);
    free(r->sp); free(r->res); free(r->newid);
    free(r->levels); free(r->eoff); free(r->edst); free(r->einst); free(r->zero);
    free(r->rev_off); free(r->rev); free(r->bad);
    free(r->vals); free(r->nvals); free(r->fbits);
    free(r->code); free(r->cmin); free(r->crange); free(r->coff); free(r->cdst); free(r->crel);
    for (int t = 0; t < MAXE; t++) free(r->tb[t].buf);
    free(r);
}

/* Normal and canonical form of a full state in place; 0, or -1 on a write out of range. */
int es_canon(es_run *r, int16_t *s) {
    if (es_normalize(s) < 0) return -1;
    canon(r, s);
    return 0;
}

static int add_level(es_run *r, uint64_t start) {
    if (r->nlevels == r->lcap) {
        r->lcap = r->lcap ? r->lcap * 2 : 64;
        uint64_t *q = realloc(r->levels, r->lcap * 8);
        if (!q) return -1;
        r->levels = q;
    }
    r->levels[r->nlevels++] = start;
    return 0;
}

/* Explore from `init` (unpacked). Returns ES_DONE, ES_VIOLATION (stop_at_first), ES_LIMIT,
 * ES_FAULT (a value outside the packable range) or ES_NOMEM. */
int es_run_bfs(es_run *r, const int16_t *init, int stop_at_first, es_progress_fn cb) {
    v_t s[MAXF]; uint8_t pk[MAXF * 2];
    memcpy(s, init, es_nf * sizeof(v_t));
    if (es_canon(r, s) < 0) return r->status = ES_FAULT;
    if (pack(r, s, pk, &r->fault_field, &r->fault_value) < 0) return r->status = ES_UNKNOWN;
    if (append_state(r, pk) < 0 || insert_numbered(r, pk, hash(pk, r->pw), 0))
        return r->status = ES_NOMEM;
    r->parent[0] = UINT32_MAX; r->via[0] = UINT16_MAX;
    if (!es_all_inv(s)) r->viol = 0;
    if (add_level(r, 0) || add_level(r, 1)) return r->status = ES_NOMEM;
    if (r->want_edges) r->eoff[0] = 0;
    double last = now();
    uint64_t head = 0;
    int limit = 0;
    while (head < r->n && !limit && !(stop_at_first && (r->viol >= 0 || r->dead >= 0))) {
        uint64_t lvl_end = r->levels[r->nlevels - 1];
        uint64_t hi = head + BATCH < lvl_end ? head + BATCH : lvl_end;
        job jobs[MAXE];
        int nt = r->threads;
        uint64_t step = (hi - head + nt - 1) / nt;
        for (int t = 0; t < nt; t++) {
            jobs[t].r = r; jobs[t].t = t;
            jobs[t].lo = head + t * step < hi ? head + t * step : hi;
            jobs[t].hi = head + (t + 1) * step < hi ? head + (t + 1) * step : hi;
        }
        parallel(r, expand_range, jobs, sizeof(job), nt);
        for (int t = 0; t < nt; t++)
            if (r->tb[t].fault) {
                r->fault_field = r->tb[t].ff; r->fault_value = r->tb[t].fv;
                return r->status = r->tb[t].fault;
            }
        uint64_t first_new = r->n;
        /* phase B0: the batch's successors in frontier order */
        uint64_t m = 0;
        for (int t = 0; t < nt; t++) {
            const uint8_t *p = r->tb[t].buf;
            for (uint64_t id = jobs[t].lo; id < jobs[t].hi; id++) {
                uint16_t cnt; memcpy(&cnt, p, 2); p += 2;
                if (cnt == UINT16_MAX) cnt = 0;
                if (m + cnt > r->spcap) {
                    uint64_t c = r->spcap ? r->spcap : 1 << 16;
                    while (c < m + cnt) c *= 2;
                    const uint8_t **a1 = realloc(r->sp, c * sizeof *a1);
                    if (a1) r->sp = a1;
                    uint32_t *a2 = realloc(r->res, c * 4);
                    if (a2) r->res = a2;
                    uint32_t *a3 = realloc(r->newid, c * 4);
                    if (a3) r->newid = a3;
                    if (!a1 || !a2 || !a3) return r->status = ES_NOMEM;
                    r->spcap = c;
                }
                for (int k = 0; k < cnt; k++) { r->sp[m++] = p; p += 10 + r->pw; }
            }
        }
        if (m >= PEND) return r->status = ES_NOMEM;
        bjob bj[MAXE];
        for (int t = 0; t < nt; t++) { bj[t].r = r; bj[t].m = m; bj[t].t = t; bj[t].nt = nt; }
        parallel(r, b1_range, bj, sizeof(bjob), nt);
        for (int t = 0; t < nt; t++)
            if (bj[t].fault) return r->status = bj[t].fault;
        /* phase B2: number the new states in frontier order */
        uint64_t kk = 0;
        for (int t = 0; t < nt && !limit; t++) {
            const uint8_t *p = r->tb[t].buf;
            for (uint64_t id = jobs[t].lo; id < jobs[t].hi; id++) {
                uint16_t cnt; memcpy(&cnt, p, 2); p += 2;
                if (cnt == UINT16_MAX) {
                    cnt = 0;
                    if (r->dead < 0) r->dead = (int64_t)id;
                }
                r->transitions += cnt;
                if (!cnt) {
                    if (grow((void **)&r->zero, &r->zcap, r->nzero + 1, 4))
                        return r->status = ES_NOMEM;
                    r->zero[r->nzero++] = (uint32_t)id;
                }
                uint8_t productive = 0;
                for (int k = 0; k < cnt; k++, kk++) {
                    uint16_t inst;
                    memcpy(&inst, p, 2);
                    p += 10 + r->pw;
                    productive |= es_productive[inst];
                    uint32_t v = r->res[kk];
                    int64_t to;
                    int fresh = 0;
                    if (!(v & PEND)) to = v;
                    else if ((v & ~PEND) != kk) to = r->newid[v & ~PEND];
                    else {
                        to = append_state(r, r->sp[kk] + 10);
                        if (to < 0) return r->status = ES_NOMEM;
                        r->newid[kk] = (uint32_t)to;
                        fresh = 1;
                        r->parent[to] = (uint32_t)id; r->via[to] = inst;
                    }
                    if (r->want_edges) {
                        uint64_t ec = r->ecap;
                        if (grow((void **)&r->edst, &r->ecap, r->ne + 1, 4)) return r->status = ES_NOMEM;
                        if (r->ecap != ec) {
                            r->einst = realloc(r->einst, r->ecap * 2);
                            if (!r->einst) return r->status = ES_NOMEM;
                        }
                        r->edst[r->ne] = (uint32_t)to; r->einst[r->ne++] = inst;
                    }
                    if (fresh && r->n >= r->max_states) { limit = 1; break; }
                }
                r->prod[id] = productive;
                if (r->want_edges) {
                    if (r->ne > UINT32_MAX) return r->status = ES_NOMEM;
                    r->eoff[id + 1] = (uint32_t)r->ne;
                }
                head = id + 1;
                if (limit) break;
            }
        }
        /* phase B3 (after a cut-off the run ends and the pending slots stay) */
        if (!limit) parallel(r, b3_range, bj, sizeof(bjob), nt);
        if (r->n > first_new) {
            int64_t v = check_new(r, first_new, r->n);
            if (v >= 0 && (r->viol < 0 || v < r->viol)) r->viol = v;
        }
        if (head == lvl_end && r->n > lvl_end && add_level(r, r->n)) return r->status = ES_NOMEM;
        if (cb && now() - last > 0.5) {
            last = now();
            if (cb(r->n, r->transitions, r->nlevels - 2, es_bytes(r)))
                return r->status = ES_INTERRUPTED;
        }
    }
    if (cb && cb(r->n, r->transitions, r->nlevels - 2, es_bytes(r)))
        return r->status = ES_INTERRUPTED;
    if (r->viol >= 0 || r->dead >= 0) return r->status = ES_VIOLATION;
    if (limit || head < r->n) return r->status = ES_LIMIT;
    return r->status = ES_DONE;
}

/* ---- accessors ------------------------------------------------------------------------- */
uint64_t es_count(const es_run *r) { return r->n; }
uint64_t es_transitions(const es_run *r) { return r->transitions; }
int es_depth(const es_run *r) {
    /* levels: start ids; the last entry is the end of the deepest level */
    int d = r->nlevels - 2;
    if (r->n > r->levels[r->nlevels - 1]) d++;
    return d;
}
int64_t es_violation(const es_run *r) { return r->viol; }
int64_t es_parent(const es_run *r, uint64_t id) {
    return r->parent[id] == UINT32_MAX ? -1 : (int64_t)r->parent[id];
}
int es_via(const es_run *r, uint64_t id) { return r->via[id] == UINT16_MAX ? -1 : r->via[id]; }
void es_state(const es_run *r, uint64_t id, int16_t *out) { unpack(r, r->arena + id * r->pw, out); }
int es_fault_field(const es_run *r) { return r->fault_field; }
int es_fault_value(const es_run *r) { return r->fault_value; }
int es_packed_bytes(const es_run *r) { return r->pw; }
uint64_t es_nzero(const es_run *r) { return r->nzero; }
uint32_t es_zero(const es_run *r, uint64_t k) { return r->zero[k]; }
int es_productive_at(const es_run *r, uint64_t id) { return r->prod[id]; }
uint64_t es_nedges(const es_run *r) { return r->want_edges ? r->ne : 0; }
const uint32_t *es_edge_offsets(const es_run *r) { return r->eoff; }
const uint32_t *es_edge_targets(const es_run *r) { return r->edst; }
const uint16_t *es_edge_instances(const es_run *r) { return r->einst; }

/* ---- progress on the state graph ------------------------------------------------------ */
static int build_rev(es_run *r) {
    if (r->rev) return 0;
    r->rev_off = calloc(r->n + 1, 4);
    r->rev = malloc((r->ne ? r->ne : 1) * 4);
    if (!r->rev_off || !r->rev) return -1;
    for (uint64_t e = 0; e < r->ne; e++) r->rev_off[r->edst[e] + 1]++;
    for (uint64_t i = 0; i < r->n; i++) r->rev_off[i + 1] += r->rev_off[i];
    uint32_t *fill = malloc((r->n + 1) * 4);
    if (!fill) return -1;
    memcpy(fill, r->rev_off, (r->n + 1) * 4);
    for (uint64_t a = 0; a < r->n; a++)
        for (uint32_t e = r->eoff[a]; e < r->eoff[a + 1]; e++)
            r->rev[fill[r->edst[e]]++] = (uint32_t)a;
    free(fill);
    return 0;
}

/* States from which no target state is reachable, among the sources. Property k < 0 is
 * the productive-step check (targets: states with an M, W or F step; sources: all); else
 * the generated predicates es_psrc/es_ptgt of property k. Returns how many such states
 * (see es_bad_at), or -1 (no edges recorded / out of memory). */
int64_t es_progress(es_run *r, int k) {
    if (!r->want_edges || build_rev(r)) return -1;
    uint8_t *mark = calloc(r->n, 1);
    uint32_t *queue = malloc(r->n * 4 + 4);
    if (!mark || !queue) { free(mark); free(queue); return -1; }
    v_t s[MAXF];
    uint64_t qh = 0, qt = 0;
    for (uint64_t i = 0; i < r->n; i++) {
        int t;
        if (k < 0) t = r->prod[i];
        else { unpack(r, r->arena + i * r->pw, s); t = es_ptgt(k, s); }
        if (t) { mark[i] = 1; queue[qt++] = (uint32_t)i; }
    }
    while (qh < qt) {
        uint32_t x = queue[qh++];
        for (uint32_t e = r->rev_off[x]; e < r->rev_off[x + 1]; e++) {
            uint32_t y = r->rev[e];
            if (!mark[y]) { mark[y] = 1; queue[qt++] = y; }
        }
    }
    free(r->bad);
    r->bad = queue; /* reuse: the bad states, in id order */
    r->nbad = 0;
    for (uint64_t i = 0; i < r->n; i++) {
        if (mark[i]) continue;
        if (k >= 0) { unpack(r, r->arena + i * r->pw, s); if (!es_psrc(k, s)) continue; }
        r->bad[r->nbad++] = (uint32_t)i;
    }
    free(mark);
    return (int64_t)r->nbad;
}

uint32_t es_bad_at(const es_run *r, uint64_t k) { return r->bad[k]; }

/* ---- liveness: fair cycles among pending states ---------------------------------------
 * The same search as entersys.oracle.liveness (find_lassos, sccs, fair_components), over
 * the recorded edges: `act` gives the fairness actor of each edge (from
 * liveness.prepare's actor of the edge's instance, passed in as data), `mask` the
 * pending states. Edges by the
 * environment actor `env` and self-loops never count inside a cycle. */

/* Unpacked states [lo, hi), es_nf int16 values each, into out. */
void es_states(const es_run *r, uint64_t lo, uint64_t hi, int16_t *out) {
    for (uint64_t i = lo; i < hi && i < r->n; i++)
        unpack(r, r->arena + i * r->pw, out + (i - lo) * es_nf);
}

/* The least pending state in which no actor but the environment can step (a permanent
 * stall), or -1; -2 without edges. */
int64_t es_stuck(const es_run *r, const uint8_t *act, const uint8_t *mask, int env) {
    if (!r->want_edges) return -2;
    for (uint64_t a = 0; a < r->n; a++) {
        if (!mask[a]) continue;
        int moves = 0;
        for (uint32_t e = r->eoff[a]; e < r->eoff[a + 1] && !moves; e++)
            moves = r->edst[e] != a && act[e] != env;
        if (!moves) return (int64_t)a;
    }
    return -1;
}

typedef struct {
    const es_run *r; const uint8_t *act; int env;
    int32_t *index, *low; uint8_t *onstack;
    uint32_t *stack; uint64_t sp;
    uint32_t *wv, *we;          /* work stack: state, next edge */
    uint32_t *comps; uint64_t ncomp_ids, ccap;   /* components, back to back */
    uint64_t *cstart; uint64_t ncomps, cscap;    /* start of each, in emission order */
    int32_t counter;
} tarjan_t;

static int emit(tarjan_t *T, uint64_t start) {
    if (grow((void **)&T->cstart, &T->cscap, T->ncomps + 1, 8)) return -1;
    T->cstart[T->ncomps++] = start;
    return 0;
}

/* Iterative Tarjan from each root in `roots` (ascending) over the states with mask set;
 * non-trivial components are appended to T->comps in completion order. index[] must be
 * -1 on every masked state; it is left set (the caller resets it). */
static int tarjan(tarjan_t *T, const uint8_t *mask, const uint32_t *roots, uint64_t nroots) {
    const es_run *r = T->r;
    T->counter = 0;  /* indices are compared only within one call */
    for (uint64_t q = 0; q < nroots; q++) {
        uint32_t root = roots[q];
        if (!mask[root] || T->index[root] != -1) continue;
        uint64_t wp = 0;
        T->wv[wp] = root; T->we[wp++] = r->eoff[root];
        T->index[root] = T->low[root] = T->counter++;
        T->stack[T->sp++] = root; T->onstack[root] = 1;
        while (wp) {
            uint32_t v = T->wv[wp - 1], e = T->we[wp - 1];
            int descended = 0;
            while (e < r->eoff[v + 1]) {
                uint32_t w = r->edst[e];
                int skip = w == v || !mask[w] || T->act[e] == T->env;
                e++;
                if (skip) continue;
                if (T->index[w] == -1) {
                    T->we[wp - 1] = e;
                    T->index[w] = T->low[w] = T->counter++;
                    T->stack[T->sp++] = w; T->onstack[w] = 1;
                    T->wv[wp] = w; T->we[wp++] = r->eoff[w];
                    descended = 1;
                    break;
                }
                if (T->onstack[w] && T->index[w] < T->low[v]) T->low[v] = T->index[w];
            }
            if (descended) continue;
            wp--;
            if (wp) {
                uint32_t u = T->wv[wp - 1];
                if (T->low[v] < T->low[u]) T->low[u] = T->low[v];
            }
            if (T->low[v] == T->index[v]) {
                uint64_t start = T->ncomp_ids, size = 0;
                uint32_t w;
                do {
                    w = T->stack[--T->sp];
                    T->onstack[w] = 0;
                    if (grow((void **)&T->comps, &T->ccap, T->ncomp_ids + 1, 4)) return -1;
                    T->comps[T->ncomp_ids++] = w;
                    size++;
                } while (w != v);
                if (size > 1) { if (emit(T, start)) return -1; }
                else T->ncomp_ids = start;
            }
        }
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The first fair part of a strongly connected set of pending states, in the order of
 * liveness.find_lassos: components in Tarjan completion order, each refined by
 * fair_components (weak fairness: every actor enabled in all its states steps inside;
 * strong fairness: an actor enabled anywhere steps inside, or the states enabling it are
 * dropped and the rest split again, last split first). On success fills out (state ids,
 * capacity n) and returns how many, with the actors stepping inside in *stepped_out; 0
 * if there is none; -1 out of memory; -2 without edges. Actors are numbered below 64. */
int64_t es_fair_cycle(es_run *r, const uint8_t *act, const uint8_t *mask, uint64_t weak,
                      uint64_t strong, int env, uint32_t *out, uint64_t *stepped_out) {
    if (!r->want_edges) return -2;
    uint64_t n = r->n;
    int64_t result = -1;
    tarjan_t T = {0};
    T.r = r; T.act = act; T.env = env;
    uint64_t *en = malloc(n * 8 + 8);
    T.index = malloc(n * 4 + 4); T.low = malloc(n * 4 + 4);
    T.onstack = calloc(n + 1, 1); T.stack = malloc(n * 4 + 4);
    T.wv = malloc(n * 4 + 4); T.we = malloc(n * 4 + 4);
    uint8_t *sub = calloc(n + 1, 1), *inside = calloc(n + 1, 1);
    uint32_t *cur = malloc(n * 4 + 4), *all = malloc(n * 4 + 4);
    if (!en || !T.index || !T.low || !T.onstack || !T.stack || !T.wv || !T.we || !sub
        || !inside || !cur || !all) goto done;
    for (uint64_t a = 0; a < n; a++) {
        uint64_t m = 0;
        for (uint32_t e = r->eoff[a]; e < r->eoff[a + 1]; e++)
            if (r->edst[e] != a) m |= 1ull << act[e];
        en[a] = m;
        T.index[a] = -1;
        all[a] = (uint32_t)a;
    }
    if (tarjan(&T, mask, all, n)) goto done;
    /* top-level components, in completion order; each refined depth-first */
    uint64_t ntop = T.ncomps;
    uint64_t *top_start = malloc(ntop * 8 + 8), *top_len = malloc(ntop * 8 + 8);
    uint32_t *top = malloc(T.ncomp_ids * 4 + 4);
    if (!top_start || !top_len || !top) { free(top_start); free(top_len); free(top); goto done; }
    for (uint64_t c = 0; c < ntop; c++) {
        top_start[c] = T.cstart[c];
        top_len[c] = (c + 1 < ntop ? T.cstart[c + 1] : T.ncomp_ids) - T.cstart[c];
    }
    memcpy(top, T.comps, T.ncomp_ids * 4);
    result = 0;
    for (uint64_t c = 0; c < ntop && result == 0; c++) {
        T.ncomps = 0; T.ncomp_ids = 0;
        if (grow((void **)&T.comps, &T.ccap, top_len[c], 4) || emit(&T, 0)) { result = -1; break; }
        memcpy(T.comps, top + top_start[c], top_len[c] * 4);
        T.ncomp_ids = top_len[c];
        while (T.ncomps && result == 0) {
            /* pop the last component into cur */
            uint64_t s0 = T.cstart[--T.ncomps], len = T.ncomp_ids - s0;
            memcpy(cur, T.comps + s0, len * 4);
            T.ncomp_ids = s0;
            uint64_t stepped = 0, always = ~0ull, anywhere = 0;
            for (uint64_t i = 0; i < len; i++) inside[cur[i]] = 1;
            for (uint64_t i = 0; i < len; i++) {
                uint32_t k = cur[i];
                always &= en[k]; anywhere |= en[k];
                for (uint32_t e = r->eoff[k]; e < r->eoff[k + 1]; e++) {
                    uint32_t w = r->edst[e]; int x = act[e];
                    if (w != k && inside[w] && x != env) stepped |= 1ull << x;
                }
            }
            for (uint64_t i = 0; i < len; i++) inside[cur[i]] = 0;
            if (always & weak & ~stepped) continue;
            uint64_t owed = anywhere & strong & ~stepped;
            if (!owed) {
                memcpy(out, cur, len * 4);
                *stepped_out = stepped;
                result = (int64_t)len;
                break;
            }
            qsort(cur, len, 4, cmp_u32);
            for (uint64_t i = 0; i < len; i++) {
                sub[cur[i]] = !(en[cur[i]] & owed);
                T.index[cur[i]] = -1;
            }
            if (tarjan(&T, sub, cur, len)) { result = -1; break; }
            for (uint64_t i = 0; i < len; i++) { sub[cur[i]] = 0; T.index[cur[i]] = -1; }
        }
    }
    free(top_start); free(top_len); free(top);
done:
    free(en); free(T.index); free(T.low); free(T.onstack); free(T.stack); free(T.wv);
    free(T.we); free(sub); free(inside); free(cur); free(all); free(T.comps); free(T.cstart);
    return result;
}
