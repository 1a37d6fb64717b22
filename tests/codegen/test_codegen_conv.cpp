// The generator's plan for convolutional layers, asserted on the typed statements of tests/models' small_cnn:
// reshape makes no step; conv2d and the pooling layers run per chunk; batch normalization over an NHWC map counts
// height x width value rows per sample; the first conv2d forms no input gradient; max pooling's backward reads its
// input and output, or a BN's input that it normalizes as it reads; Keras's glorot fans of a rank-4 kernel; the
// kernels' geometry printed as a designated initializer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "codegen/model_description.hpp"
#include "samples/fashion_mnist/model.hpp"
#include "samples/fashion_mnist_cnn/model.hpp"
#include "tests/codegen/codegen_test_support.hpp"
#include "tests/models/test_models.hpp"

namespace cg = nnfuse::codegen;
using codegen_test::argument_for;
using codegen_test::callee;
using codegen_test::contains;
using codegen_test::index_of;
using codegen_test::names;

namespace {

const cg::variable_entry& variable_named(const cg::model_plan& plan, const std::string& keras_name) {
    for (const auto& v : plan.variables) {
        if (v.keras_name == keras_name) return v;
    }
    FAIL("no variable " << keras_name);
    return plan.variables.front();
}

}  // namespace

TEST_CASE("conv2d and pooling: per-chunk statements, BN over channels, no step for reshape", "[codegen][conv]") {
    const auto layers = cg::describe(test_models::small_cnn);
    const auto* conv = layers[1].as<cg::conv2d_parameters>();
    REQUIRE(conv != nullptr);
    CHECK(conv->window.height == 7);
    CHECK(conv->window.width == 9);
    CHECK(conv->window.channels == 1);
    CHECK(conv->window.same_padding);
    CHECK(conv->filters == 4);
    CHECK_FALSE(conv->use_bias);
    const auto loss = cg::describe_loss(test_models::small_cnn);
    const cg::model_plan plan = cg::make_plan(layers, loss);

    CHECK(plan.notes.front() == "reshape: a reshape of the same memory, no kernel");
    const auto& t = plan.train_batch;
    const cg::statement& first = t[index_of(t, "conv2d.forward")];
    CHECK(first.when == cg::phase::per_chunk);
    // A linear conv2d before a BN also writes the BN's chunk statistics (conv_bn_moments.hpp).
    CHECK(callee(plan, first) == "conv2d_fwd_f32_h7w9c1_k3x3_same_f4_nobias_moments");
    CHECK(names(first.inputs()) == std::vector<std::string>{"x", "conv2d_kernel"});
    CHECK(argument_for(first, "bias").text == "nullptr");
    CHECK(argument_for(first, "moments").target->name == "batch_normalization_chunk_moments");
    // BN over the (7, 9, 4) map: 63 value rows of 4 channels per sample, per chunk; elu fused. In training the max
    // pool after it applies it as it reads (below); the BN's own normalize pass is planned without that fusion.
    const cg::model_plan unfused = cg::make_plan(layers, loss, {.bn_applied_by_next_layer = false});
    const cg::statement& bn = unfused.train_batch[index_of(unfused.train_batch, "batch_normalization.forward")];
    CHECK(bn.when == cg::phase::per_chunk);
    CHECK(callee(unfused, bn) == "bn_fwd_train_f32_c4_elu");
    CHECK(argument_for(bn, "rows").per_row == 63);
    CHECK(argument_for(bn, "x").per_row == 63 * 4);
    CHECK(std::none_of(t.begin(), t.end(), [](const cg::statement& s) { return s.id.ends_with(".chunk_moments"); }));
    const cg::statement& bn_merge = t[index_of(t, "batch_normalization.merge")];
    CHECK(bn_merge.when == cg::phase::whole_batch);
    CHECK(argument_for(bn_merge, "chunk_rows").text == "chunk_rows * 63");
    CHECK(argument_for(bn_merge, "rows_per_sample").text == "63");
    const cg::statement& bn_gradients = t[index_of(t, "batch_normalization.gradients")];
    CHECK(argument_for(bn_gradients, "rows_per_sample").text == "63");
    CHECK(argument_for(bn_gradients, "chunk_rows").text == "chunk_rows * 63");
    CHECK(argument_for(bn_gradients, "groups").text == "groups");
    CHECK(argument_for(bn_gradients, "moments").target->name == "batch_normalization_chunk_moments");
    CHECK(argument_for(t[index_of(t, "batch_normalization.backward")], "dx").target->name == "grad_out_conv2d");
    // The strided conv2d with its bias and elu, the pools, and their backward statements.
    CHECK(callee(plan, t[index_of(t, "conv2d_1.forward")]) == "conv2d_fwd_f32_h3w4c4_k3x3_s2x2_same_f5_elu");
    CHECK(callee(plan, t[index_of(t, "average_pooling2d.forward")]) == "average_pool2d_fwd_f32_h2w2c5_k2x2_same");
    const cg::statement& max_back = t[index_of(t, "max_pooling2d.backward")];
    CHECK(names(max_back.inputs()) == std::vector<std::string>{"out_conv2d", "batch_normalization_batch_mean",
                                                               "batch_normalization_inv_std",
                                                               "batch_normalization_gamma", "batch_normalization_beta",
                                                               "out_max_pooling2d", "grad_out_max_pooling2d"});
    CHECK(callee(plan, max_back) == "max_pool2d_bwd_f32_h7w9c4_k2x2_s2x2_bn_elu");
    CHECK(names(max_back.outputs()) == std::vector<std::string>{"grad_out_batch_normalization"});
    CHECK(names(t[index_of(t, "global_average_pooling2d.backward")].outputs()) ==
          std::vector<std::string>{"grad_out_average_pooling2d"});
    // Backward runs the steps in reverse; the first conv2d forms no gradient of the model's input.
    CHECK(index_of(t, "max_pooling2d.backward") < index_of(t, "batch_normalization.backward"));
    CHECK(index_of(t, "batch_normalization.backward") < index_of(t, "conv2d.backward"));
    CHECK(argument_for(t[index_of(t, "conv2d.backward")], "dx").text == "nullptr");
    CHECK(argument_for(t[index_of(t, "conv2d_1.backward")], "dx").target->name == "grad_out_max_pooling2d");
    // Every pass over rows runs per chunk: a model for several processes.
    CHECK(plan.trains_over_processes);
    CHECK_FALSE(plan.trains_from_pixels);
}

