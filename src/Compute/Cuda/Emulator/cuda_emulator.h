// A CUDA-on-CPU emulator for this project's kernels (KernelEmulator.cs): the .cu source is compiled by g++ after this
// header, and a launch runs every CUDA thread of a block as a fiber on the calling OS thread. Fibers switch only at
// __syncthreads*, warp votes and shuffles, so a kernel runs its exact source, deterministically, with these checks:
//   - every pointer argument lives in its own copy between two inaccessible guard pages (flush against the upper
//     guard under schedule 0, against the lower one under schedule 1): a read or write outside an argument's buffer
//     stops the launch and names the argument, the thread and the offset;
//   - the fibers of a block run in increasing order between synchronisations under schedule 0 and in decreasing
//     order under schedule 1 (blocks too), so a kernel that reads shared memory another thread writes without a
//     barrier, or depends on block order, gives different results under the two schedules;
//   - a barrier or warp operation that cannot complete (a lane exited, lanes wait at different operations, a
//     divergent __syncthreads) stops the launch with what each thread was waiting at;
//   - dynamic shared memory starts as NaN in every block and ends at a guard page;
//   - the host's argument block must match the kernel's parameters in count, size and pointer-ness.
// It is not a GPU: no memory model, no timing, float arithmetic rounds as the CPU's (fmad is off).
// x86-64 Linux only (the fiber switch is hand-written).

#pragma once
#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <type_traits>
#include <utility>
#include <vector>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#if !defined(__x86_64__) || !defined(__linux__)
#error the kernel emulator runs on x86-64 Linux only
#endif

