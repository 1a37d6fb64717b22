// Partial and streaming vector access shared by the kernels, per SIMD target (Highway).
//
// vector_helpers: FloatTag and kLanes (the lane count as a compile-time constant), VectorsFor / LastVectorLanes,
//   LoadFirstN / StoreFirstN (the first `count` lanes, touching no memory at or past p + count: Highway 1.0.3 has
//   no LoadN/StoreN), Unroll (a compile-time loop whose index is a constant) and PrefetchFloats (asks the cache for
//   a span ahead of its use).
// Columns (one vector across the features of a row-major array): LoadColumn / StoreColumn (a whole vector, or its
//   first `count` lanes when kPartial), StoreOutputColumn (non-temporal when kStream and the vector is whole),
//   LoadWidened / StoreNarrowed (float arrays through double vectors).
// Include inside HWY_NAMESPACE machinery like any Highway -inl.h: it re-includes once per target.

#if defined(NNFUSE_RUNTIME_KERNELS_SIMD_COLUMNS_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef NNFUSE_RUNTIME_KERNELS_SIMD_COLUMNS_INL_H_
#undef NNFUSE_RUNTIME_KERNELS_SIMD_COLUMNS_INL_H_
#else
#define NNFUSE_RUNTIME_KERNELS_SIMD_COLUMNS_INL_H_
#endif

#include <cstddef>
#include <type_traits>
#include <utility>

#include "hwy/cache_control.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace nnfuse::kernels::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

namespace vector_helpers {

using FloatTag = hn::ScalableTag<float>;
// The kernels block their loops with the lane count as a compile-time constant. Scalable vectors (SVE, RVV) would
// need run-time blocking; no x86 target is scalable.
static_assert(!HWY_HAVE_SCALABLE, "nnfuse kernels assume a vector length known at compile time");
inline constexpr std::size_t kLanes = hn::MaxLanes(FloatTag());

// Vectors needed for `count` floats, and the valid lanes of the last of them (kLanes when it is full).
constexpr std::size_t VectorsFor(std::size_t count) { return (count + kLanes - 1) / kLanes; }
constexpr std::size_t LastVectorLanes(std::size_t count) { return count - (VectorsFor(count) - 1) * kLanes; }

// Floats in a 64-byte cache line.
inline constexpr std::size_t kCacheLineFloats = 64 / sizeof(float);

// Prefetches the cache lines of [p, p + count): for passes whose reads the hardware prefetchers do not run ahead of
// (rows read a few at a time, or a column at a stride). p + count must lie within (or one past) p's array.
HWY_INLINE void PrefetchFloats(const float* p, std::size_t count) {
    for (std::size_t i = 0; i < count; i += kCacheLineFloats) hwy::Prefetch(p + i);
}

// The first `count` floats at p (0 < count <= MaxLanes(d)), zeros in the other lanes; reads nothing at or past
// p + count. On AVX2 and AVX-512 MaskedLoad is a real masked load (masked lanes never fault); below that Highway
// 1.0.3 implements it as an aligned full-vector load, so copy through a buffer instead.
template <class D>
HWY_INLINE hn::Vec<D> LoadFirstN(D d, const float* HWY_RESTRICT p, std::size_t count) {
    if (count == hn::MaxLanes(d)) return hn::LoadU(d, p);
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2
    return hn::MaskedLoad(hn::FirstN(d, count), d, p);
#else
    HWY_ALIGN float lanes[hn::MaxLanes(D())] = {};
    for (std::size_t i = 0; i < count; ++i) lanes[i] = p[i];
    return hn::Load(d, lanes);
#endif
}

// Stores the first `count` lanes of v at p (0 < count <= MaxLanes(d)); writes nothing at or past p + count.
// BlendedStore is safe on every target (a masked store on AVX2/AVX-512, a lane loop below).
template <class D>
HWY_INLINE void StoreFirstN(hn::Vec<D> v, D d, float* HWY_RESTRICT p, std::size_t count) {
    if (count == hn::MaxLanes(d)) {
        hn::StoreU(v, d, p);
    } else {
        hn::BlendedStore(v, hn::FirstN(d, count), d, p);
    }
}

// An empty asm that claims to change v: the compiler keeps the vector in a register as loaded. Where GCC would fold a
// reload of it into every instruction that uses it, or turn a loop of vector loads and stores into memcpy (emitted as
// rep movs, which costs tens of cycles to start: a few hundred floats per call are far too few).
template <class V>
HWY_INLINE void KeepInRegister(V& v) {
#if HWY_ARCH_X86 && (HWY_COMPILER_GCC || HWY_COMPILER_CLANG) && HWY_TARGET != HWY_SCALAR && HWY_TARGET != HWY_EMU128
    asm("" : "+v"(v.raw));
#else
    (void)v;
#endif
}

// Calls body(std::integral_constant<std::size_t, i>()) for i = 0 .. kCount-1, unrolled at compile time, so that
// arrays of vectors indexed by i stay in registers. Bodies must be __attribute__((always_inline)) (GCC and Clang,
// what the project builds with): if one is called out of line, the array whose address it takes lives in memory and
// the compiler stores it back on every iteration.
template <std::size_t kCount, class Body>
HWY_INLINE void Unroll(const Body& body) {
    [&]<std::size_t... kIndex>(std::index_sequence<kIndex...>) __attribute__((always_inline)) {
        (body(std::integral_constant<std::size_t, kIndex>()), ...);
    }
    (std::make_index_sequence<kCount>());
}

// A column is a whole vector unless kPartial, when only its first `count` features exist.
template <bool kPartial, class D>
HWY_INLINE hn::Vec<D> LoadColumn(D d, const float* HWY_RESTRICT p, std::size_t count) {
    if constexpr (kPartial) {
        return LoadFirstN(d, p, count);
    } else {
        (void)count;
        return hn::LoadU(d, p);
    }
}

template <bool kPartial, class D>
HWY_INLINE void StoreColumn(D d, hn::Vec<D> v, float* HWY_RESTRICT p, std::size_t count) {
    if constexpr (kPartial) {
        StoreFirstN(v, d, p, count);
    } else {
        (void)count;
        hn::StoreU(v, d, p);
    }
}

// An output column: with kStream a non-temporal store to an aligned whole vector (the caller decides that only
// layers without a partial column stream; a partial column is instantiated in a streaming pass all the same).
template <bool kPartial, bool kStream, class D>
HWY_INLINE void StoreOutputColumn(D d, hn::Vec<D> v, float* HWY_RESTRICT p, std::size_t count) {
    if constexpr (kStream && !kPartial) {
        hn::Stream(v, d, p);
    } else {
        StoreColumn<kPartial>(d, v, p, count);
    }
}

template <class DW>
HWY_INLINE hn::Vec<DW> LoadWidened(DW dw, const float* HWY_RESTRICT p) {
    return hn::PromoteTo(dw, hn::Load(hn::Rebind<float, DW>(), p));
}

// Stores v as floats at p (an output array of the caller), the first `count` lanes if kPartial.
template <bool kPartial, class DW>
HWY_INLINE void StoreNarrowed(DW, hn::Vec<DW> v, float* HWY_RESTRICT p, std::size_t count) {
    const hn::Rebind<float, DW> df;
    StoreColumn<kPartial>(df, hn::DemoteTo(df, v), p, count);
}

}  // namespace vector_helpers

}  // namespace nnfuse::kernels::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#endif  // NNFUSE_RUNTIME_KERNELS_SIMD_COLUMNS_INL_H_
