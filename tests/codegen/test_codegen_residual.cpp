// The generator's plan for residual blocks (issue 20), asserted on typed statements: describe() gives each layer the
// layers it reads; the Add is a per-chunk step reading the block's output and the residual's input; the block's
// output shares the Add's gradient storage; the residual input's gradient is summed in place right after the block's
// first backward statement, before the statement that reads it; fusions that assume a chain are not applied where
// a buffer is read twice; a block that computes nothing is refused naming its Add.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "codegen/model_description.hpp"
#include "tests/codegen/codegen_test_support.hpp"
#include "tests/models/test_models.hpp"

namespace cg = nnfuse::codegen;
using codegen_test::callee;
using codegen_test::contains;
using codegen_test::index_of;
using codegen_test::names;

namespace {

using strings = std::vector<std::string>;

const cg::argument& argument_for(const cg::statement& s, const std::string& parameter) {
    const auto* c = std::get_if<cg::call>(&s.action);
    REQUIRE(c != nullptr);
    for (std::size_t i = 0; i < c->arguments.size(); ++i) {
        if (c->signature->parameters[i].name == parameter) return c->arguments[i];
    }
    FAIL("no parameter " << parameter);
    return c->arguments.front();
}

const cg::step& step_of(const cg::model_plan& plan, const std::string& layer) {
    for (const auto& s : plan.steps) {
        if (s.layer->name == layer) return s;
    }
    FAIL("no step for " << layer);
    return plan.steps.front();
}

bool has_statement(const std::vector<cg::statement>& statements, const std::string& id) {
    return std::any_of(statements.begin(), statements.end(), [&](const cg::statement& s) { return s.id == id; });
}

template <class Model>
cg::model_plan plan_of(const Model& model, const std::vector<cg::layer_description>& layers) {
    return cg::make_plan(layers, cg::describe_loss(model));
}

// A standalone activation at the head of a block reads x, which the Add reads too: it stays a step of its own.
inline constexpr auto activation_heads_block = nnfuse::sequential(
    nnfuse::input<5>, nnfuse::dense<6>(), nnfuse::residual(nnfuse::activation(nnfuse::relu), nnfuse::dense<6>()),
    nnfuse::dense<3>(nnfuse::softmax));
// A standalone activation before the residual: dense's output is read by it alone, so dense applies it.
inline constexpr auto activation_before_block =
    nnfuse::sequential(nnfuse::input<5>, nnfuse::dense<6>(), nnfuse::activation(nnfuse::relu),
                       nnfuse::residual(nnfuse::dense<6>()), nnfuse::dense<3>(nnfuse::softmax));
// x is the model's input: nothing before the block trains.
inline constexpr auto block_on_input =
    nnfuse::sequential(nnfuse::input<6>, nnfuse::residual(nnfuse::dense<6>(nnfuse::relu), nnfuse::dense<6>()),
                       nnfuse::dense<3>(nnfuse::softmax));
// BN on the input whose output the Add reads too: not folded into the dense layer.
inline constexpr auto bn_read_twice = nnfuse::sequential(
    nnfuse::input<6>, nnfuse::batch_norm(), nnfuse::residual(nnfuse::dense<6>()), nnfuse::dense<3>(nnfuse::softmax));
// BN heading a block on the input: its output feeds the dense layer alone, folded as on a chain.
inline constexpr auto bn_heads_block = nnfuse::sequential(
    nnfuse::input<6>, nnfuse::residual(nnfuse::batch_norm(), nnfuse::dense<6>()), nnfuse::dense<3>(nnfuse::softmax));
// Nested blocks around the same x; and a block ending in a nested block's Add.
inline constexpr auto nested_same_input =
    nnfuse::sequential(nnfuse::input<5>, nnfuse::dense<6>(nnfuse::relu),
                       nnfuse::residual(nnfuse::residual(nnfuse::dense<6>(nnfuse::relu)), nnfuse::dense<6>()),
                       nnfuse::dense<3>(nnfuse::softmax));
inline constexpr auto nested_at_end =
    nnfuse::sequential(nnfuse::input<5>, nnfuse::dense<6>(nnfuse::relu),
                       nnfuse::residual(nnfuse::dense<6>(nnfuse::relu), nnfuse::residual(nnfuse::dense<6>())),
                       nnfuse::dense<3>(nnfuse::softmax));
// A block of a reshape only: Add would sum x with itself.
inline constexpr auto empty_block = nnfuse::sequential(
    nnfuse::input<6>, nnfuse::dense<6>(), nnfuse::residual(nnfuse::reshape<6>()), nnfuse::dense<3>(nnfuse::softmax));

}  // namespace