TEST_CASE("a BN's chunk statistics come from the linear conv2d before it, or from its own pass", "[codegen][conv]") {
    const auto layers = cg::describe(test_models::small_cnn);
    const auto loss = cg::describe_loss(test_models::small_cnn);
    const cg::model_plan fused = cg::make_plan(layers, loss);
    const cg::model_plan plain = cg::make_plan(layers, loss, {.bn_moments_in_conv_epilogue = false});
    // Fused: the conv2d's forward writes the records, in the same phase as before, and BN merges them.
    const auto& f = fused.train_batch;
    const std::size_t conv = index_of(f, "conv2d.forward"), merge = index_of(f, "batch_normalization.merge");
    CHECK(contains(names(f[conv].outputs()), "batch_normalization_chunk_moments"));
    CHECK(f[merge].reads("batch_normalization_chunk_moments"));
    for (std::size_t i = conv + 1; i < merge; ++i) CHECK(f[i].when != cg::phase::per_chunk);
    CHECK(std::find(fused.notes.begin(), fused.notes.end(),
                    "batch_normalization's chunk statistics taken by conv2d's forward (training)") !=
          fused.notes.end());
    // conv2d_1 has elu: the BN after it (none) or any BN reading an activated map keeps its own pass.
    for (const cg::step& step : fused.steps) {
        if (step.layer->name == "conv2d_1") CHECK_FALSE(step.gives_bn_moments_of);
    }
    // Plain: the statistics pass of its own, and the plain convolution.
    const auto& p = plain.train_batch;
    CHECK(callee(plain, p[index_of(p, "conv2d.forward")]) == "conv2d_fwd_f32_h7w9c1_k3x3_same_f4_nobias");
    CHECK(callee(plain, p[index_of(p, "batch_normalization.chunk_moments")]) == "bn_chunk_moments_f32_c4");
    // Inference is the same either way.
    REQUIRE(fused.forward_infer.size() == plain.forward_infer.size());
    for (std::size_t i = 0; i < fused.forward_infer.size(); ++i) {
        CHECK(fused.forward_infer[i].id == plain.forward_infer[i].id);
    }
}

