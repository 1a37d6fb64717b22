// The generator's decisions, asserted on the plan's typed statements (phases, kernels, storage read and written,
// reductions and their merge order); the printers on a few properties of their output; and a golden copy of the
// reference model's whole training step (train_step), so that any change to generated code is reviewed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "codegen/emit.hpp"
#include "codegen/model_description.hpp"
#include "codegen/plan.hpp"
#include "codegen/plan_passes.hpp"
#include "samples/fashion_mnist/model.hpp"
#include "tests/codegen/codegen_test_support.hpp"
#include "tests/models/test_models.hpp"

namespace cg = nnfuse::codegen;
using namespace codegen_test;

TEST_CASE("plan of the reference model", "[codegen]") {
    const auto layers = cg::describe(fashion_mnist::model);
    const auto plan = cg::make_plan(layers);
    REQUIRE(plan.steps.size() == 3);
    CHECK(plan.steps[0].layer->as<cg::batch_norm_parameters>() != nullptr);
    CHECK(plan.steps[0].in == 0);  // flatten is no step: BN reads the model input itself
    CHECK_FALSE(plan.steps[0].needs_input_grad);
    CHECK(plan.steps[1].layer->as<cg::dense_parameters>() != nullptr);
    CHECK(plan.steps[1].activation == nnfuse::activation_kind::elu);
    CHECK(plan.steps[1].needs_input_grad);
    CHECK(plan.steps[0].folded_into == std::optional<std::size_t>(1));  // BN on the input, read by dense: folded
    CHECK(plan.steps[1].applies_bn_of == std::optional<std::size_t>(0));
    CHECK_FALSE(plan.steps[2].applies_bn_of);
    CHECK(plan.steps[2].activation == nnfuse::activation_kind::linear);  // softmax moved into the loss
    CHECK(plan.output == plan.steps[2].out);
    CHECK(plan.outputs == 10);
    CHECK(plan.input_size == 784);
}

TEST_CASE("BN is folded into the next dense layer only where its gradients can come from that layer's", "[codegen]") {
    const auto reference = cg::describe(fashion_mnist::model);
    const auto unfolded = cg::make_plan(reference, {.fold_bn_into_dense = false});
    CHECK_FALSE(unfolded.steps[0].folded_into);
    CHECK_FALSE(unfolded.steps[1].applies_bn_of);

    const auto folded_first = [](const auto& model) {
        return cg::make_plan(cg::describe(model)).steps[0].folded_into.has_value();
    };
    CHECK(folded_first(test_models::cumulative_bn));
    CHECK(folded_first(test_models::one_feature));
    CHECK_FALSE(folded_first(test_models::two_bn));  // torch BN over 3 rows per sample, a flatten between
    // BN after a dense layer needs its input gradient; a frozen BN has no batch statistics; neither is folded
    for (const auto& step : cg::make_plan(cg::describe(test_models::bn_before_activation)).steps) {
        CHECK_FALSE(step.folded_into);
    }
    for (const auto& step : cg::make_plan(cg::describe(test_models::frozen_bn)).steps) CHECK_FALSE(step.folded_into);
    constexpr auto bn_with_relu = nnfuse::sequential(
        nnfuse::input<4>, nnfuse::batch_norm(), nnfuse::activation(nnfuse::relu), nnfuse::dense<2>(nnfuse::softmax));
    CHECK_FALSE(folded_first(bn_with_relu));  // its own activation sits between BN and dense
}

TEST_CASE("an activation after BN is fused into the BN step", "[codegen]") {
    const auto layers = cg::describe(test_models::bn_before_activation);
    const auto plan = cg::make_plan(layers);
    REQUIRE(plan.steps.size() == 3);
    CHECK(plan.steps[1].layer->as<cg::batch_norm_parameters>() != nullptr);
    CHECK(plan.steps[1].activation == nnfuse::activation_kind::tanh);
    CHECK(plan.steps[1].covers == std::vector<std::string>{"batch_normalization", "activation"});
}

