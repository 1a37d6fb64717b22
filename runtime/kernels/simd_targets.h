// The x86 SIMD targets nnfuse compiles its kernels for: AVX-512 (HWY_AVX3), AVX2, SSSE3 and Highway's scalar
// fallback (HWY_SCALAR), each chosen at run time by dynamic dispatch. Highway's default list also holds SSE4, whose
// float kernels differ from SSSE3's in a few instructions only (blends, rounding): a machine with SSE4 but no AVX2
// (2010-2013) runs the SSSE3 code, and every kernel translation unit compiles one target fewer.
//
// requires: included before any Highway header, as the first line of every translation unit that includes
//           hwy/foreach_target.h (Highway fixes its targets when it first reads hwy/detect_targets.h).
// ensures:  HWY_DISABLED_TARGETS holds HWY_SSE4, unless the build defined HWY_DISABLED_TARGETS itself (the models
//           only the tests train, codegen/meson.build, also drop SSSE3); the kernels' tests (tests/runtime/*_kernels)
//           check every target this leaves.
#pragma once

#ifdef HWY_TARGETS
#error "runtime/kernels/simd_targets.h must come before any Highway header: Highway has already chosen its targets"
#endif

#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS HWY_SSE4
#endif
