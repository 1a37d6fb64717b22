// Shared by the dense and softmax-cross-entropy kernel tests: double-precision scalar references, guarded buffers,
// tolerance checks, the per-target loop and the tables through which each Highway test TU exports its kernels.
//
// The references are written from the mathematical definitions (std::exp, std::expm1, std::tanh in double), not
// from the kernels' code. Tolerances are first-order rounding-error bounds in units of float's unit roundoff u.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dsl/activation.hpp"
#include "hwy/targets.h"
#include "tests/support/activation_reference.hpp"

namespace nnfuse::test {

// float's unit roundoff: |fl(a op b) - (a op b)| <= u |a op b|.
inline constexpr double kUnitRoundoff = 0x1p-24;
// Results below the normal range may be flushed to zero or lose relative precision: compared absolutely.
inline constexpr double kSmallestNormal = std::numeric_limits<float>::min();

// max |f'|: how much an error in z can grow through the activation.
inline double LipschitzConstant(activation_kind kind) {
    switch (kind) {
        case activation_kind::selu:
            return kSeluScale * kSeluAlpha;
        case activation_kind::sigmoid:
            return 0.25;
        default:
            return 1.0;
    }
}

// A float or int32 array whose last element ends exactly where an inaccessible page begins, so a kernel that reads
// or writes even one element past the end crashes the test instead of passing. Most sizes leave the data unaligned.
template <class T>
class GuardedArray {
public:
    explicit GuardedArray(std::size_t count, T fill = T()) : count_(count) {
        const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        const std::size_t data_bytes = count * sizeof(T);
        const std::size_t accessible_bytes = (data_bytes + page - 1) / page * page;
        mapping_bytes_ = accessible_bytes + page;
        mapping_ = mmap(nullptr, mapping_bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mapping_ == MAP_FAILED) throw std::runtime_error("mmap failed");
        auto* bytes = static_cast<unsigned char*>(mapping_);
        if (mprotect(bytes + accessible_bytes, page, PROT_NONE) != 0) throw std::runtime_error("mprotect failed");
        data_ = reinterpret_cast<T*>(bytes + accessible_bytes - data_bytes);
        std::fill(data_, data_ + count_, fill);
    }
    template <class Range>
    static GuardedArray CopyOf(const Range& values) {
        GuardedArray array(values.size());
        std::copy(values.begin(), values.end(), array.data());
        return array;
    }
    GuardedArray(const GuardedArray&) = delete;
    GuardedArray& operator=(const GuardedArray&) = delete;
    GuardedArray(GuardedArray&& other) noexcept { swap(other); }
    GuardedArray& operator=(GuardedArray&& other) noexcept {
        swap(other);
        return *this;
    }
    ~GuardedArray() {
        if (mapping_ != nullptr) munmap(mapping_, mapping_bytes_);
    }

