// The losses in the generator: each loss's module checks the last layer, takes what it fuses (a classifier's softmax)
// and plans the loss statement, the evaluation and the prediction; a regression model's plan has no softmax at all
// and its generated source includes only the mean squared error kernel.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "codegen/emit.hpp"
#include "codegen/model_description.hpp"
#include "codegen/plan.hpp"
#include "samples/fashion_mnist/model.hpp"
#include "tests/codegen/codegen_test_support.hpp"
#include "tests/models/test_models.hpp"

namespace cg = nnfuse::codegen;
using namespace codegen_test;

TEST_CASE("a loss refuses a last layer it cannot train, with the reason; softmax only last", "[codegen]") {
    // The DSL refuses both at compile time (tests/compile_fail); a plan is made from any description.
    constexpr auto regression = nnfuse::sequential(nnfuse::input<4>, nnfuse::dense<2>(), nnfuse::mean_squared_error);
    REQUIRE_THROWS_WITH(cg::make_plan(cg::describe(regression), cg::default_loss()),
                        Catch::Contains("the last layer 'dense' must end in softmax: the loss "
                                        "sparse_categorical_crossentropy trains classifiers"));
    constexpr auto classifier = nnfuse::sequential(nnfuse::input<4>, nnfuse::dense<2>(nnfuse::softmax));
    REQUIRE_THROWS_WITH(cg::make_plan(cg::describe(classifier), cg::describe_loss(regression)),
                        Catch::Contains("the last layer 'dense' must not end in softmax: the loss mean_squared_error"));
    constexpr auto inner_softmax =
        nnfuse::sequential(nnfuse::input<4>, nnfuse::dense<3>(nnfuse::softmax), nnfuse::dense<2>(nnfuse::softmax));
    REQUIRE_THROWS_WITH(cg::make_plan(cg::describe(inner_softmax)),
                        Catch::Contains("layer 'dense': softmax is supported only as the last layer"));
}

TEST_CASE("the loss statement reads the logits and writes their gradient", "[codegen]") {
    const auto layers = cg::describe(fashion_mnist::model);
    const auto plan = cg::make_plan(layers);
    const auto& loss = plan.train_batch[index_of(plan.train_batch, "loss.forward")];
    CHECK(callee(plan, loss) == "softmax_xent_f32_c10");
    CHECK(loss.when == cg::phase::per_chunk);
    CHECK(loss.reads(plan.buffers[plan.output].activations.name));
    CHECK(loss.reads("labels"));
    CHECK(contains(names(loss.outputs()), plan.buffers[plan.output].gradient.name));
    CHECK(plan.targets.targets.name == "labels");
    CHECK(plan.targets.element_type == "std::int32_t");
    CHECK(callee(plan, plan.evaluate.at(0)) == "softmax_xent_f32_c10");
    CHECK(callee(plan, plan.predict.at(0)) == "nnfuse::softmax_rows");
}

TEST_CASE("a regression model's train_batch: mean squared error of the last layer's output, no softmax",
          "[codegen][loss]") {
    const auto layers = cg::describe(test_models::linear_regression);
    const auto plan = cg::make_plan(layers, cg::describe_loss(test_models::linear_regression));
    CHECK(plan.loss.keras_name == "mean_squared_error");
    REQUIRE(plan.steps.size() == 1);
    CHECK(plan.steps[0].activation == nnfuse::activation_kind::linear);
    CHECK(plan.output == plan.steps[0].out);
    CHECK(plan.outputs == 1);
    const auto& step = plan.train_batch;
    const std::size_t forward = index_of(step, "dense.forward"), loss = index_of(step, "loss.forward"),
                      backward = index_of(step, "dense.backward");
    CHECK(forward < loss);
    CHECK(loss < backward);
    CHECK(callee(plan, step[loss]) == "mse_f32_n1");
    CHECK(step[loss].when == cg::phase::per_chunk);
    CHECK(step[loss].reads("out_dense"));  // the dense layer's output, as it is
    CHECK(step[loss].reads("target_values"));
    CHECK_FALSE(step[loss].reads("labels"));
    CHECK(contains(names(step[loss].outputs()), "grad_out_dense"));
    CHECK(reads_or_writes(step[backward], "grad_out_dense"));  // dy (it becomes dz in place)
    CHECK(plan.targets.element_type == "float");
    CHECK(callee(plan, plan.evaluate.at(0)) == "mse_f32_n1");
    CHECK(callee(plan, plan.predict.at(0)) == "std::copy_n");
    // No softmax anywhere: no kernel, no call, no decision.
    for (const auto& k : plan.kernels) CHECK(k.name.find("softmax") == std::string::npos);
    for (const auto* f :
         {&plan.train_batch, &plan.train_pixel_batch, &plan.forward_infer, &plan.evaluate, &plan.predict}) {
        for (const auto& s : *f) {
            INFO(s.id);
            CHECK(callee(plan, s).find("softmax") == std::string::npos);
        }
    }
    for (const auto& note : plan.notes) CHECK(note.find("softmax") == std::string::npos);
    // The generated source includes the loss kernel it uses, and only that one.
    const auto files = cg::render(request_for("linear_regression"), layers, plan);
    CHECK(files.kernels.find("#include \"runtime/kernels/mean_squared_error-inl.h\"") != std::string::npos);
    CHECK(files.source.find("softmax") == std::string::npos);
    CHECK(files.kernels.find("softmax") == std::string::npos);
    CHECK(files.header.find("classes") == std::string::npos);  // not a classifier
    CHECK(files.manifest.find("Loss: mean_squared_error on float targets (1 per sample); metric: mae") !=
          std::string::npos);
    CHECK(files.header.find("\"mean_squared_error\", nnfuse::target_kind::float_vector") != std::string::npos);
    const auto reference = cg::describe(fashion_mnist::model);
    const auto classifier = cg::render(request_for("fashion_mnist"), reference,
                                       cg::make_plan(reference, cg::describe_loss(fashion_mnist::model)));
    CHECK(classifier.source.find("mean_squared_error") == std::string::npos);
    CHECK(classifier.kernels.find("mean_squared_error") == std::string::npos);
}