TEST_CASE("describe: each layer's inputs, the Add reading the block's last layer and x's producer",
          "[codegen][residual]") {
    const auto layers = cg::describe(test_models::residual_mlp);
    REQUIRE(layers.size() == 5);
    CHECK(layers[0].inputs == std::vector<std::size_t>{nnfuse::model_input});
    CHECK(layers[2].inputs == std::vector<std::size_t>{1});
    CHECK(layers[3].name == "add");
    CHECK(layers[3].keras_class == "Add");
    CHECK(layers[3].as<cg::add_parameters>() != nullptr);
    CHECK(layers[3].inputs == std::vector<std::size_t>{2, 0});
    CHECK(layers[3].variables.empty());
    CHECK(layers[4].inputs == std::vector<std::size_t>{3});
}

TEST_CASE("a residual block of dense layers: the Add per chunk, x's gradient summed after the block's first step",
          "[codegen][residual]") {
    const auto layers = cg::describe(test_models::residual_mlp);
    const cg::model_plan plan = plan_of(test_models::residual_mlp, layers);
    const auto& t = plan.train_batch;

    const cg::statement& add = t[index_of(t, "add.forward")];
    CHECK(add.when == cg::phase::per_chunk);
    CHECK(callee(plan, add) == "add_fwd_f32_n8");
    CHECK(names(add.inputs()) == strings{"out_dense_2", "out_dense"});
    CHECK(names(add.outputs()) == strings{"out_add"});
    CHECK(index_of(t, "dense_2.forward") < index_of(t, "add.forward"));
    CHECK(index_of(t, "add.forward") < index_of(t, "dense_3.forward"));
    CHECK(step_of(plan, "add").skip_in == step_of(plan, "dense").out);

    // dy reaches the block's last layer with no statement: its output's gradient is the Add's.
    CHECK(argument_for(t[index_of(t, "dense_2.backward")], "dy").target->name == "grad_out_add");
    CHECK(argument_for(t[index_of(t, "dense_3.backward")], "dx").target->name == "grad_out_add");
    CHECK_FALSE(contains(names(plan.arena), "grad_out_dense_2"));
    // x's gradient: the block's first layer writes it, the sum adds the Add's dy in place, then dense reads it.
    const std::size_t sum_at = index_of(t, "add.gradient_sum");
    CHECK(sum_at == index_of(t, "dense_1.backward") + 1);
    CHECK(sum_at + 1 == index_of(t, "dense.backward"));
    const cg::statement& sum = t[sum_at];
    CHECK(sum.when == cg::phase::per_chunk);
    CHECK(callee(plan, sum) == "add_fwd_f32_n8");
    CHECK(names(sum.inputs()) == strings{"grad_out_dense", "grad_out_add"});
    CHECK(names(sum.outputs()) == strings{"grad_out_dense"});
    CHECK(argument_for(t[index_of(t, "dense_1.backward")], "dx").target->name == "grad_out_dense");
    CHECK(argument_for(t[index_of(t, "dense.backward")], "dy").target->name == "grad_out_dense");
    CHECK(argument_for(t[index_of(t, "dense.backward")], "dx").text == "nullptr");
    // Every training statement is per chunk: several processes can train it.
    CHECK(plan.trains_over_processes);
    // Inference adds too.
    const auto& infer = plan.forward_infer;
    CHECK(names(infer[index_of(infer, "add.infer")].inputs()) == strings{"out_dense_2", "out_dense"});
}