TEST_CASE("an activation with nothing to fuse into is its own step; softmax as a layer feeds the loss", "[codegen]") {
    const auto layers = cg::describe(test_models::two_bn);  // the plan points into it
    const auto plan = cg::make_plan(layers);
    // bn (torch), dense elu, bn + sigmoid, selu alone, dense (logits); flatten and softmax are no steps
    REQUIRE(plan.steps.size() == 5);
    CHECK(plan.steps[2].activation == nnfuse::activation_kind::sigmoid);
    CHECK(plan.steps[3].layer->as<cg::activation_parameters>() != nullptr);
    CHECK(plan.steps[3].activation == nnfuse::activation_kind::selu);
    CHECK(plan.output == plan.steps[4].out);
}

TEST_CASE("a folded BN's training step: statistics per chunk, merged once, then one phase from xhat to the sums",
          "[codegen]") {
    const auto layers = cg::describe(fashion_mnist::model);
    const auto plan = cg::make_plan(layers);
    const auto& step = plan.train_batch;
    const std::size_t moments = index_of(step, "batch_normalization.chunk_moments");
    const std::size_t stale = index_of(step, "dense.stale_copies");
    const std::size_t merge = index_of(step, "batch_normalization.merge");
    const std::size_t moving = index_of(step, "batch_normalization.moving");
    const std::size_t normalize = index_of(step, "batch_normalization.normalize");
    const std::size_t fold = index_of(step, "dense.fold");
    const std::size_t loss = index_of(step, "loss.forward");
    const std::size_t dense_backward = index_of(step, "dense.backward");
    const std::size_t epilogue = index_of(step, "batch_normalization.gradients");

    CHECK(step[moments].when == cg::phase::per_chunk);
    CHECK(callee(plan, step[moments]) == "bn_chunk_moments_f32_c784");
    CHECK(step[moments].reads("x"));
    CHECK(contains(names(step[moments].outputs()), "batch_normalization_chunk_moments"));
    // The per-thread folded copies turn stale after the statistics phase, before any chunk reads one.
    CHECK(stale == moments + 1);
    CHECK(step[stale].when == cg::phase::whole_batch);
    CHECK(step[merge].when == cg::phase::whole_batch);
    CHECK(step[merge].reads("batch_normalization_chunk_moments"));
    // Nothing in the step reads the moving statistics: their update is a task of the normalizing phase.
    CHECK(step[moving].when == cg::phase::task);
    CHECK(callee(plan, step[moving]) == "nnfuse::kernels::BnUpdateMoving");
    // From xhat through the loss to the dense layers' gradient sums: one phase, no whole-batch statement between.
    CHECK(merge < moving);
    CHECK(moving < normalize);
    for (std::size_t i = normalize; i <= dense_backward; ++i) {
        INFO(step[i].id);
        CHECK(step[i].when == cg::phase::per_chunk);
    }
    CHECK(fold < index_of(step, "dense.forward"));
    CHECK(std::get<cg::call>(step[fold].action).into_thread_copy->name == "dense_folded");
    // 784 inputs: the fold writes the kernel transposed, the layout of the forward along the inputs.
    CHECK(callee(plan, step[fold]) == "bn_fold_into_dense_f32_k784_n20_transposed");
    CHECK(callee(plan, step[index_of(step, "dense.forward")]) == "dense_fwd_f32_k784_n20_elu_transposed");
    CHECK(step[index_of(step, "dense.forward")].reads("dense_folded"));
    // The folded dense layer sums xhat^T . dz and dz per chunk; they are merged in that order, then the epilogue.
    REQUIRE(step[dense_backward].merges.size() == 2);
    CHECK(step[dense_backward].merges[0].total.name == "dense_xhat_dz");
    CHECK(step[dense_backward].merges[1].total.name == "grad_dense_bias");
    CHECK(epilogue == dense_backward + 1);
    CHECK(step[epilogue].when == cg::phase::whole_batch);
    CHECK(contains(names(step[epilogue].outputs()), "grad_batch_normalization_gamma"));
    // Folded: BN has no backward statement of its own, and forward_train is train_batch's forward part.
    CHECK(std::none_of(step.begin(), step.end(),
                       [&](const cg::statement& s) { return callee(plan, s).rfind("bn_bwd", 0) == 0; }));
    CHECK(plan.forward_train.size() == index_of(step, "loss.reset"));
    CHECK(loss > fold);
}