    T* data() { return data_; }
    const T* data() const { return data_; }
    std::size_t size() const { return count_; }
    T& operator[](std::size_t i) { return data_[i]; }
    const T& operator[](std::size_t i) const { return data_[i]; }
    std::vector<T> ToVector() const { return std::vector<T>(data_, data_ + count_); }

private:
    void swap(GuardedArray& other) noexcept {
        std::swap(mapping_, other.mapping_);
        std::swap(mapping_bytes_, other.mapping_bytes_);
        std::swap(data_, other.data_);
        std::swap(count_, other.count_);
    }
    void* mapping_ = nullptr;
    std::size_t mapping_bytes_ = 0;
    T* data_ = nullptr;
    std::size_t count_ = 0;
};

inline constexpr float kUnwritten = std::numeric_limits<float>::quiet_NaN();  // fills outputs: unwritten shows

inline std::vector<float> RandomUniform(std::mt19937& random, std::size_t count, double bound) {
    std::uniform_real_distribution<float> distribution(static_cast<float>(-bound), static_cast<float>(bound));
    std::vector<float> values(count);
    for (float& value : values) value = distribution(random);
    return values;
}

inline std::vector<double> ToDouble(const std::vector<float>& values) {
    return std::vector<double>(values.begin(), values.end());
}

// Checks |actual[i] - expected[i]| <= tolerance[i] for i < count (a NaN fails) and reports the worst violation
// with its index, values and bound, in one assertion per array.
template <class Actual, class Expected, class Tolerance>
void CheckWithin(const std::string& what, std::size_t count, const Actual& actual, const Expected& expected,
                 const Tolerance& tolerance) {
    std::size_t violations = 0, worst = 0;
    double worst_ratio = 0;
    for (std::size_t i = 0; i < count; ++i) {
        const double error = std::abs(static_cast<double>(actual(i)) - expected(i));
        const double ratio = error / tolerance(i);
        if (!(error <= tolerance(i))) {
            ++violations;
            if (!(ratio <= worst_ratio)) worst_ratio = ratio, worst = i;
        }
    }
    std::ostringstream report;
    report << what << ": " << violations << " of " << count << " values outside tolerance";
    if (violations != 0) {
        report << "; worst at index " << worst << ": got " << actual(worst) << ", expected " << expected(worst)
               << ", tolerance " << tolerance(worst);
    }
    INFO(report.str());
    CHECK(violations == 0);
}

// Runs body(target) once per SIMD target compiled into the test and supported by this CPU, with dynamic dispatch
// pinned to that target; restores normal dispatch afterwards.
template <class Body>
void ForEachTarget(const Body& body) {
    struct RestoreDispatch {
        ~RestoreDispatch() { hwy::SetSupportedTargetsForTest(0); }
    } restore;
    for (const std::int64_t target : hwy::SupportedAndGeneratedTargets()) {
        hwy::SetSupportedTargetsForTest(target);
        INFO("SIMD target " << hwy::TargetName(target));
        body(target);
    }
}

// Runs body(kernels) once per SIMD target (ForEachTarget), where kernels = table() is the kernel table that dispatch
// reaches with that target pinned (table wraps HWY_DYNAMIC_DISPATCH of the test's exported table), checked to hold
// that target's code.
template <class Table, class Body>
void ForEachTargetTable(const Table& table, const Body& body) {
    ForEachTarget([&](std::int64_t target) {
        const auto kernels = table();
        REQUIRE(kernels.target == target);
        body(kernels);
    });
}

// ---- Dense layer references ------------------------------------------------------------------------------------

struct DenseShape {
    std::size_t in, units;
    activation_kind act;
    bool use_bias;
};

inline std::string Describe(const DenseShape& shape, std::size_t rows) {
    return "In " + std::to_string(shape.in) + ", Units " + std::to_string(shape.units) + ", " +
           std::string(keras_name(shape.act)) + (shape.use_bias ? ", bias" : ", no bias") + ", rows " +
           std::to_string(rows);
}

// Pre-activations in double, and the magnitude sum |x_k w_k| + |b| that bounds their float rounding error.
struct PreActivations {
    std::vector<double> z, magnitude;
};

inline PreActivations ComputePreActivations(const DenseShape& shape, std::size_t rows, const std::vector<double>& x,
                                            const std::vector<double>& kernel, const std::vector<double>& bias) {
    PreActivations result{std::vector<double>(rows * shape.units), std::vector<double>(rows * shape.units)};
    for (std::size_t r = 0; r < rows; ++r) {
        for (std::size_t u = 0; u < shape.units; ++u) {
            double sum = shape.use_bias ? bias[u] : 0.0, magnitude = shape.use_bias ? std::abs(bias[u]) : 0.0;
            for (std::size_t k = 0; k < shape.in; ++k) {
                const double term = x[r * shape.in + k] * kernel[k * shape.units + u];
                sum += term;
                magnitude += std::abs(term);
            }
            result.z[r * shape.units + u] = sum;
            result.magnitude[r * shape.units + u] = magnitude;
        }
    }
    return result;
}

// Act(z) element-wise, or the row-wise softmax computed with the row maximum subtracted.
inline std::vector<double> ApplyActivation(const DenseShape& shape, std::size_t rows, const std::vector<double>& z) {
    std::vector<double> y(z.size());
    if (shape.act != activation_kind::softmax) {
        for (std::size_t i = 0; i < z.size(); ++i) y[i] = ActivationReference(shape.act, z[i]);
        return y;
    }
    for (std::size_t r = 0; r < rows; ++r) {
        const double* row = z.data() + r * shape.units;
        const double max = *std::max_element(row, row + shape.units);
        double sum = 0;
        for (std::size_t u = 0; u < shape.units; ++u) sum += std::exp(row[u] - max);
        for (std::size_t u = 0; u < shape.units; ++u) y[r * shape.units + u] = std::exp(row[u] - max) / sum;
    }
    return y;
}

// ---- Tables of kernels instantiated per target ------------------------------------------------------------------
// Each test TU instantiates the kernels it tests in every target's namespace and exports one function returning
// this table; HWY_DYNAMIC_DISPATCH then yields the table of the target under test. Plain arrays and function
// pointers: nothing from the standard library is instantiated inside the per-target code.

using DenseForwardFn = void (*)(const float* x, std::size_t rows, const float* kernel, const float* bias, float* y);
using DenseBackwardFn = void (*)(const float* x, const float* y, float* dy, std::size_t rows, const float* kernel,
                                 float* dkernel, float* dbias, float* dx);
using SoftmaxCrossEntropyFn = void (*)(const float* logits, const std::int32_t* labels, std::size_t rows,
                                       float grad_scale, float* dlogits, double* loss_sum, double* correct);

template <class Fn>
struct KernelEntry {
    DenseShape shape;  // for softmax cross-entropy only `units` is meaningful
    Fn run;
};

template <class Fn>
struct KernelTable {
    std::int64_t target;  // HWY_TARGET of the code the entries point to
    const KernelEntry<Fn>* entries;
    std::size_t count;
};

}  // namespace nnfuse::test
