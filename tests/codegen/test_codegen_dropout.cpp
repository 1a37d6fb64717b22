// The generator's plan for dropout layers, asserted on the typed statements: the mask's arguments (the chunk's first
// row in the batch, the Net's seed and step), the backward that recomputes it, the step advanced once after the whole
// backward, the identity in inference (no statement, its input read instead; a copy only where it makes the logits),
// and the Net's random state and kernel include only for models that draw random numbers.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "codegen/emit.hpp"
#include "codegen/model_description.hpp"
#include "codegen/plan.hpp"
#include "samples/fashion_mnist/model.hpp"
#include "tests/models/test_models.hpp"

namespace cg = nnfuse::codegen;

namespace {

const cg::statement& find_statement(const std::vector<cg::statement>& statements, const std::string& id) {
    const auto found =
        std::find_if(statements.begin(), statements.end(), [&](const cg::statement& s) { return s.id == id; });
    INFO(id);
    REQUIRE(found != statements.end());
    return *found;
}

bool has_statement(const std::vector<cg::statement>& statements, const std::string& id) {
    return std::any_of(statements.begin(), statements.end(), [&](const cg::statement& s) { return s.id == id; });
}

const cg::call& call_of(const cg::statement& s) {
    const auto* c = std::get_if<cg::call>(&s.action);
    REQUIRE(c != nullptr);
    return *c;
}

std::string callee(const cg::model_plan& plan, const cg::statement& s) {
    const cg::call& c = call_of(s);
    return c.kernel ? plan.kernels.at(*c.kernel).name : c.signature->function;
}

// The text argument passed for the parameter called `parameter`.
std::string argument_for(const cg::statement& s, const std::string& parameter) {
    const cg::call& c = call_of(s);
    for (std::size_t i = 0; i < c.arguments.size(); ++i) {
        if (c.signature->parameters[i].name == parameter) return c.arguments[i].text;
    }
    FAIL("no parameter " << parameter);
    return {};
}

std::vector<std::string> names(const std::vector<cg::storage>& list) {
    std::vector<std::string> out;
    for (const auto& s : list) out.push_back(s.name);
    return out;
}

bool names_storage(const cg::statement& s, const std::string& name) {
    const auto in = names(s.inputs()), out = names(s.outputs());
    return std::find(in.begin(), in.end(), name) != in.end() || std::find(out.begin(), out.end(), name) != out.end();
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

}  // namespace

TEST_CASE("dropout in training: the mask per chunk from the batch row, recomputed in backward", "[codegen][dropout]") {
    const auto layers = cg::describe(test_models::dropout_edges);
    REQUIRE(layers[1].as<cg::dropout_parameters>() != nullptr);
    CHECK(layers[1].as<cg::dropout_parameters>()->rate == 0.3);
    const auto plan = cg::make_plan(layers);
    CHECK(plan.draws_random_numbers);

    const auto& forward = find_statement(plan.train_batch, "dropout.forward");
    CHECK(forward.when == cg::phase::per_chunk);
    CHECK(callee(plan, forward) == "dropout_fwd_f32_n8");
    CHECK(names(forward.inputs()) == std::vector<std::string>{"out_dense"});  // elu's output stays intact
    CHECK(names(forward.outputs()) == std::vector<std::string>{"out_dropout"});
    CHECK(argument_for(forward, "first_row") == "begin");
    CHECK(argument_for(forward, "rate") == "0.3");
    CHECK(argument_for(forward, "seed") == "random_.seed");
    CHECK(argument_for(forward, "step") == "random_.step");

    const auto& backward = find_statement(plan.train_batch, "dropout.backward");
    CHECK(backward.when == cg::phase::per_chunk);
    CHECK(callee(plan, backward) == "dropout_bwd_f32_n8");
    CHECK(names(backward.inputs()) == std::vector<std::string>{"grad_out_dropout"});
    CHECK(names(backward.outputs()) == std::vector<std::string>{"grad_out_dense"});
    for (const char* parameter : {"first_row", "rate", "seed", "step"}) {
        CHECK(argument_for(backward, parameter) == argument_for(forward, parameter));
    }
    // rate 0 still a layer of its own in training (its kernel keeps every value, scale 1)
    CHECK(argument_for(find_statement(plan.train_batch, "dropout_1.forward"), "rate") == "0");
}

TEST_CASE("the random step advances once, after every use of it", "[codegen][dropout]") {
    const auto check = [](const auto& model) {
        const auto layers = cg::describe(model);
        const auto plan = cg::make_plan(layers);
        for (const auto* function : {&plan.train_batch, &plan.train_pixel_batch}) {
            const auto advances = std::count_if(function->begin(), function->end(),
                                                [](const cg::statement& s) { return s.id == "random.advance"; });
            CHECK(advances == 1);
            REQUIRE_FALSE(function->empty());
            CHECK(function->back().id == "random.advance");
            CHECK(function->back().when == cg::phase::whole_batch);
            CHECK(callee(plan, function->back()) == "nnfuse::advance_random_step");
        }
        CHECK_FALSE(has_statement(plan.forward_train, "random.advance"));  // forward alone takes no step
    };
    check(test_models::dropout_edges);
    check(test_models::dropout_mlp);
}

TEST_CASE("dropout on the model's input has no backward and makes train_pixel_batch widen", "[codegen][dropout]") {
    const auto layers = cg::describe(test_models::dropout_mlp);
    const auto plan = cg::make_plan(layers);
    const auto& forward = find_statement(plan.train_batch, "dropout.forward");
    CHECK(names(forward.inputs()) == std::vector<std::string>{"x"});
    CHECK_FALSE(has_statement(plan.train_batch, "dropout.backward"));
    CHECK(has_statement(plan.train_batch, "dropout_1.backward"));
    CHECK_FALSE(plan.trains_from_pixels);
    CHECK(names(find_statement(plan.train_pixel_batch, "dropout.forward").inputs()) ==
          std::vector<std::string>{"widened_input"});
}

TEST_CASE("dropout in inference is the identity: no statement, its input read instead", "[codegen][dropout]") {
    const auto layers = cg::describe(test_models::dropout_edges);
    const auto plan = cg::make_plan(layers);
    CHECK_FALSE(has_statement(plan.forward_infer, "dropout.infer"));
    CHECK_FALSE(has_statement(plan.forward_infer, "dropout_1.infer"));
    for (const auto& s : plan.forward_infer) {
        INFO(s.id);
        CHECK_FALSE(names_storage(s, "out_dropout"));
        CHECK_FALSE(names_storage(s, "out_dropout_1"));
    }
    // BN reads the dense layer's output; the next dense layer reads BN's
    CHECK(names(find_statement(plan.forward_infer, "batch_normalization.infer").inputs())[0] == "out_dense");
    CHECK(names(find_statement(plan.forward_infer, "dense_1.infer").inputs())[0] == "out_batch_normalization");
    // bn_input(0) in inference: the dropout's input
    REQUIRE(plan.bn_inputs.size() == 1);
    CHECK(plan.bn_inputs[0].second.name == "out_dense");
    // the last dropout makes the logits, which inference returns: copied there
    const auto& logits = find_statement(plan.forward_infer, "dropout_2.infer");
    CHECK(callee(plan, logits) == "dropout_infer_f32_n5");
    CHECK(names(logits.outputs()) == std::vector<std::string>{"out_dropout_2"});
    CHECK(plan.buffers[plan.output].activations.name == "out_dropout_2");
}

TEST_CASE("the random state and the dropout kernels only in a Net that draws random numbers", "[codegen][dropout]") {
    const auto with_layers = cg::describe(test_models::dropout_mlp);
    const auto with = cg::render(request_for("dropout_mlp"), with_layers, cg::make_plan(with_layers));
    CHECK(with.kernels.find("#include \"runtime/kernels/dropout-inl.h\"") != std::string::npos);
    CHECK(with.source.find("#include \"runtime/train/random_state.hpp\"") != std::string::npos);
    CHECK(with.header.find("randomness() override { return &random_; }") != std::string::npos);
    CHECK(with.header.find("nnfuse::random_state random_;") != std::string::npos);
    CHECK(with.header.find("\"dropout_1 (Dropout) (None, 32) rate=0.5\\n\"") != std::string::npos);

    const auto reference_layers = cg::describe(fashion_mnist::model);
    const auto reference_plan = cg::make_plan(reference_layers);
    CHECK_FALSE(reference_plan.draws_random_numbers);
    const auto reference = cg::render(request_for("fashion_mnist"), reference_layers, reference_plan);
    CHECK(reference.source.find("dropout") == std::string::npos);
    CHECK(reference.kernels.find("dropout") == std::string::npos);
    CHECK(reference.source.find("random") == std::string::npos);
    CHECK(reference.header.find("random") == std::string::npos);  // network::randomness() gives nullptr
}