TEST_CASE("a BN whose output only a conv2d or a max pool reads is applied by that layer in training",
          "[codegen][conv]") {
    const auto layers = cg::describe(fashion_mnist_cnn::model);
    const auto loss = cg::describe_loss(fashion_mnist_cnn::model);
    const cg::model_plan fused = cg::make_plan(layers, loss);
    const cg::model_plan plain = cg::make_plan(layers, loss, {.bn_applied_by_next_layer = false});
    // The sample: batch_normalization -> conv2d_1 and batch_normalization_2 -> conv2d_3 fuse, and the two BNs that
    // feed max pooling fuse into the pools.
    std::vector<std::string> applied, applying;
    for (const cg::step& step : fused.steps) {
        if (step.bn_applied_by) applied.push_back(step.layer->name);
        if (step.applies_bn_input_of) {
            applying.push_back(step.layer->name + "<-" + fused.steps[*step.applies_bn_input_of].layer->name);
        }
    }
    CHECK(applied == std::vector<std::string>{"batch_normalization", "batch_normalization_1", "batch_normalization_2",
                                              "batch_normalization_3"});
    CHECK(applying == std::vector<std::string>{"conv2d_1<-batch_normalization", "max_pooling2d<-batch_normalization_1",
                                               "conv2d_3<-batch_normalization_2",
                                               "max_pooling2d_1<-batch_normalization_3"});
    const auto& t = fused.train_batch;
    // No normalize pass for the fused BNs; the conv2d reads the BN's input and its constants.
    CHECK(
        std::none_of(t.begin(), t.end(), [](const cg::statement& s) { return s.id == "batch_normalization.forward"; }));
    CHECK(std::none_of(t.begin(), t.end(),
                       [](const cg::statement& s) { return s.id == "batch_normalization_2.forward"; }));
    CHECK(std::none_of(t.begin(), t.end(),
                       [](const cg::statement& s) { return s.id == "batch_normalization_1.forward"; }));
    const cg::statement& conv = t[index_of(t, "conv2d_1.forward")];
    CHECK(callee(fused, conv) == "conv2d_fwd_f32_h28w28c32_k3x3_same_f32_nobias_moments_bn_relu");
    CHECK(argument_for(conv, "x").target->name == "out_conv2d");
    CHECK(argument_for(conv, "batch_mean").target->name == "batch_normalization_batch_mean");
    CHECK(argument_for(conv, "gamma").target->name == "batch_normalization_gamma");
    const cg::statement& conv_back = t[index_of(t, "conv2d_1.backward")];
    CHECK(callee(fused, conv_back) == "conv2d_bwd_f32_h28w28c32_k3x3_same_f32_nobias_bn_relu");
    CHECK(argument_for(conv_back, "dx").target->name == "grad_out_batch_normalization");
    CHECK(callee(fused, t[index_of(t, "batch_normalization.gradient_sums")]) ==
          "bn_chunk_grad_sums_f32_c32_relu_from_x");
    CHECK(callee(fused, t[index_of(t, "batch_normalization_2.backward")]) == "bn_bwd_f32_c64_relu_from_x");
    CHECK(callee(fused, t[index_of(t, "batch_normalization_1.backward")]) == "bn_bwd_f32_c32_relu_from_x");
    // The max pool compares the BN's input normalized as it reads it, forward and backward.
    const cg::statement& pool = t[index_of(t, "max_pooling2d.forward")];
    CHECK(callee(fused, pool) == "max_pool2d_fwd_f32_h28w28c32_k2x2_s2x2_bn_relu");
    CHECK(argument_for(pool, "x").target->name == "out_conv2d_1");
    CHECK(argument_for(pool, "inv_std").target->name == "batch_normalization_1_inv_std");
    CHECK(argument_for(pool, "beta").target->name == "batch_normalization_1_beta");
    const cg::statement& pool_back = t[index_of(t, "max_pooling2d_1.backward")];
    CHECK(callee(fused, pool_back) == "max_pool2d_bwd_f32_h14w14c64_k2x2_s2x2_bn_relu");
    CHECK(argument_for(pool_back, "x").target->name == "out_conv2d_3");
    CHECK(argument_for(pool_back, "y").target->name == "out_max_pooling2d_1");
    CHECK(argument_for(pool_back, "dx").target->name == "grad_out_batch_normalization_3");
    // Nothing reads or writes the fused BNs' output maps in training, so they are not planned there.
    for (const auto* statements : {&fused.train_batch, &fused.forward_train, &fused.train_step}) {
        for (const cg::statement& s : *statements) {
            INFO(s.id);
            for (const char* map : {"out_batch_normalization", "out_batch_normalization_1", "out_batch_normalization_2",
                                    "out_batch_normalization_3"}) {
                CHECK_FALSE(contains(names(s.inputs()), map));
                CHECK_FALSE(contains(names(s.outputs()), map));
            }
        }
    }
    CHECK(fused.trains_over_processes);
    // Off: every BN normalizes into its map, the conv2d reads it.
    for (const cg::step& step : plain.steps) {
        CHECK_FALSE(step.bn_applied_by);
        CHECK_FALSE(step.applies_bn_input_of);
    }
    const auto& p = plain.train_batch;
    CHECK(callee(plain, p[index_of(p, "batch_normalization.forward")]) == "bn_fwd_train_f32_c32_relu");
    CHECK(argument_for(p[index_of(p, "conv2d_1.forward")], "x").target->name == "out_batch_normalization");
    CHECK(callee(plain, p[index_of(p, "max_pooling2d.forward")]) == "max_pool2d_fwd_f32_h28w28c32_k2x2_s2x2");
    CHECK(argument_for(p[index_of(p, "max_pooling2d.forward")], "x").target->name == "out_batch_normalization_1");
    // Inference is the same either way.
    REQUIRE(fused.forward_infer.size() == plain.forward_infer.size());
    for (std::size_t i = 0; i < fused.forward_infer.size(); ++i) {
        CHECK(fused.forward_infer[i].id == plain.forward_infer[i].id);
    }
}