TEST_CASE("storage is what the statements use", "[codegen]") {
    const auto check = [](const cg::model_plan& plan) {
        std::vector<std::string> named;
        for (const auto* f : {&plan.train_batch, &plan.train_pixel_batch, &plan.forward_infer, &plan.forward_train}) {
            for (const auto& s : *f) {
                for (const auto& n : names(s.inputs())) named.push_back(n);
                for (const auto& n : names(s.outputs())) named.push_back(n);
            }
        }
        for (const auto& v : plan.variables) {
            named.push_back(v.value.name);
            if (v.gradient) named.push_back(v.gradient->name);
        }
        for (const auto& region : plan.arena) {
            INFO(region.name);
            CHECK(contains(named, region.name));
        }
        for (const auto& name : named) {
            if (name == "x" || name == "labels" || name == "target_values") continue;
            INFO(name);
            CHECK((contains(names(plan.arena), name) || contains(names(plan.thread_copies), name)));
        }
    };
    const auto reference = cg::describe(fashion_mnist::model);
    const auto folded = cg::make_plan(reference);
    check(folded);
    // Folded, the BN's output gradient is never formed and BN has no backward scratch; pixels need no float copy.
    CHECK_FALSE(contains(names(folded.arena), "grad_out_batch_normalization"));
    CHECK_FALSE(contains(names(folded.arena), "batch_normalization_chunk_gradient_sums"));
    CHECK_FALSE(contains(names(folded.arena), "widened_input"));
    CHECK_FALSE(contains(names(folded.arena), "partial_grad_dense_kernel"));  // its chunks sum xhat^T . dz instead
    CHECK(contains(names(folded.thread_copies), "dense_folded"));
    const auto unfolded = cg::make_plan(reference, {.fold_bn_into_dense = false});
    check(unfolded);
    CHECK(contains(names(unfolded.arena), "batch_normalization_chunk_gradient_sums"));
    CHECK_FALSE(contains(names(unfolded.arena), "batch_normalization_dx_coefficients"));  // the model's input: no dx
    CHECK(contains(names(unfolded.arena), "widened_input"));
    CHECK(contains(names(unfolded.arena), "grad_out_batch_normalization"));  // the BN backward's dy
    const auto two_bn = cg::describe(test_models::two_bn);                   // the plans point into these
    const auto frozen = cg::describe(test_models::frozen_bn);
    const auto bn_before_activation = cg::describe(test_models::bn_before_activation);
    for (const auto* layers : {&two_bn, &frozen, &bn_before_activation}) check(cg::make_plan(*layers));
    const auto regression = cg::describe(test_models::linear_regression);
    check(cg::make_plan(regression, cg::describe_loss(test_models::linear_regression)));
}

TEST_CASE("a model whose input only a folded BN reads trains from uint8 pixels; others widen them",
          "[codegen][pixels]") {
    const auto layers = cg::describe(fashion_mnist::model);
    const auto folded = cg::make_plan(layers);
    CHECK(folded.trains_from_pixels);
    const auto& pixels = folded.train_pixel_batch;
    const std::size_t moments = index_of(pixels, "batch_normalization.chunk_moments");
    CHECK(pixels[moments].when == cg::phase::per_chunk);
    CHECK(callee(folded, pixels[moments]) == "bn_chunk_moments_u8_c784");
    CHECK(callee(folded, pixels[moments + 1]) == "nnfuse::prefetch_next_chunk");
    CHECK(callee(folded, pixels[index_of(pixels, "batch_normalization.normalize")]) == "bn_normalize_u8_c784");
    for (const auto& s : pixels) {
        INFO(s.id);
        CHECK_FALSE(s.reads("x"));
        CHECK(callee(folded, s) != "nnfuse::gather_pixel_rows");
    }
    // Same statements otherwise.
    REQUIRE(pixels.size() == folded.train_batch.size() + 1);

    const auto unfolded = cg::make_plan(layers, {.fold_bn_into_dense = false});
    CHECK_FALSE(unfolded.trains_from_pixels);
    const auto& widened = unfolded.train_pixel_batch;
    REQUIRE(!widened.empty());
    CHECK(callee(unfolded, widened.front()) == "nnfuse::gather_pixel_rows");
    CHECK(contains(names(widened.front().outputs()), "widened_input"));
    for (const auto& s : widened) {
        INFO(s.id);
        CHECK_FALSE(s.reads("x"));
    }
    CHECK(widened[index_of(widened, "batch_normalization.forward")].reads("widened_input"));
}