// ---- CUDA's vector types, qualifiers and built-ins --------------------------------------------------------------
struct uint3 { unsigned x, y, z; };
struct dim3 { unsigned x = 1, y = 1, z = 1; };
struct alignas(8) float2 { float x, y; };
struct float3 { float x, y, z; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) int2 { int x, y; };
struct int3 { int x, y, z; };
struct alignas(16) int4 { int x, y, z, w; };
struct alignas(16) double2 { double x, y; };
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float3 make_float3(float x, float y, float z) { return {x, y, z}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int3 make_int3(int x, int y, int z) { return {x, y, z}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline double2 make_double2(double x, double y) { return {x, y}; }

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __shared__ static
#define __constant__ static
#define warpSize 32

template <class A, class B> inline std::common_type_t<A, B> min(A a, B b) { return b < a ? b : a; }
template <class A, class B> inline std::common_type_t<A, B> max(A a, B b) { return a < b ? b : a; }
using std::isfinite;
using std::isinf;
using std::isnan;
inline float rsqrtf(float x) { return 1.f / sqrtf(x); }
inline double rsqrt(double x) { return 1.0 / sqrt(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __frcp_rn(float a) { return 1.f / a; }
inline float __fsqrt_rn(float a) { return sqrtf(a); }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline unsigned __float_as_uint(float f) { unsigned i; std::memcpy(&i, &f, 4); return i; }
inline float __uint_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned)x); }
template <class T> inline T __ldg(const T* p) { return *p; }

// Atomics: the fibers of a launch share one OS thread, so a read-modify-write cannot be interrupted.
template <class T> inline T atomicAdd(T* p, T v) { T old = *p; *p = old + v; return old; }
template <class T> inline T atomicSub(T* p, T v) { T old = *p; *p = old - v; return old; }
template <class T> inline T atomicMax(T* p, T v) { T old = *p; if (old < v) *p = v; return old; }
template <class T> inline T atomicMin(T* p, T v) { T old = *p; if (v < old) *p = v; return old; }
template <class T> inline T atomicExch(T* p, T v) { T old = *p; *p = v; return old; }
template <class T> inline T atomicCAS(T* p, T cmp, T v) { T old = *p; if (old == cmp) *p = v; return old; }
template <class T> inline T atomicOr(T* p, T v) { T old = *p; *p = old | v; return old; }
template <class T> inline T atomicAnd(T* p, T v) { T old = *p; *p = old & v; return old; }
inline void __threadfence() {}
inline void __threadfence_block() {}

// ---- Fibers ----------------------------------------------------------------------------------------------------
// emu_switch(from, to): saves the callee-saved registers on the current stack, stores the stack pointer in *from and
// resumes the stack `to` (System V x86-64). Every fiber shares the launching thread's MXCSR and x87 control word (no
// kernel changes the rounding mode), so they are not switched.
extern "C" void emu_switch(void** from, void* to);
asm(R"(
    .text
    .globl emu_switch
    .hidden emu_switch
    .type emu_switch,@function
emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size emu_switch, .-emu_switch
)");

namespace emu {

enum State { Runnable, AtBarrier, AtWarp, Done };
enum Op { OpNone, OpShfl, OpAny, OpAll, OpBallot, OpSyncwarp };
static const char* const OpNames[] = {"?", "__shfl_*_sync", "__any_sync", "__all_sync", "__ballot_sync", "__syncwarp"};

struct Fiber
{
    void* sp = nullptr;
    uint3 tid{};
    int linear = 0, state = Done, op = OpNone, gen = 0, pred = 0;
    unsigned mask = 0;
};

struct Launch
{
    dim3 grid, block;
    uint3 bidx{};
    void (*thunk)(void**) = nullptr;
    void** args = nullptr;
    void* schedSp = nullptr;
    Fiber* cur = nullptr;
    std::vector<Fiber> fibers;
    int barrierGen = 0, barrierCount[2] = {0, 0};
    int pos = -1;         // the sweep's position
    bool reverse = false; // schedule 1
    std::vector<int> warpGen;
    std::vector<unsigned long long> slots; // [warp][2][32]
    std::vector<unsigned> warpResult;      // [warp][2]
    char* dynShared = nullptr;
    size_t dynBytes = 0;
};

// The launch in progress (launches are serialised by the host: one at a time in the process).
inline Launch* g = nullptr;

// Fiber stacks: 256 KiB each with an inaccessible page below, made once and reused.
constexpr size_t StackBytes = 256 * 1024;
struct Stacks
{
    char* base = nullptr;
    size_t count = 0, page = 0;
    char* top(size_t i) const { return base + (i + 1) * (StackBytes + page); }
    bool guard(const char* a) const
    {
        for (size_t i = 0; i < count; i++)
        {
            const char* gp = base + i * (StackBytes + page);
            if (a >= gp && a < gp + page) return true;
        }
        return false;
    }
};
inline Stacks stacks;

inline bool ensure_stacks(size_t n)
{
    if (stacks.count >= n) return true;
    if (stacks.base) munmap(stacks.base, stacks.count * (StackBytes + stacks.page));
    stacks.page = (size_t)sysconf(_SC_PAGESIZE);
    size_t total = n * (StackBytes + stacks.page);
    void* m = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) { stacks = {}; return false; }
    stacks.base = (char*)m;
    stacks.count = n;
    for (size_t i = 0; i < n; i++) mprotect(stacks.base + i * (StackBytes + stacks.page), stacks.page, PROT_NONE);
    return true;
}

// A sweep runs the runnable fibers once each in the schedule's order: a fiber that stops hands over to the next
// runnable one directly (one switch, not two through the scheduler), the last one back to the scheduler.
inline void* next_sp()
{
    Launch& L = *g;
    const int n = (int)L.fibers.size();
    while (++L.pos < n)
    {
        Fiber& nx = L.fibers[L.reverse ? n - 1 - L.pos : L.pos];
        if (nx.state == Runnable) { L.cur = &nx; return nx.sp; }
    }
    L.cur = nullptr;
    return L.schedSp;
}

inline void yield()
{
    Fiber* f = g->cur;
    emu_switch(&f->sp, next_sp());
}

[[noreturn]] inline void entry()
{
    g->thunk(g->args);
    Fiber* f = g->cur;
    f->state = Done;
    emu_switch(&f->sp, next_sp());
    __builtin_unreachable();
}

inline void start(Fiber& f, size_t i)
{
    // The first switch to a fiber "returns" into entry with the stack a call would leave (rsp = 8 mod 16).
    auto* top = (unsigned long long*)stacks.top(i);
    unsigned long long* sp = top - 1;  // a fake return address slot for entry
    *sp-- = 0;
    *sp = (unsigned long long)(void*)&entry; // ret target
    sp -= 6;                                 // rbp rbx r12 r13 r14 r15
    for (int k = 0; k < 6; k++) sp[k] = 0;
    f.sp = sp;
    f.state = Runnable;
}

inline int lane() { return g->cur->linear & 31; }
inline int warp() { return g->cur->linear >> 5; }

inline unsigned long long warp_op(int op, unsigned mask, unsigned long long value, int pred)
{
    Fiber* f = g->cur;
    int w = warp();
    f->op = op; f->mask = mask; f->pred = pred; f->gen = g->warpGen[w];
    g->slots[((size_t)w * 2 + (f->gen & 1)) * 32 + lane()] = value;
    f->state = AtWarp;
    yield();
    return 0;
}

inline unsigned long long slot(int w, int gen, int l) { return g->slots[((size_t)w * 2 + (gen & 1)) * 32 + l]; }

} // namespace emu