TEST_CASE("a BN that feeds an average pool keeps its normalize pass", "[codegen][conv]") {
    // An average needs the normalized values' sum, not a comparison: only max pooling applies a BN as it reads.
    constexpr auto model = nnfuse::sequential(
        nnfuse::input<6, 6>, nnfuse::reshape<6, 6, 1>(), nnfuse::conv2d<4, 3, 3>(nnfuse::same_padding, nnfuse::no_bias),
        nnfuse::batch_norm(), nnfuse::activation(nnfuse::relu), nnfuse::average_pool2d<2, 2>(), nnfuse::flatten(),
        nnfuse::dense<3>(nnfuse::softmax));
    const auto layers = cg::describe(model);
    const cg::model_plan plan = cg::make_plan(layers, cg::describe_loss(model));
    for (const cg::step& step : plan.steps) {
        INFO(step.layer->name);
        CHECK_FALSE(step.bn_applied_by);
        CHECK_FALSE(step.applies_bn_input_of);
    }
    const auto& t = plan.train_batch;
    CHECK(callee(plan, t[index_of(t, "batch_normalization.forward")]) == "bn_fwd_train_f32_c4_relu");
    CHECK(argument_for(t[index_of(t, "average_pooling2d.forward")], "x").target->name == "out_batch_normalization");
}