TEST_CASE("train_step holds train_batch and train_pixel_batch, the statements that differ marked with their input",
          "[codegen][pixels]") {
    const auto layers = cg::describe(fashion_mnist::model);
    for (const bool fold : {true, false}) {
        INFO("fold_bn_into_dense " << fold);
        const auto plan = cg::make_plan(layers, {.fold_bn_into_dense = fold});
        // Each function is train_step without the other input's statements, in the same order.
        const auto ids_for = [&](cg::step_input input) {
            std::vector<std::string> ids;
            for (const auto& s : plan.train_step) {
                if (s.input == cg::step_input::any || s.input == input) ids.push_back(s.id);
            }
            return ids;
        };
        const auto ids_of = [](const std::vector<cg::statement>& statements) {
            std::vector<std::string> ids;
            for (const auto& s : statements) ids.push_back(s.id);
            return ids;
        };
        CHECK(ids_for(cg::step_input::floats) == ids_of(plan.train_batch));
        CHECK(ids_for(cg::step_input::pixels) == ids_of(plan.train_pixel_batch));
        std::size_t marked = 0;
        for (const auto& s : plan.train_step) {
            INFO(s.id);
            if (s.input == cg::step_input::any) {
                CHECK_FALSE(s.reads("x"));
                continue;
            }
            ++marked;
            CHECK(s.when == cg::phase::per_chunk);
            if (s.input == cg::step_input::pixels) CHECK_FALSE(s.reads("x"));
        }
        // folded: the BN's moments and normalize, each with a uint8 form (the first with the prefetch); unfolded: the
        // widening and the prefetch, and the BN's three statements that read the rows (moments, normalize, gradient
        // sums), each also reading the widened rows
        CHECK(marked == (fold ? 5u : 8u));
    }
}

TEST_CASE("without the fold, BN runs per chunk: chunk records merged in chunk order between the phases", "[codegen]") {
    const auto layers = cg::describe(fashion_mnist::model);
    const auto plan = cg::make_plan(layers, {.fold_bn_into_dense = false});
    const auto& step = plan.train_batch;
    const std::size_t moments = index_of(step, "batch_normalization.chunk_moments");
    const std::size_t merge = index_of(step, "batch_normalization.merge");
    const std::size_t forward = index_of(step, "batch_normalization.forward");
    CHECK(step[moments].when == cg::phase::per_chunk);
    CHECK(names(step[moments].outputs()) == std::vector<std::string>{"batch_normalization_chunk_moments"});
    CHECK(step[merge].when == cg::phase::whole_batch);
    CHECK(step[forward].when == cg::phase::per_chunk);
    CHECK(moments < merge);
    CHECK(merge < forward);
    CHECK(index_of(step, "batch_normalization.moving") > merge);

    const std::size_t sums = index_of(step, "batch_normalization.gradient_sums");
    const std::size_t gradients = index_of(step, "batch_normalization.gradients");
    CHECK(step[sums].when == cg::phase::per_chunk);
    CHECK(step[sums].reads("grad_out_batch_normalization"));  // its dy: the dense layer's dx
    CHECK(step[gradients].when == cg::phase::whole_batch);
    CHECK(step[gradients].reads("batch_normalization_chunk_gradient_sums"));
    CHECK(argument_for(step[gradients], "coefficients").text == "nullptr");
    // The model's input needs no gradient: no dx statement.
    CHECK(std::none_of(step.begin(), step.end(),
                       [](const cg::statement& s) { return s.id == "batch_normalization.backward"; }));
    CHECK(index_of(step, "dense.backward") < sums);
    CHECK(sums < gradients);
    // No whole-batch statement reads rows: the plan can train over processes.
    CHECK(plan.trains_over_processes);
}

