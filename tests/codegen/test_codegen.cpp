// The generator's decisions and output: fusion plan, templates, banner, manifest, unchanged files,
// and a golden copy of one generated kernel so that any change to generated code is reviewed.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "codegen/emit.hpp"
#include "codegen/model_description.hpp"
#include "codegen/plan.hpp"
#include "samples/fashion_mnist/model.hpp"
#include "tests/models/test_models.hpp"

namespace cg = nnfuse::codegen;

namespace {

std::string read_text(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

cg::emit_request request_for(const std::string& name) {
    cg::emit_request request;
    request.model = name;
    request.model_expression = name + "::model";
    request.model_header = "model.hpp";
    request.command_line = "nnfuse-gen --name " + name;
    request.templates = std::filesystem::path(NNFUSE_SOURCE_ROOT) / "codegen" / "templates";
    return request;
}

// The text of the per-target wrapper of `kernel` in a generated source: from its comment to its closing brace.
std::string kernel_text(const std::string& source, const std::string& kernel) {
    const std::size_t name = source.find("HWY_NOINLINE void " + kernel + "(");
    REQUIRE(name != std::string::npos);
    const std::size_t begin = source.rfind("\n//", name) + 1;
    const std::size_t end = source.find("\n}\n", name) + 3;
    return source.substr(begin, end - begin);
}

// The text of a generated function, from its signature (which `signature` starts) to its closing brace.
std::string function_text(const std::string& source, const std::string& signature) {
    const std::size_t begin = source.find(signature);
    REQUIRE(begin != std::string::npos);
    return source.substr(begin, source.find("\n}\n", begin) - begin);
}

// The text of the parallel phase (a runner_.run body) of `text` that contains `call`; empty when `call` is outside
// one.
std::string phase_of(const std::string& text, std::string_view call) {
    const std::size_t at = text.find(call);
    REQUIRE(at != std::string::npos);
    const std::size_t start = text.rfind("runner_.run(chunks, ", at);
    if (start == std::string::npos) return {};
    const std::size_t end = text.find("\n    });", start);
    return end < at ? std::string() : text.substr(start, end - start);
}

std::size_t count_of(const std::string& text, std::string_view what) {
    std::size_t count = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++count;
    return count;
}

}  // namespace

TEST_CASE("plan of the reference model", "[codegen]") {
    const auto layers = cg::describe(fashion_mnist::model);
    const auto plan = cg::make_plan(layers);
    REQUIRE(plan.steps.size() == 3);
    CHECK(plan.steps[0].kind == cg::step_kind::batch_norm);
    CHECK(plan.steps[0].in == 0);  // flatten is no step: BN reads the model input itself
    CHECK_FALSE(plan.steps[0].needs_input_grad);
    CHECK(plan.steps[1].kind == cg::step_kind::dense);
    CHECK(plan.steps[1].activation == nnfuse::activation_kind::elu);
    CHECK(plan.steps[1].needs_input_grad);
    CHECK(plan.steps[0].folded_into_next);  // BN on the input, read by a dense layer: folded into it
    CHECK(plan.steps[1].applies_previous_bn);
    CHECK_FALSE(plan.steps[2].applies_previous_bn);
    CHECK(plan.steps[2].activation == nnfuse::activation_kind::linear);  // softmax moved into the loss
    CHECK(plan.logits == plan.steps[2].out);
    CHECK(plan.classes == 10);
    CHECK(plan.input_size == 784);
}

TEST_CASE("BN is folded into the next dense layer only where its gradients can come from that layer's", "[codegen]") {
    const auto reference = cg::describe(fashion_mnist::model);
    const auto unfolded = cg::make_plan(reference, {.fold_bn_into_dense = false});
    CHECK_FALSE(unfolded.steps[0].folded_into_next);
    CHECK_FALSE(unfolded.steps[1].applies_previous_bn);

    const auto folded_first = [](const auto& model) { return cg::make_plan(cg::describe(model)).steps[0].folded_into_next; };
    CHECK(folded_first(test_models::cumulative_bn));
    CHECK(folded_first(test_models::one_feature));
    CHECK_FALSE(folded_first(test_models::two_bn));  // torch BN over 3 rows per sample, a flatten between
    // BN after a dense layer needs its input gradient; a frozen BN has no batch statistics; neither is folded
    for (const auto& step : cg::make_plan(cg::describe(test_models::bn_before_activation)).steps) {
        CHECK_FALSE(step.folded_into_next);
    }
    for (const auto& step : cg::make_plan(cg::describe(test_models::frozen_bn)).steps) CHECK_FALSE(step.folded_into_next);
    constexpr auto bn_with_relu = nnfuse::sequential(nnfuse::input<4>, nnfuse::batch_norm(),
                                                     nnfuse::activation(nnfuse::relu), nnfuse::dense<2>(nnfuse::softmax));
    CHECK_FALSE(folded_first(bn_with_relu));  // its own activation sits between BN and dense
}

TEST_CASE("an activation after BN is fused into the BN step", "[codegen]") {
    const auto layers = cg::describe(test_models::bn_before_activation);
    const auto plan = cg::make_plan(layers);
    REQUIRE(plan.steps.size() == 3);
    CHECK(plan.steps[1].kind == cg::step_kind::batch_norm);
    CHECK(plan.steps[1].activation == nnfuse::activation_kind::tanh);
    CHECK(plan.steps[1].covers == std::vector<std::string>{"batch_normalization", "activation"});
}

TEST_CASE("an activation with nothing to fuse into is its own step; softmax as a layer feeds the loss", "[codegen]") {
    const auto plan = cg::make_plan(cg::describe(test_models::two_bn));
    // bn (torch), dense elu, bn + sigmoid, selu alone, dense (logits); flatten and softmax are no steps
    REQUIRE(plan.steps.size() == 5);
    CHECK(plan.steps[2].activation == nnfuse::activation_kind::sigmoid);
    CHECK(plan.steps[3].kind == cg::step_kind::activation);
    CHECK(plan.steps[3].activation == nnfuse::activation_kind::selu);
    CHECK(plan.logits == plan.steps[4].out);
}

TEST_CASE("models the trainer cannot train are refused with the reason", "[codegen]") {
    constexpr auto no_softmax = nnfuse::sequential(nnfuse::input<4>, nnfuse::dense<2>(), nnfuse::mean_squared_error);
    REQUIRE_THROWS_WITH(cg::make_plan(cg::describe(no_softmax)), Catch::Contains("must end in softmax"));
    constexpr auto inner_softmax =
        nnfuse::sequential(nnfuse::input<4>, nnfuse::dense<3>(nnfuse::softmax), nnfuse::dense<2>(nnfuse::softmax));
    REQUIRE_THROWS_WITH(cg::make_plan(cg::describe(inner_softmax)),
                        Catch::Contains("layer 'dense': softmax is supported only as the last layer"));
}

TEST_CASE("templates: every placeholder filled, unknown ones named", "[codegen]") {
    CHECK(cg::fill_template("a ${x} b ${y}", {{"x", "1"}, {"y", "2"}}, "t") == "a 1 b 2");
    CHECK(cg::fill_template("braces {stay} as they are", {}, "t") == "braces {stay} as they are");
    REQUIRE_THROWS_WITH(cg::fill_template("${missing}", {{"x", "1"}}, "t.in"), "t.in: no value for ${missing}");
    REQUIRE_THROWS_WITH(cg::fill_template("${open", {}, "t.in"), Catch::Contains("unclosed"));
}

TEST_CASE("generated files carry the banner; the manifest lists every kernel", "[codegen]") {
    const auto layers = cg::describe(fashion_mnist::model);
    const auto plan = cg::make_plan(layers);
    const auto files = cg::render(request_for("fashion_mnist"), layers, plan);
    for (const std::string* text : {&files.header, &files.source}) {
        CHECK(text->rfind("// Generated by nnfuse-gen", 0) == 0);
        CHECK(text->substr(0, text->find('\n')).find("DO NOT EDIT") != std::string::npos);
        CHECK(text->find("Command: nnfuse-gen --name fashion_mnist") != std::string::npos);
    }
    for (const char* kernel : {"bn_chunk_moments_f32_c784", "bn_merge_chunk_moments_f32_c784", "bn_normalize_f32_c784",
                               "bn_fwd_infer_f32_c784", "bn_fold_into_dense_f32_k784_n20",
                               "bn_dense_grad_epilogue_f32_k784_n20", "dense_fwd_f32_k784_n20_elu",
                               "dense_bwd_f32_k784_n20_elu", "dense_fwd_f32_k20_n10", "dense_bwd_f32_k20_n10",
                               "softmax_xent_f32_c10"}) {
        INFO(kernel);
        CHECK(files.manifest.find(std::string("| `") + kernel + "` |") != std::string::npos);
        CHECK(files.source.find(std::string("HWY_EXPORT(") + kernel + ");") != std::string::npos);
    }
    CHECK(files.source.find("bn_bwd_f32_c784") == std::string::npos);  // folded: BN has no backward pass of its own
    CHECK(files.manifest.find("batch_normalization folded into dense") != std::string::npos);
    const auto unfolded = cg::render(request_for("fashion_mnist"), layers, cg::make_plan(layers, {.fold_bn_into_dense = false}));
    for (const char* kernel : {"bn_fwd_train_f32_c784", "bn_bwd_f32_c784"}) {
        INFO(kernel);
        CHECK(unfolded.source.find(std::string("HWY_EXPORT(") + kernel + ");") != std::string::npos);
    }
    CHECK(unfolded.source.find("bn_fold_into_dense") == std::string::npos);
    CHECK(files.source.find("constexpr float batch_normalization_epsilon = 0.001;") != std::string::npos);
    CHECK(files.manifest.find("flatten: a reshape") != std::string::npos);
}

TEST_CASE("golden: the generated BN training kernel of the reference model", "[codegen][golden]") {
    const auto layers = cg::describe(fashion_mnist::model);
    const auto files = cg::render(request_for("fashion_mnist"), layers, cg::make_plan(layers));
    const auto golden =
        read_text(std::filesystem::path(NNFUSE_SOURCE_ROOT) / "tests/codegen/golden/bn_merge_chunk_moments_f32_c784.txt");
    // A difference here means the generated code changed: review it, then update the golden file.
    CHECK(kernel_text(files.source, "bn_merge_chunk_moments_f32_c784") == golden);
}

TEST_CASE("a folded BN's statistics and normalization run chunk by chunk", "[codegen]") {
    const auto layers = cg::describe(fashion_mnist::model);
    const auto source = cg::render(request_for("fashion_mnist"), layers, cg::make_plan(layers)).source;
    const auto phase_of = [&](std::string_view call) { return ::phase_of(source, call); };
    CHECK_FALSE(phase_of("bn_chunk_moments_f32_c784(x + begin * 784, count,").empty());
    CHECK(phase_of("bn_merge_chunk_moments_f32_c784(batch_normalization_chunk_moments_, rows,").empty());
    const std::string normalize_phase = phase_of("bn_normalize_f32_c784(x + begin * 784, count,");
    // Each chunk's xhat is made where the dense layer reads it, in one phase.
    CHECK(normalize_phase.find("dense_fwd_f32_k784_n20_elu(out_batch_normalization_ + begin * 784, count,") !=
          std::string::npos);
    // The moving statistics' update, which nothing in the step reads, is a task of the normalizing phase.
    CHECK(normalize_phase.find("nnfuse::kernels::BnUpdateMoving(784, ") != std::string::npos);
    // The fold: each thread makes its own copy in the phase that reads it, before its first dense product; the
    // copies turn stale between the two phases, and the statistics phase has nothing but chunks.
    const std::string moments_phase = phase_of("bn_chunk_moments_f32_c784(x + begin * 784, count,");
    CHECK(moments_phase.rfind("runner_.run(chunks, [&]", 0) == 0);
    CHECK(moments_phase.find("bn_fold_into_dense_f32_k784_n20(") == std::string::npos);
    const std::size_t copy_at = normalize_phase.find("float* const dense_folded = dense_folded_.this_threads_copy(");
    const std::size_t fold_at = normalize_phase.find("bn_fold_into_dense_f32_k784_n20(", copy_at);
    const std::size_t product_at =
        normalize_phase.find("dense_fwd_f32_k784_n20_elu(out_batch_normalization_ + begin * 784, count, dense_folded, "
                             "dense_folded + nnfuse::cache_line_floats(15680), ");
    CHECK(copy_at < fold_at);
    CHECK(fold_at < product_at);
    CHECK(product_at != std::string::npos);
    const std::size_t stale_at = source.find("dense_folded_.begin_step(runner_.threads());");
    CHECK(stale_at > source.find(moments_phase) + moments_phase.size());
    CHECK(stale_at < source.find(normalize_phase));
}

TEST_CASE("a model whose first layer is a folded BN trains from uint8 pixels; others widen them", "[codegen][pixels]") {
    const auto layers = cg::describe(fashion_mnist::model);
    const auto pixels_of = [&](const cg::model_plan& plan) {
        return function_text(cg::render(request_for("fashion_mnist"), layers, plan).source,
                             "nnfuse::batch_result Net::train_pixel_batch(");
    };
    const std::string folded = pixels_of(cg::make_plan(layers));
    CHECK(folded.find("bn_chunk_moments_u8_c784(batch.pixels.data(), batch.samples.data() + begin, count, batch.scale,") !=
          std::string::npos);
    CHECK(folded.find("bn_normalize_u8_c784(batch.pixels.data(), batch.samples.data() + begin, count, batch.scale,") !=
          std::string::npos);
    CHECK(folded.find("nnfuse::prefetch_next_chunk(batch, begin, count);") != std::string::npos);
    CHECK(folded.find("gather_pixel_rows") == std::string::npos);  // no float copy of the batch
    CHECK(folded.find("(x") == std::string::npos);

    cg::plan_options apart;
    apart.fold_bn_into_dense = false;
    const std::string widened = pixels_of(cg::make_plan(layers, apart));
    CHECK(widened.find("nnfuse::gather_pixel_rows(") != std::string::npos);
    CHECK(widened.find("const float* const x = widened_input_;") != std::string::npos);
}

TEST_CASE("a training step runs from the last batch statistics through the loss to the first batch sums in one phase",
          "[codegen][pixels]") {
    const auto layers = cg::describe(fashion_mnist::model);
    const std::string source = cg::render(request_for("fashion_mnist"), layers, cg::make_plan(layers)).source;
    for (const std::string signature : {"nnfuse::batch_result Net::train_batch(", "nnfuse::batch_result Net::train_pixel_batch("}) {
        CAPTURE(signature);
        const std::string step = function_text(source, signature);
        // The statistics phase, then one phase from xhat to the folded dense layer's gradient sums.
        CHECK(count_of(step, "runner_.run(") == 2);
        const std::string fused = phase_of(step, "softmax_xent_f32_c10(out_dense_1_ + begin * 10, labels + begin, count,");
        CHECK(fused.find("dense_fwd_f32_k784_n20_elu(out_batch_normalization_ + begin * 784, count,") != std::string::npos);
        CHECK(fused.find("dense_bwd_f32_k20_n10(out_dense_ + begin * 20, ") != std::string::npos);
        CHECK(fused.find("dense_bwd_f32_k784_n20_elu(out_batch_normalization_ + begin * 784, ") != std::string::npos);
        // The chunks' gradient sums are added, in chunk order, after that phase; then the BN's gradients.
        const std::size_t merge_at = step.find("nnfuse::add_chunk_partials(dense_xhat_dz_, partial_dense_xhat_dz_,");
        CHECK(merge_at > step.find(fused) + fused.size());
        CHECK(merge_at < step.find("bn_dense_grad_epilogue_f32_k784_n20("));
    }

    // Without the fold the BN's backward needs the batch's sums of the dense layer's dx: the step's last phase ends
    // there, and the BN's backward runs after it over the whole batch.
    cg::plan_options apart;
    apart.fold_bn_into_dense = false;
    const std::string step = function_text(cg::render(request_for("fashion_mnist"), layers, cg::make_plan(layers, apart)).source,
                                           "nnfuse::batch_result Net::train_batch(");
    const std::string fused = phase_of(step, "softmax_xent_f32_c10(");
    CHECK(fused.find("dense_fwd_f32_k784_n20_elu(") != std::string::npos);
    CHECK(fused.find("dense_bwd_f32_k784_n20_elu(") != std::string::npos);
    CHECK(phase_of(step, "bn_bwd_f32_c784(").empty());
    CHECK(step.find("bn_bwd_f32_c784(") > step.find(fused) + fused.size());
}

TEST_CASE("an unchanged file is not rewritten", "[codegen]") {
    const auto dir = std::filesystem::temp_directory_path() / "nnfuse_codegen_test";
    std::filesystem::create_directories(dir);
    const auto file = dir / "same.gen.hpp";
    std::filesystem::remove(file);
    CHECK(cg::write_if_changed(file, "one"));
    const auto written = std::filesystem::last_write_time(file);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    CHECK_FALSE(cg::write_if_changed(file, "one"));
    CHECK(std::filesystem::last_write_time(file) == written);
    CHECK(cg::write_if_changed(file, "two"));
    CHECK(read_text(file) == "two");
    std::filesystem::remove_all(dir);
}