TEST_CASE("the input gradient's flipped kernel is formed once a step, where dx is a forward convolution",
          "[codegen][conv]") {
    const auto layers = cg::describe(fashion_mnist_cnn::model);
    const cg::model_plan plan = cg::make_plan(layers, cg::describe_loss(fashion_mnist_cnn::model));
    const auto& t = plan.train_step;
    const auto has = [](const std::vector<cg::statement>& statements, const std::string& id) {
        return std::any_of(statements.begin(), statements.end(), [&](const cg::statement& s) { return s.id == id; });
    };
    // The first conv2d forms no input gradient: no flip, and its backward reads none.
    CHECK_FALSE(has(t, "conv2d.flip_kernel"));
    CHECK(argument_for(t[index_of(t, "conv2d.backward")], "flipped_kernel").text == "nullptr");
    for (const std::string conv : {"conv2d_1", "conv2d_2", "conv2d_3"}) {
        INFO(conv);
        const std::size_t flip = index_of(t, conv + ".flip_kernel");
        // A task beside the forward's chunks (once per step), before the backward that reads its output.
        CHECK(t[flip].when == cg::phase::task);
        CHECK(index_of(t, conv + ".forward") < flip);
        CHECK(flip < index_of(t, conv + ".backward"));
        CHECK(names(t[flip].inputs()) == std::vector<std::string>{conv + "_kernel"});
        CHECK(names(t[flip].outputs()) == std::vector<std::string>{conv + "_flipped_kernel"});
        const cg::statement& back = t[index_of(t, conv + ".backward")];
        CHECK(argument_for(back, "flipped_kernel").target->name == conv + "_flipped_kernel");
    }
    CHECK(callee(plan, t[index_of(t, "conv2d_3.flip_kernel")]) == "conv2d_flip_f32_h14w14c64_k3x3_same_f64");
    // Inference takes no gradient.
    for (const cg::statement& s : plan.forward_infer) CHECK_FALSE(s.id.ends_with(".flip_kernel"));
    // A strided conv2d's dx stays the scatter: small_cnn's conv2d_1 (stride 2) flips nothing.
    const cg::model_plan small =
        cg::make_plan(cg::describe(test_models::small_cnn), cg::describe_loss(test_models::small_cnn));
    CHECK_FALSE(has(small.train_step, "conv2d_1.flip_kernel"));
    CHECK(argument_for(small.train_step[index_of(small.train_step, "conv2d_1.backward")], "flipped_kernel").text ==
          "nullptr");
}

