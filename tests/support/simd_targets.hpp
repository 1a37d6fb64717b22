// for_each_simd_target(compiled_target, body): runs body() once for every SIMD target that this CPU supports and the
// calling translation unit compiled (Highway's foreach_target), with dynamic dispatch pinned to that target, and
// restores normal dispatch afterwards. compiled_target() must return HWY_TARGET as seen by a dispatched call (an
// exported per-target function of the test): the check that each pinned call really reaches its target, since
// Highway 1.0.3 has no hwy::DispatchedTarget.
#pragma once

#include "runtime/kernels/simd_targets.h"  // first: it chooses the SIMD targets

#include <cstdint>
#include <vector>

#include <catch2/catch.hpp>

#include "hwy/highway.h"
#include "hwy/targets.h"

namespace nnfuse::test {

template <class CompiledTarget, class Body>
void for_each_simd_target(const CompiledTarget& compiled_target, const Body& body) {
    hwy::SetSupportedTargetsForTest(0);
    const std::vector<std::int64_t> targets = hwy::SupportedAndGeneratedTargets();
    REQUIRE(!targets.empty());
    struct restore_targets {
        ~restore_targets() { hwy::SetSupportedTargetsForTest(0); }
    } restore;
    for (const std::int64_t target : targets) {
        hwy::SetSupportedTargetsForTest(target);
        INFO("SIMD target " << hwy::TargetName(target));
        REQUIRE(compiled_target() == target);
        body();
    }
}

}  // namespace nnfuse::test