inline void __syncthreads()
{
    auto* f = emu::g->cur;
    f->pred = 0; f->gen = emu::g->barrierGen; f->state = emu::AtBarrier;
    emu::yield();
}

inline int __syncthreads_count(int pred)
{
    auto* f = emu::g->cur;
    f->pred = pred != 0; f->gen = emu::g->barrierGen; f->state = emu::AtBarrier;
    emu::yield();
    return emu::g->barrierCount[f->gen & 1];
}
inline int __syncthreads_or(int pred) { return __syncthreads_count(pred) > 0; }
inline int __syncthreads_and(int pred) { return __syncthreads_count(pred) == (int)(emu::g->block.x * emu::g->block.y * emu::g->block.z); }

inline void __syncwarp(unsigned mask = 0xffffffffu) { emu::warp_op(emu::OpSyncwarp, mask, 0, 0); }

template <class T> inline T emu_shfl(unsigned mask, T v, int src)
{
    static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
    unsigned long long bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    auto* f = emu::g->cur;
    emu::warp_op(emu::OpShfl, mask, bits, 0);
    bits = emu::slot(emu::warp(), f->gen, src);
    T r;
    std::memcpy(&r, &bits, sizeof(T));
    return r;
}
inline int emu_segment(int width) { return width > 0 && width <= 32 ? width : 32; }
template <class T> inline T __shfl_xor_sync(unsigned mask, T v, int laneMask, int width = 32)
{
    int l = emu::lane(), wd = emu_segment(width), s = l ^ laneMask;
    if (s / wd != l / wd) s = l;
    return emu_shfl(mask, v, s);
}
template <class T> inline T __shfl_sync(unsigned mask, T v, int srcLane, int width = 32)
{
    int l = emu::lane(), wd = emu_segment(width);
    return emu_shfl(mask, v, (l / wd) * wd + (srcLane % wd));
}
template <class T> inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32)
{
    int l = emu::lane(), wd = emu_segment(width), s = l + (int)delta;
    if (s / wd != l / wd) s = l;
    return emu_shfl(mask, v, s);
}
template <class T> inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32)
{
    int l = emu::lane(), wd = emu_segment(width), s = l - (int)delta;
    if (s < 0 || s / wd != l / wd) s = l;
    return emu_shfl(mask, v, s);
}
inline unsigned emu_vote(int op, unsigned mask, int pred)
{
    auto* f = emu::g->cur;
    emu::warp_op(op, mask, 0, pred != 0);
    return emu::g->warpResult[(size_t)emu::warp() * 2 + (f->gen & 1)];
}
inline int __any_sync(unsigned mask, int pred) { return emu_vote(emu::OpAny, mask, pred) != 0; }
inline int __all_sync(unsigned mask, int pred) { return emu_vote(emu::OpAll, mask, pred) != 0; }
inline unsigned __ballot_sync(unsigned mask, int pred) { return emu_vote(emu::OpBallot, mask, pred); }