TEST_CASE("a residual block of convolutions: BN with elu inside, x's gradient summed after the first conv2d",
          "[codegen][residual]") {
    const auto layers = cg::describe(test_models::residual_cnn);
    const cg::model_plan plan = plan_of(test_models::residual_cnn, layers);
    const auto& t = plan.train_batch;
    CHECK(step_of(plan, "batch_normalization").activation == nnfuse::activation_kind::elu);
    const cg::statement& add = t[index_of(t, "add.forward")];
    CHECK(callee(plan, add) == "add_fwd_f32_n144");
    CHECK(names(add.inputs()) == strings{"out_conv2d_2", "out_conv2d"});
    CHECK(argument_for(t[index_of(t, "conv2d_2.backward")], "dy").target->name == "grad_out_add");
    const std::size_t sum_at = index_of(t, "add.gradient_sum");
    CHECK(sum_at == index_of(t, "conv2d_1.backward") + 1);
    CHECK(sum_at + 1 == index_of(t, "conv2d.backward"));
    CHECK(names(t[sum_at].outputs()) == strings{"grad_out_conv2d"});
    CHECK(index_of(t, "batch_normalization.backward") < index_of(t, "conv2d_1.backward"));
    CHECK(argument_for(t[index_of(t, "conv2d.backward")], "dx").text == "nullptr");
    // Inference can stop before the BN inside the block (population statistics): the block's first conv2d, into which
    // inference folds that BN, then runs unfolded and is the last statement.
    const auto& infer = plan.forward_infer;
    const std::size_t unfolded = index_of(infer, "conv2d_1.infer_unfolded");
    CHECK(infer[unfolded].only_stopping_before_bn == std::optional<std::size_t>(0));
    CHECK(unfolded < index_of(infer, "add.infer"));

    const auto files = cg::render(codegen_test::request_for("residual_cnn"), layers, plan);
    CHECK(files.kernels.find("#include \"runtime/kernels/add-inl.h\"") != std::string::npos);
    CHECK(files.kernels.find("kernels::AddForward<144>") != std::string::npos);
}