TEST_CASE("a whole-batch statement that reads rows keeps a model on one process, and its Net says which one",
          "[codegen]") {
    const auto layers = cg::describe(fashion_mnist::model);
    auto plan = cg::make_plan(layers);
    REQUIRE(plan.trains_over_processes);  // no sample's model refuses: the refusal is made here
    CHECK(plan.over_processes_refusal.empty());
    CHECK(cg::over_processes_refusal(plan).empty());
    // The chunk moments read the chunk's rows of x; run once for the whole batch, they would need all of them.
    cg::statement whole = plan.train_batch[index_of(plan.train_batch, "batch_normalization.chunk_moments")];
    whole.when = cg::phase::whole_batch;
    plan.train_batch.insert(plan.train_batch.begin(), whole);
    CHECK_FALSE(cg::only_chunks_read_rows(plan.train_batch));
    const std::string why = cg::over_processes_refusal(plan);
    CHECK(why ==
          "its training step's statement batch_normalization.chunk_moments reads the rows of the whole batch in one "
          "place, so this model cannot train over several processes");
    plan.over_processes_refusal = why;
    plan.trains_over_processes = false;
    const auto files = cg::render(request_for("refusing"), layers, plan);
    // The Net's set_chunk_exchange throws it with the model's name (the samples print "error: --distributed: " and
    // this message; docs/distributed.md lists it).
    const std::string header = files.header;
    std::string joined;  // the header's long lines are wrapped: join the string literal's pieces
    for (std::size_t i = 0; i < header.size(); ++i) {
        if (header.compare(i, 2, "\"\n") == 0) {
            std::size_t next = header.find('"', i + 2);
            if (next != std::string::npos && header.find_first_not_of(' ', i + 2) == next) {
                i = next;
                continue;
            }
        }
        joined += header[i];
    }
    CHECK(joined.find("if (exchange != nullptr) {") != std::string::npos);
    CHECK(joined.find("throw std::invalid_argument(\"refusing: " + why + "\");") != std::string::npos);
    CHECK(files.source.find("this_process_share") == std::string::npos);  // every chunk computed here
}

TEST_CASE("BN statistics are merged by the step's groups: one for synchronized, a process's share for per-rank",
          "[codegen]") {
    const auto layers = cg::describe(test_models::two_bn);
    const auto plan = cg::make_plan(layers);
    CHECK(plan.uses_statistics_groups);
    const auto& t = plan.train_batch;
    for (const char* bn : {"batch_normalization", "batch_normalization_1"}) {
        INFO(bn);
        const cg::statement& merge = t[index_of(t, std::string(bn) + ".merge")];
        CHECK(argument_for(merge, "groups").text == "groups");
        CHECK(argument_for(merge, "moving_mean").target->name == std::string(bn) + "_moving_group_mean");
        const cg::statement& moving = t[index_of(t, std::string(bn) + ".moving")];
        CHECK(moving.reads(std::string(bn) + "_moving_group_mean"));
        CHECK(moving.reads(std::string(bn) + "_moving_group_var"));
        CHECK_FALSE(moving.reads(std::string(bn) + "_batch_mean"));
        CHECK(index_of(t, std::string(bn) + ".merge") < index_of(t, std::string(bn) + ".moving"));
        const cg::statement& gradients = t[index_of(t, std::string(bn) + ".gradients")];
        CHECK(gradients.reads(std::string(bn) + "_chunk_moments"));  // every share's statistics, again
        CHECK(argument_for(gradients, "groups").text == "groups");
    }
    const auto files = cg::render(request_for("two_bn"), layers, plan);
    CHECK(files.source.find("bn_groups_.of(") != std::string::npos);
    const auto plain_layers = cg::describe(test_models::frozen_bn);  // no BN with batch statistics
    const auto plain = cg::make_plan(plain_layers);
    CHECK_FALSE(plain.uses_statistics_groups);
    CHECK(cg::render(request_for("frozen"), plain_layers, plain).source.find("bn_groups_") == std::string::npos);
}