namespace emu {

// Dynamic shared memory (`extern __shared__ T name[];` is rewritten to a call of this by the host).
template <class T> inline T* dynamic_shared() { return (T*)g->dynShared; }

// ---- The launch ------------------------------------------------------------------------------------------------
struct Kernel
{
    const char* name;
    void (*thunk)(void**);
    int arity;
    const int* sizes;
    const unsigned char* pointers;
};

struct Buffer
{
    char* base = nullptr;
    size_t total = 0;
    char* low = nullptr;  // guard page below
    char* high = nullptr; // guard page above
    char* start = nullptr;
    size_t bytes = 0;
    void* original = nullptr;
    void* patched = nullptr; // the pointer the kernel receives
    int arg = -1;
};

struct Fault
{
    sigjmp_buf jump;
    volatile sig_atomic_t hit = 0;
    char* addr = nullptr;
    int write = -1;
    std::vector<Buffer>* buffers = nullptr;
};
// Plain globals, not thread-locals: the handler may run on any thread of the process, and a thread-local of a
// dlopen'ed library may allocate on its first use there.
inline Fault* volatile fault = nullptr;
inline volatile pid_t faultThread = 0;
inline struct sigaction oldSegv {}, oldBus {};

inline void on_fault(int sig, siginfo_t* info, void* uc)
{
    Fault* f = fault;
    if (f != nullptr && faultThread == (pid_t)syscall(SYS_gettid) && !f->hit)
    {
        f->hit = 1;
        f->addr = (char*)info->si_addr;
        f->write = (((ucontext_t*)uc)->uc_mcontext.gregs[REG_ERR] & 2) ? 1 : 0;
        siglongjmp(f->jump, 1);
    }
    // Not a kernel of ours (another thread of the process): whoever handled it before us.
    struct sigaction* old = sig == SIGSEGV ? &oldSegv : &oldBus;
    if (old->sa_flags & SA_SIGINFO) { if (old->sa_sigaction) old->sa_sigaction(sig, info, uc); return; }
    if (old->sa_handler == SIG_IGN) return;
    if (old->sa_handler == SIG_DFL) { signal(sig, SIG_DFL); raise(sig); return; }
    old->sa_handler(sig);
}

inline void describe_fault(const Fault& f, const Launch& L, const Kernel& k, char* err, int errLen)
{
    const char* what = f.write == 1 ? "wrote" : f.write == 0 ? "read" : "touched";
    char who[96];
    std::snprintf(who, sizeof who, "block (%u,%u,%u) thread %d", L.bidx.x, L.bidx.y, L.bidx.z, L.cur ? L.cur->linear : -1);
    for (auto& b : *f.buffers)
    {
        if (f.addr >= b.high && f.addr < b.base + b.total)
        {
            std::snprintf(err, errLen, "%s: %s %s %ld bytes past the end of argument %d (a buffer of %zu bytes)", k.name, who, what,
                (long)(f.addr - (b.start + b.bytes)), b.arg, b.bytes);
            return;
        }
        if (f.addr >= b.low && f.addr < b.low + (size_t)sysconf(_SC_PAGESIZE))
        {
            std::snprintf(err, errLen, "%s: %s %s %ld bytes before the start of argument %d (a buffer of %zu bytes)", k.name, who, what,
                (long)(b.start - f.addr), b.arg, b.bytes);
            return;
        }
    }
    if (L.dynShared && f.addr >= L.dynShared + L.dynBytes && f.addr < L.dynShared + L.dynBytes + 4096 * 2)
    {
        std::snprintf(err, errLen, "%s: %s %s past the end of its %zu bytes of dynamic shared memory", k.name, who, what, L.dynBytes);
        return;
    }
    if (stacks.guard(f.addr))
    {
        std::snprintf(err, errLen, "%s: %s overflowed its %zu KiB emulator stack", k.name, who, StackBytes / 1024);
        return;
    }
    std::snprintf(err, errLen, "%s: %s %s address %p, outside every argument buffer", k.name, who, what, (void*)f.addr);
}

inline bool alloc_guarded(Buffer& b, bool flushHigh)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    // Flush against the upper guard with no padding: the start's alignment is the largest power of two dividing the
    // size, at least the element's own (a tensor of int4 has a multiple of 16 bytes).
    size_t inner = (b.bytes + page - 1) / page * page;
    if (inner == 0) inner = page;
    b.total = inner + 2 * page;
    void* m = mmap(nullptr, b.total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) return false;
    b.base = (char*)m;
    b.low = b.base;
    b.high = b.base + page + inner;
    mprotect(b.low, page, PROT_NONE);
    mprotect(b.high, page, PROT_NONE);
    b.start = flushHigh ? b.high - b.bytes : b.base + page;
    std::memcpy(b.start, b.original, b.bytes);
    b.patched = b.start;
    return true;
}