TEST_CASE("conv2d kernels: Keras's glorot fans and their (kh, kw, in, out) shape", "[codegen][conv]") {
    const auto layers = cg::describe(test_models::small_cnn);
    const cg::model_plan plan = cg::make_plan(layers, cg::describe_loss(test_models::small_cnn));
    // keras.initializers.GlorotUniform: fan_in = receptive field x input channels, fan_out = receptive field x
    // filters, the receptive field 3 x 3.
    const auto& first = variable_named(plan, "conv2d/kernel:0");
    CHECK(first.fan_in == 9);
    CHECK(first.fan_out == 36);
    CHECK(first.dims == std::vector<std::size_t>{3, 3, 1, 4});
    const auto& second = variable_named(plan, "conv2d_1/kernel:0");
    CHECK(second.fan_in == 36);
    CHECK(second.fan_out == 45);
    CHECK(second.value.floats == 180);
    const auto& dense = variable_named(plan, "dense/kernel:0");
    CHECK(dense.fan_in == 5);
    CHECK(dense.fan_out == 3);
    CHECK(dense.dims.empty());

    const auto files = cg::render(codegen_test::request_for("small_cnn"), layers, plan);
    CHECK(files.source.find("constexpr std::size_t conv2d_1_kernel_shape[] = {3, 3, 4, 5};") != std::string::npos);
    CHECK(files.source.find(".dims = conv2d_1_kernel_shape") != std::string::npos);
    // The geometry is a named constant of the wrapper, its fields designated: input, then window, then padding.
    const std::string strided =
        "    constexpr nnfuse::kernels::window_geometry window{.height = 3, .width = 4, .channels = 4,\n"
        "                                                      .window_h = 3, .window_w = 3, .stride_h = 2, "
        ".stride_w = 2,\n"
        "                                                      .same_padding = true};\n"
        "    kernels::Conv2dForward<window, 5, activation_kind::elu, /*UseBias=*/true>(";
    CHECK(files.kernels.find(strided) != std::string::npos);
    CHECK(files.header.find("filters=5 kernel_size=(3, 3) strides=(2, 2) padding=same activation=elu use_bias=true") !=
          std::string::npos);
    CHECK(files.header.find("target_shape=(7, 9, 1)") != std::string::npos);
}

TEST_CASE("a model whose sample is heavy is cut into chunks of 8 rows; light models keep 64", "[codegen][conv]") {
    // The sample CNN: 28 x 28 x 32 x 9 + 28 x 28 x 32 x 288 + 14 x 14 x 64 x 288 + 14 x 14 x 64 x 576 + 3136 x 10
    // = 18,320,512 multiply-adds a sample.
    const auto cnn = cg::describe(fashion_mnist_cnn::model);
    const cg::model_plan heavy = cg::make_plan(cnn, cg::describe_loss(fashion_mnist_cnn::model));
    CHECK(heavy.chunk_rows == 8);
    CHECK(heavy.chunk_reason.find("18.3 million multiply-adds") != std::string::npos);
    const auto files = cg::render(codegen_test::request_for("fashion_mnist_cnn"), cnn, heavy);
    CHECK(files.header.find("static constexpr std::size_t chunk_rows = 8;") != std::string::npos);
    // The reference model (784 x 20 + 20 x 10 multiply-adds) and the small test CNN keep the runtime's 64.
    CHECK(cg::make_plan(cg::describe(fashion_mnist::model)).chunk_rows == 64);
    CHECK(cg::make_plan(cg::describe(test_models::small_cnn)).chunk_rows == 64);
}

TEST_CASE("inference folds a BN over a linear conv2d's output into its kernel and bias", "[codegen][conv][fold]") {
    const auto layers = cg::describe(test_models::small_cnn);
    const cg::model_plan plan = cg::make_plan(layers, cg::describe_loss(test_models::small_cnn));
    const auto& infer = plan.forward_infer;
    // Once per call, before the pieces: the folded copies from conv2d's kernel and BN's variables (small_cnn's conv2d
    // has no bias; its BN has gamma and beta).
    const cg::statement& fold = infer[index_of(infer, "conv2d.fold_bn")];
    CHECK(fold.when == cg::phase::whole_batch);
    CHECK(callee(plan, fold) == "nnfuse::kernels::BnFoldIntoConv");
    CHECK(argument_for(fold, "bias").text == "nullptr");
    CHECK(argument_for(fold, "taps").text == "/*taps=*/9");
    CHECK(names(fold.inputs()) ==
          std::vector<std::string>{"conv2d_kernel", "batch_normalization_gamma", "batch_normalization_beta",
                                   "batch_normalization_moving_mean", "batch_normalization_moving_variance"});
    CHECK(names(fold.outputs()) == std::vector<std::string>{"conv2d_folded_kernel", "conv2d_folded_bias"});
    // The unfolded conv2d only when stopping before the BN (its population statistics), then the folded one writing
    // BN's output with BN's elu and the folded bias; no BN statement is left in inference.
    const std::size_t unfolded = index_of(infer, "conv2d.infer_unfolded");
    CHECK(infer[unfolded].only_stopping_before_bn == std::optional<std::size_t>(0));
    CHECK(callee(plan, infer[unfolded]) == "conv2d_fwd_f32_h7w9c1_k3x3_same_f4_nobias");
    const std::size_t folded = index_of(infer, "conv2d.infer");
    CHECK(folded > unfolded);
    CHECK(callee(plan, infer[folded]) == "conv2d_fwd_f32_h7w9c1_k3x3_same_f4_elu");
    CHECK(names(infer[folded].inputs()) == std::vector<std::string>{"x", "conv2d_folded_kernel", "conv2d_folded_bias"});
    CHECK(names(infer[folded].outputs()) == std::vector<std::string>{"out_batch_normalization"});
    for (const cg::statement& s : infer) CHECK(s.id.rfind("batch_normalization.", 0) == std::string::npos);
    // The strided conv2d_1 has its own elu: nothing to fold. --no-fold keeps BN apart in inference too.
    CHECK(infer[index_of(infer, "conv2d_1.infer")].only_stopping_before_bn == std::nullopt);
    const cg::model_plan plain = cg::make_plan(layers, cg::describe_loss(test_models::small_cnn),
                                               {.fold_bn_into_dense = false, .fold_bn_into_conv_for_inference = false});
    index_of(plain.forward_infer, "batch_normalization.infer");
    for (const cg::statement& s : plain.forward_infer) CHECK(s.id != "conv2d.fold_bn");
}