TEST_CASE("a regression's last activation stays in its layer's step: the loss reads the activated output",
          "[codegen][loss]") {
    constexpr auto model = nnfuse::sequential(nnfuse::input<3>, nnfuse::dense<4>(nnfuse::relu), nnfuse::dense<2>(),
                                              nnfuse::activation(nnfuse::sigmoid), nnfuse::mean_squared_error);
    const auto layers = cg::describe(model);
    const auto plan = cg::make_plan(layers, cg::describe_loss(model));
    REQUIRE(plan.steps.size() == 2);
    CHECK(plan.steps[1].activation == nnfuse::activation_kind::sigmoid);  // fused into dense_1, not into the loss
    CHECK(plan.steps[1].covers == std::vector<std::string>{"dense_1", "activation"});
    const auto& loss = plan.train_batch[index_of(plan.train_batch, "loss.forward")];
    CHECK(callee(plan, loss) == "mse_f32_n2");
    CHECK(loss.reads(plan.buffers[plan.steps[1].out].activations.name));
    // Its backward takes sigmoid's derivative from the output: it reads that output.
    CHECK(plan.train_batch[index_of(plan.train_batch, "dense_1.backward")].reads("out_dense_1"));
}

TEST_CASE("each loss of the DSL plans its own kernel, targets and prediction", "[codegen][loss]") {
    struct expectation {
        std::string kernel, targets_type, prediction;
        nnfuse::activation_kind last_step_activation;
    };
    const auto check = [](const auto& model, const expectation& expected) {
        const auto layers = cg::describe(model);
        const auto plan = cg::make_plan(layers, cg::describe_loss(model));
        INFO(plan.loss.keras_name);
        CHECK(callee(plan, plan.train_batch[index_of(plan.train_batch, "loss.forward")]) == expected.kernel);
        CHECK(callee(plan, plan.evaluate.at(0)) == expected.kernel);
        CHECK(callee(plan, plan.predict.at(0)) == expected.prediction);
        CHECK(plan.targets.element_type == expected.targets_type);
        CHECK(plan.steps.back().activation == expected.last_step_activation);
        const auto files = cg::render(request_for("m"), layers, plan);
        CHECK(files.kernels.find("#include \"" + plan.kernels[plan.loss_kernel].signature->header + "\"") !=
              std::string::npos);
        return plan;
    };
    using nnfuse::activation_kind;
    check(test_models::categorical_loss,
          {"softmax_cxent_f32_c3", "float", "nnfuse::softmax_rows", activation_kind::linear});
    check(test_models::binary_loss,
          {"sigmoid_bxent_f32_n2", "float", "nnfuse::sigmoid_values", activation_kind::linear});
    check(test_models::absolute_loss, {"mae_f32_n2", "float", "std::copy_n", activation_kind::linear});
    const auto huber =
        check(test_models::huber_loss, {"huber_f32_n2", "float", "std::copy_n", activation_kind::linear});
    const auto& call = std::get<cg::call>(huber.train_batch[index_of(huber.train_batch, "loss.forward")].action);
    CHECK(call.arguments.back().text == "static_cast<float>(0.5)");  // the declared delta
    // A sigmoid layer of its own at the end: no step computes it, binary cross-entropy does.
    constexpr auto sigmoid_layer = nnfuse::sequential(nnfuse::input<3>, nnfuse::dense<2>(),
                                                      nnfuse::activation(nnfuse::sigmoid), nnfuse::binary_crossentropy);
    const auto plan =
        check(sigmoid_layer, {"sigmoid_bxent_f32_n2", "float", "nnfuse::sigmoid_values", activation_kind::linear});
    CHECK(plan.steps.size() == 1);
    // The same sigmoid layer under mean squared error stays in the dense step.
    constexpr auto sigmoid_regression = nnfuse::sequential(
        nnfuse::input<3>, nnfuse::dense<2>(), nnfuse::activation(nnfuse::sigmoid), nnfuse::mean_squared_error);
    check(sigmoid_regression, {"mse_f32_n2", "float", "std::copy_n", activation_kind::sigmoid});
    REQUIRE_THROWS_WITH(cg::make_plan(cg::describe(test_models::absolute_loss), cg::describe_loss(sigmoid_layer)),
                        Catch::Contains("the last layer 'dense' must end in sigmoid"));
}