// Runs one block under the schedule; false (with err) when it cannot complete.
inline bool run_block(Launch& L, const Kernel& k, int schedule, char* err, int errLen)
{
    const int n = (int)L.fibers.size();
    for (int i = 0; i < n; i++)
    {
        Fiber& f = L.fibers[i];
        f = Fiber{};
        f.linear = i;
        f.tid = {(unsigned)(i % L.block.x), (unsigned)((i / L.block.x) % L.block.y), (unsigned)(i / (L.block.x * L.block.y))};
        start(f, (size_t)i);
    }
    if (L.dynShared) std::memset(L.dynShared, 0xFF, L.dynBytes); // NaN floats, -1 ints: nothing starts initialised
    const int warps = (n + 31) / 32;
    for (;;)
    {
        L.pos = -1;
        L.reverse = schedule != 0;
        if (void* first = next_sp(); first != L.schedSp) emu_switch(&L.schedSp, first);
        L.cur = nullptr;
        int live = 0, atBarrier = 0, atWarp = 0;
        for (auto& f : L.fibers)
        {
            live += f.state != Done;
            atBarrier += f.state == AtBarrier;
            atWarp += f.state == AtWarp;
        }
        if (live == 0) return true;
        bool released = false;
        for (int w = 0; w < warps && atWarp > 0; w++)
        {
            // One pass over the warp's lanes: who waits at a warp operation, who has exited, and what they wait at.
            const int lanes = std::min(32, n - w * 32);
            Fiber* lane0 = &L.fibers[w * 32];
            Fiber* first = nullptr;
            unsigned waiting = 0, exited = 0, preds = 0;
            int clash = -1;
            for (int l = 0; l < lanes; l++)
            {
                const Fiber& o = lane0[l];
                if (o.state == Done) { exited |= 1u << l; continue; }
                if (o.state != AtWarp) continue;
                if (!first) first = &lane0[l];
                else if ((first->mask >> l & 1u) && (o.op != first->op || o.mask != first->mask) && clash < 0) clash = l;
                waiting |= 1u << l;
                if (o.pred) preds |= 1u << l;
            }
            if (!first) continue;
            const unsigned valid = lanes == 32 ? 0xffffffffu : (1u << lanes) - 1u;
            const unsigned members = first->mask & valid;
            if (members & exited)
            {
                std::snprintf(err, errLen, "%s: block (%u,%u,%u) warp %d: lane %d waits at %s with mask 0x%08x, but lane %d has exited",
                    k.name, L.bidx.x, L.bidx.y, L.bidx.z, w, first->linear & 31, OpNames[first->op], first->mask, __builtin_ctz(members & exited));
                return false;
            }
            if (clash >= 0)
            {
                std::snprintf(err, errLen, "%s: block (%u,%u,%u) warp %d: lane %d waits at %s (mask 0x%08x), lane %d at %s (mask 0x%08x)",
                    k.name, L.bidx.x, L.bidx.y, L.bidx.z, w, first->linear & 31, OpNames[first->op], first->mask, clash,
                    OpNames[lane0[clash].op], lane0[clash].mask);
                return false;
            }
            if ((waiting & members) != members) continue; // lanes of the mask still on their way
            const int gen = first->gen;
            const unsigned ballot = preds & members;
            const unsigned result = first->op == OpAny ? (ballot != 0) : first->op == OpBallot ? ballot
                : first->op == OpAll ? (ballot == members ? 1u : 0u) : members;
            L.warpResult[(size_t)w * 2 + (gen & 1)] = result;
            L.warpGen[w] = gen + 1;
            for (unsigned m = members; m; m &= m - 1) lane0[__builtin_ctz(m)].state = Runnable;
            released = true;
        }
        if (released) continue;
        if (atBarrier == live)
        {
            int count = 0;
            for (auto& f : L.fibers) if (f.state == AtBarrier) count += f.pred;
            L.barrierCount[L.barrierGen & 1] = count;
            L.barrierGen++;
            for (auto& f : L.fibers) if (f.state == AtBarrier) f.state = Runnable;
            continue;
        }
        std::snprintf(err, errLen, "%s: block (%u,%u,%u) cannot go on: %d threads wait at __syncthreads, %d at warp operations, %d have exited",
            k.name, L.bidx.x, L.bidx.y, L.bidx.z, atBarrier, atWarp, n - live);
        return false;
    }
}