TEST_CASE("residual blocks and fusions that assume a chain", "[codegen][residual]") {
    SECTION("an activation reading x stays its own step; one before the residual is applied by dense") {
        const auto heads = cg::describe(activation_heads_block);
        const cg::model_plan head_plan = plan_of(activation_heads_block, heads);
        CHECK(step_of(head_plan, "dense").activation == nnfuse::activation_kind::linear);
        CHECK(step_of(head_plan, "activation").activation == nnfuse::activation_kind::relu);
        CHECK(names(head_plan.train_batch[index_of(head_plan.train_batch, "add.forward")].inputs()) ==
              strings{"out_dense_1", "out_dense"});
        CHECK(index_of(head_plan.train_batch, "add.gradient_sum") ==
              index_of(head_plan.train_batch, "activation.backward") + 1);

        const auto before = cg::describe(activation_before_block);
        const cg::model_plan before_plan = plan_of(activation_before_block, before);
        CHECK(step_of(before_plan, "dense").activation == nnfuse::activation_kind::relu);
        CHECK(names(before_plan.train_batch[index_of(before_plan.train_batch, "add.forward")].inputs()) ==
              strings{"out_dense_1", "out_dense"});
    }
    SECTION("x is the model's input: no gradient to sum; the pixels widened for the Add") {
        const auto layers = cg::describe(block_on_input);
        const cg::model_plan plan = plan_of(block_on_input, layers);
        CHECK_FALSE(has_statement(plan.train_batch, "add.gradient_sum"));
        CHECK(names(plan.train_batch[index_of(plan.train_batch, "add.forward")].inputs()) ==
              strings{"out_dense_1", "x"});
        CHECK_FALSE(plan.trains_from_pixels);
    }
    SECTION("BN folded into dense only when dense alone reads its output") {
        const auto twice = cg::describe(bn_read_twice);
        const cg::model_plan twice_plan = plan_of(bn_read_twice, twice);
        CHECK_FALSE(step_of(twice_plan, "batch_normalization").folded_into.has_value());
        CHECK(names(twice_plan.train_batch[index_of(twice_plan.train_batch, "add.forward")].inputs()) ==
              strings{"out_dense", "out_batch_normalization"});

        const auto heads = cg::describe(bn_heads_block);
        const cg::model_plan heads_plan = plan_of(bn_heads_block, heads);
        CHECK(step_of(heads_plan, "batch_normalization").folded_into.has_value());
        CHECK(names(heads_plan.train_batch[index_of(heads_plan.train_batch, "add.forward")].inputs()) ==
              strings{"out_dense", "x"});
    }
    SECTION("nested blocks around one x: both Adds' dy summed into its gradient, in order") {
        const auto layers = cg::describe(nested_same_input);
        const cg::model_plan plan = plan_of(nested_same_input, layers);
        const auto& t = plan.train_batch;
        CHECK(index_of(t, "add.gradient_sum") == index_of(t, "dense_1.backward") + 1);
        CHECK(index_of(t, "add_1.gradient_sum") == index_of(t, "add.gradient_sum") + 1);
        CHECK(index_of(t, "add_1.gradient_sum") + 1 == index_of(t, "dense.backward"));
        CHECK(names(t[index_of(t, "add_1.gradient_sum")].inputs()) == strings{"grad_out_dense", "grad_out_add_1"});
    }
    SECTION("a block ending in a nested block's Add: the outer Add's dy reaches the nested block") {
        const auto layers = cg::describe(nested_at_end);
        const cg::model_plan plan = plan_of(nested_at_end, layers);
        const auto& t = plan.train_batch;
        CHECK(argument_for(t[index_of(t, "dense_2.backward")], "dy").target->name == "grad_out_add_1");
        CHECK(names(t[index_of(t, "add.gradient_sum")].inputs()) == strings{"grad_out_dense_1", "grad_out_add_1"});
        CHECK(names(t[index_of(t, "add_1.gradient_sum")].inputs()) == strings{"grad_out_dense", "grad_out_add_1"});
    }
    SECTION("a block that computes nothing is refused, naming its Add") {
        const auto layers = cg::describe(empty_block);
        CHECK_THROWS_WITH(plan_of(empty_block, layers),
                          Catch::Contains("layer 'add'") && Catch::Contains("computes nothing"));
    }
}

namespace {

// The block's last layer applies elu: its backward scales dy in place, so it gets a copy of the Add's dy.
inline constexpr auto block_ends_in_activation =
    nnfuse::sequential(nnfuse::input<5>, nnfuse::dense<6>(nnfuse::relu),
                       nnfuse::residual(nnfuse::dense<6>(nnfuse::elu)), nnfuse::dense<3>(nnfuse::softmax));

}  // namespace

TEST_CASE("a block whose last step scales dy in place gets a copy of the Add's dy", "[codegen][residual]") {
    const auto layers = cg::describe(block_ends_in_activation);
    const cg::model_plan plan = plan_of(block_ends_in_activation, layers);
    const auto& t = plan.train_batch;
    const cg::statement& copy = t[index_of(t, "add.gradient_copy")];
    CHECK(copy.when == cg::phase::per_chunk);
    CHECK(names(copy.inputs()) == strings{"grad_out_add"});
    CHECK(names(copy.outputs()) == strings{"grad_out_dense_1"});
    CHECK(index_of(t, "dense_2.backward") < index_of(t, "add.gradient_copy"));
    CHECK(index_of(t, "add.gradient_copy") + 1 == index_of(t, "dense_1.backward"));
    CHECK(index_of(t, "dense_1.backward") + 1 == index_of(t, "add.gradient_sum"));
    CHECK(names(t[index_of(t, "add.gradient_sum")].inputs()) == strings{"grad_out_dense", "grad_out_add"});
}