TEST_CASE("templates: every placeholder filled, unknown ones named", "[codegen]") {
    CHECK(cg::fill_template("a ${x} b ${y}", {{"x", "1"}, {"y", "2"}}, "t") == "a 1 b 2");
    CHECK(cg::fill_template("braces {stay} as they are", {}, "t") == "braces {stay} as they are");
    REQUIRE_THROWS_WITH(cg::fill_template("${missing}", {{"x", "1"}}, "t.in"), "t.in: no value for ${missing}");
    REQUIRE_THROWS_WITH(cg::fill_template("${open", {}, "t.in"), Catch::Contains("unclosed"));
}

TEST_CASE("generated files: banner without machine paths, the kernel headers used, every kernel in the manifest",
          "[codegen]") {
    const auto layers = cg::describe(fashion_mnist::model);
    const auto plan = cg::make_plan(layers);
    const auto files = cg::render(request_for("fashion_mnist"), layers, plan);
    for (const std::string* text : {&files.header, &files.source, &files.kernels, &files.manifest}) {
        CHECK(text->find("Generated by nnfuse-gen") != std::string::npos);
        CHECK(text->find("Command: nnfuse-gen --name fashion_mnist\n") != std::string::npos);
        CHECK(text->find("/home/someone") == std::string::npos);
        CHECK(text->find("--out-dir") == std::string::npos);
    }
    CHECK(files.source.rfind("// Generated by nnfuse-gen", 0) == 0);
    CHECK(files.kernels.rfind("// Generated by nnfuse-gen", 0) == 0);
    // Two translation units: the kernels (per SIMD target) and their dispatch functions in one, the Net in the other,
    // which declares each dispatch function it calls and includes no Highway kernel.
    CHECK(files.kernels.find("#define HWY_TARGET_INCLUDE \"fashion_mnist.kernels.gen.cpp\"") != std::string::npos);
    CHECK(files.source.find("foreach_target") == std::string::npos);
    CHECK(files.source.find("-inl.h") == std::string::npos);
    CHECK(files.kernels.find("Net::") == std::string::npos);
    CHECK(files.kernels.find("static void") == std::string::npos);  // the Net's TU calls them
    for (const auto& k : plan.kernels) {
        INFO(k.name);
        CHECK(files.manifest.find("| `" + k.name + "` |") != std::string::npos);
        CHECK(files.kernels.find("HWY_EXPORT(" + k.name + ");") != std::string::npos);
        CHECK(files.kernels.find("\nvoid " + k.name + "(") != std::string::npos);
        CHECK(files.source.find("\nvoid " + k.name + "(") != std::string::npos);
        CHECK(files.kernels.find("#include \"" + k.signature->header + "\"") != std::string::npos);
    }
    CHECK(files.kernels.find("bn_frozen-inl.h") == std::string::npos);  // no frozen BN in this model
    CHECK(files.manifest.find("batch_normalization folded into dense") != std::string::npos);
    CHECK(files.manifest.find("flatten: a reshape") != std::string::npos);
    const auto frozen_layers = cg::describe(test_models::frozen_bn);
    const auto frozen = cg::render(request_for("frozen"), frozen_layers, cg::make_plan(frozen_layers));
    CHECK(frozen.kernels.find("#include \"runtime/kernels/bn_frozen-inl.h\"") != std::string::npos);
}

TEST_CASE("golden: the reference model's generated train_step", "[codegen][golden]") {
    const auto layers = cg::describe(fashion_mnist::model);
    const auto files = cg::render(request_for("fashion_mnist"), layers,
                                  cg::make_plan(layers, cg::describe_loss(fashion_mnist::model)));
    const auto golden =
        read_text(std::filesystem::path(NNFUSE_SOURCE_ROOT) / "tests/codegen/golden/fashion_mnist_train_step.txt");
    // A difference here means the generated code changed: review it, then update the golden file.
    CHECK(function_text(files.source, "nnfuse::batch_result Net::train_step(") == golden);
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