inline int launch(const Kernel& k, const unsigned* grid3, const unsigned* block3, unsigned sharedBytes, void** args,
    const int* argSizes, const long long* bufferBytes, int nargs, int schedule, char* err, int errLen)
{
    err[0] = 0;
    if (nargs != k.arity)
    {
        std::snprintf(err, errLen, "%s takes %d arguments; the host passed %d", k.name, k.arity, nargs);
        return 1;
    }
    for (int i = 0; i < nargs; i++)
    {
        bool hostPtr = bufferBytes[i] >= 0;
        if (argSizes[i] != k.sizes[i] || hostPtr != (bool)k.pointers[i])
        {
            std::snprintf(err, errLen, "%s: argument %d is %s of %d bytes in the kernel, %s of %d bytes from the host", k.name, i,
                k.pointers[i] ? "a pointer" : "a value", k.sizes[i], hostPtr ? "a buffer" : "a value", argSizes[i]);
            return 1;
        }
    }
    Launch L;
    L.grid = {grid3[0], grid3[1], grid3[2]};
    L.block = {block3[0], block3[1], block3[2]};
    const size_t threads = (size_t)L.block.x * L.block.y * L.block.z;
    if (threads == 0 || threads > 1024) { std::snprintf(err, errLen, "%s: a block of %zu threads", k.name, threads); return 1; }
    if (!ensure_stacks(threads)) { std::snprintf(err, errLen, "%s: no memory for %zu fiber stacks", k.name, threads); return 1; }

    // Guarded copies of the buffers (arguments whose memory overlaps another's are passed as they are).
    std::vector<Buffer> buffers;
    std::vector<void*> patched(nargs, nullptr);
    std::vector<void*> argv(args, args + nargs);
    for (int i = 0; i < nargs; i++)
    {
        if (bufferBytes[i] < 0) continue;
        void* p = *(void**)args[i];
        if (p == nullptr || bufferBytes[i] == 0) continue;
        Buffer b;
        b.arg = i; b.original = p; b.bytes = (size_t)bufferBytes[i];
        buffers.push_back(b);
    }
    for (size_t a = 0; a < buffers.size(); a++)
        for (size_t c = 0; c < buffers.size(); c++)
        {
            if (a == c) continue;
            char *s1 = (char*)buffers[a].original, *s2 = (char*)buffers[c].original;
            if (s1 < s2 + buffers[c].bytes && s2 < s1 + buffers[a].bytes) buffers[a].bytes = 0; // aliased: no copy
        }
    std::vector<Buffer> guarded;
    for (auto& b : buffers)
    {
        if (b.bytes == 0) continue;
        if (!alloc_guarded(b, schedule == 0)) { std::snprintf(err, errLen, "%s: no memory for a copy of argument %d", k.name, b.arg); for (auto& o : guarded) munmap(o.base, o.total); return 1; }
        guarded.push_back(b);
    }
    for (auto& b : guarded)
    {
        patched[b.arg] = b.patched;
        argv[b.arg] = &patched[b.arg];
    }

    // Dynamic shared memory, ending at a guard page.
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char* shmBase = nullptr;
    size_t shmTotal = 0;
    if (sharedBytes > 0)
    {
        size_t inner = (sharedBytes + page - 1) / page * page;
        shmTotal = inner + page;
        void* m = mmap(nullptr, shmTotal, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) { std::snprintf(err, errLen, "%s: no memory for shared memory", k.name); return 1; }
        shmBase = (char*)m;
        mprotect(shmBase + inner, page, PROT_NONE);
        L.dynShared = shmBase + inner - ((sharedBytes + 15) & ~15u);
        L.dynBytes = sharedBytes;
    }

    L.thunk = k.thunk;
    L.args = argv.data();
    L.fibers.resize(threads);
    const int warps = (int)((threads + 31) / 32);
    L.warpGen.assign(warps, 0);
    L.slots.assign((size_t)warps * 2 * 32, 0);
    L.warpResult.assign((size_t)warps * 2, 0);

    Fault F;
    F.buffers = &guarded;
    struct sigaction sa {};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    // The handler runs on its own stack: a fiber that overflowed its stack has none left.
    static thread_local std::vector<char> altStack(64 * 1024);
    stack_t ss{}, oldSs{};
    ss.ss_sp = altStack.data();
    ss.ss_size = altStack.size();
    sigaltstack(&ss, &oldSs);
    sigaction(SIGSEGV, &sa, &oldSegv);
    sigaction(SIGBUS, &sa, &oldBus);
    faultThread = (pid_t)syscall(SYS_gettid);
    fault = &F;
    g = &L;

    int rc = 0;
    if (sigsetjmp(F.jump, 1) == 0)
    {
        const size_t blocks = (size_t)L.grid.x * L.grid.y * L.grid.z;
        for (size_t bi = 0; bi < blocks; bi++)
        {
            size_t b = schedule == 0 ? bi : blocks - 1 - bi;
            L.bidx = {(unsigned)(b % L.grid.x), (unsigned)((b / L.grid.x) % L.grid.y), (unsigned)(b / ((size_t)L.grid.x * L.grid.y))};
            L.barrierGen = 0;
            std::fill(L.warpGen.begin(), L.warpGen.end(), 0);
            if (!run_block(L, k, schedule, err, errLen)) { rc = 2; break; }
        }
    }
    else
    {
        describe_fault(F, L, k, err, errLen);
        rc = 3;
    }
    g = nullptr;
    fault = nullptr;
    faultThread = 0;
    sigaction(SIGSEGV, &oldSegv, nullptr);
    sigaction(SIGBUS, &oldBus, nullptr);
    sigaltstack(&oldSs, nullptr);

    for (auto& b : guarded)
    {
        if (rc == 0) std::memcpy(b.original, b.start, b.bytes);
        munmap(b.base, b.total);
    }
    if (shmBase) munmap(shmBase, shmTotal);
    return rc;
}

