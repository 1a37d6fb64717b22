// The generator's plan for a normalization layer, asserted on the typed statements: one forward statement per chunk
// (x, mean, variance -> its output; the rows of a rank-2 sample counted per value row) in training and inference,
// no backward, no input gradient formed by the step after it, the scalar count in the variable table, and the
// normalization_statistics capability only in the Nets of models that have the layer.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "codegen/model_description.hpp"
#include "samples/fashion_mnist/model.hpp"
#include "tests/codegen/codegen_test_support.hpp"
#include "tests/models/test_models.hpp"

namespace cg = nnfuse::codegen;
using codegen_test::argument_for;
using codegen_test::callee;
using codegen_test::contains;
using codegen_test::index_of;
using codegen_test::names;
using codegen_test::reads_or_writes;

TEST_CASE("normalization: one forward statement per chunk, the same in inference, no backward",
          "[codegen][normalization]") {
    const auto layers = cg::describe(test_models::normalized_rows);
    const auto* p = layers[0].as<cg::normalization_parameters>();
    REQUIRE(p != nullptr);
    CHECK(p->features == 5);
    CHECK(p->rows_per_sample == 4);
    const cg::model_plan plan = cg::make_plan(layers, cg::describe_loss(test_models::normalized_rows));

    for (const auto* statements : {&plan.train_batch, &plan.forward_infer}) {
        const std::string id = statements == &plan.train_batch ? "normalization.forward" : "normalization.infer";
        const cg::statement& s = (*statements)[index_of(*statements, id)];
        CHECK(s.when == cg::phase::per_chunk);
        CHECK(callee(plan, s) == "normalization_fwd_f32_n5");
        CHECK(names(s.inputs()) == std::vector<std::string>{"x", "normalization_mean", "normalization_variance"});
        CHECK(names(s.outputs()) == std::vector<std::string>{"out_normalization"});
        CHECK(argument_for(s, "rows").kind == cg::argument::form::row_count);
        CHECK(argument_for(s, "rows").per_row == 4);  // a sample is 4 value rows of 5 features
    }
    // Nothing in training reads or writes a gradient of the normalization's output, and nothing runs its backward.
    for (const cg::statement& s : plan.train_batch) {
        INFO(s.id);
        CHECK(s.id != "normalization.backward");
        CHECK_FALSE(reads_or_writes(s, "grad_out_normalization"));
    }
    const cg::statement& dense_backward = plan.train_batch[index_of(plan.train_batch, "dense.backward")];
    CHECK(argument_for(dense_backward, "dx").text == "nullptr");
    // The variables: mean and variance (5,), count a scalar, none trained.
    REQUIRE(plan.variables.size() == 5);
    CHECK(plan.variables[2].keras_name == "normalization/count:0");
    CHECK(plan.variables[2].scalar);
    CHECK(plan.variables[2].value.floats == 1);
    CHECK_FALSE(plan.variables[0].scalar);
    CHECK_FALSE(plan.variables[0].gradient.has_value());
    CHECK(plan.normalization == &layers[0]);
}

TEST_CASE("normalization's Net offers normalization_statistics; other Nets do not", "[codegen][normalization]") {
    const auto layers = cg::describe(test_models::normalized_binary);
    const cg::model_plan plan = cg::make_plan(layers, cg::describe_loss(test_models::normalized_binary));
    const auto files = cg::render(codegen_test::request_for("normalized"), layers, plan);
    CHECK(files.header.find("#include \"runtime/train/normalization_statistics.hpp\"") != std::string::npos);
    CHECK(files.header.find("public nnfuse::normalization_statistics") != std::string::npos);
    CHECK(files.header.find(".mean = {normalization_mean_, 30}") != std::string::npos);
    CHECK(files.header.find(".count = normalization_count_") != std::string::npos);
    CHECK(files.source.find(".scalar = true") != std::string::npos);
    CHECK(files.header.find("(None, 30) axis=-1") != std::string::npos);  // architecture()

    const auto reference = cg::describe(fashion_mnist::model);
    const auto plain = cg::render(codegen_test::request_for("fashion_mnist"), reference, cg::make_plan(reference));
    CHECK(plain.header.find("normalization_statistics") == std::string::npos);
    CHECK(plain.header.find("normalization_layer") == std::string::npos);
    CHECK(plain.source.find(".scalar") == std::string::npos);
}