namespace {
// A first conv2d whose forward is Winograd's (16 channels, 16 filters, 3x3, same): it is in the step's first phase.
inline constexpr auto winograd_first =
    nnfuse::sequential(nnfuse::input<5, 6 * 16>, nnfuse::reshape<5, 6, 16>(),
                       nnfuse::conv2d<16, 3, 3>(nnfuse::same_padding, nnfuse::no_bias), nnfuse::batch_norm(),
                       nnfuse::activation(nnfuse::relu), nnfuse::flatten(), nnfuse::dense<3>(nnfuse::softmax));
}  // namespace

TEST_CASE("a Winograd conv2d's forward kernel is formed once a step without a phase of its own", "[codegen][conv]") {
    // The sample: its three hidden convs' kernels are transformed by tasks of the first phase (beside conv2d's
    // chunks), which a BN's merge ends before any of them reads its transform.
    const auto layers = cg::describe(fashion_mnist_cnn::model);
    const cg::model_plan plan = cg::make_plan(layers, cg::describe_loss(fashion_mnist_cnn::model));
    const auto& t = plan.train_batch;
    const std::size_t first_merge = index_of(t, "batch_normalization.merge");
    for (const char* conv : {"conv2d_1", "conv2d_2", "conv2d_3"}) {
        INFO(conv);
        const std::size_t transform = index_of(t, std::string(conv) + ".forward_kernel");
        CHECK(t[transform].when == cg::phase::task);
        CHECK(transform < first_merge);
        CHECK(callee(plan, t[transform]).starts_with("conv2d_winograd_f32_"));
        CHECK(t[index_of(t, std::string(conv) + ".forward")].reads(std::string(conv) + "_forward_kernel"));
    }
    CHECK(std::none_of(t.begin(), t.end(), [](const cg::statement& s) { return s.id == "conv2d.forward_kernel"; }));
    // A Winograd conv2d in the first phase: its transform runs before that phase, as a whole-batch statement.
    const cg::model_plan first = cg::make_plan(cg::describe(winograd_first), cg::describe_loss(winograd_first));
    const auto& f = first.train_batch;
    const std::size_t transform = index_of(f, "conv2d.forward_kernel");
    CHECK(f[transform].when == cg::phase::whole_batch);
    CHECK(transform < index_of(f, "conv2d.forward"));
    for (std::size_t i = 0; i < transform; ++i) CHECK(f[i].when != cg::phase::per_chunk);
}