// The registry's glue: a thunk per kernel that unpacks cuLaunchKernel's argument block into the parameters.
template <class F> struct Signature;
template <class... A> struct Signature<void (*)(A...)>
{
    static constexpr int arity = (int)sizeof...(A);
    static constexpr int sizes[sizeof...(A) + 1] = {(int)sizeof(std::remove_cv_t<A>)..., 0};
    static constexpr unsigned char pointers[sizeof...(A) + 1] = {(unsigned char)std::is_pointer_v<std::remove_cv_t<A>>..., 0};
    template <std::size_t... I> static void call(void (*f)(A...), void** a, std::index_sequence<I...>)
    {
        f(*static_cast<std::remove_cv_t<A>*>(a[I])...);
    }
};
template <auto F> void thunk(void** a)
{
    using S = Signature<decltype(F)>;
    S::call(F, a, std::make_index_sequence<S::arity>{});
}
template <auto F> Kernel kernel(const char* name)
{
    using S = Signature<decltype(F)>;
    return Kernel{name, &thunk<F>, S::arity, S::sizes, S::pointers};
}

} // namespace emu

// CUDA's thread and block coordinates, for the kernel source that follows.
#define threadIdx (::emu::g->cur->tid)
#define blockIdx (::emu::g->bidx)
#define blockDim (::emu::g->block)
#define gridDim (::emu::g->grid)
