// NPY reading: the preamble and header dict parsed here (a dozen lines of grammar, see npy.hpp), the bytes through
// gz_reader. The header is parsed by a small reader of ours rather than xtensor's xnpy: it is a tiny Python dict
// literal, and xtensor would bring a large template library for it whose errors do not name file and byte.
#include "runtime/data/npy.hpp"

#include "runtime/data/data_format_error.hpp"
#include "runtime/data/gz_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <optional>
#include <string_view>
#include <variant>

namespace nnfuse {
namespace {

static_assert(std::endian::native == std::endian::little, "the NPY reader assumes a little-endian machine");

constexpr std::uint32_t npy_max_header_bytes = 1U << 20;
constexpr std::string_view npy_magic = "\x93NUMPY";

struct list_value {};  // a structured dtype's descr: recognised only to name it
using header_value = std::variant<std::string, bool, std::vector<std::uint64_t>, list_value>;

// A recursive-descent reader of the header dict: {'key': value, ...} with string, True/False, a tuple of
// integers or a list (skipped) as values; whitespace anywhere between tokens, a trailing comma allowed.
class header_parser {
public:
    header_parser(const gz_reader& in, std::string_view text) : in_(in), text_(text) {}

    std::vector<std::pair<std::string, header_value>> parse() {
        std::vector<std::pair<std::string, header_value>> items;
        expect('{');
        while (true) {
            skip_space();
            if (peek() == '}') break;
            std::string key = parse_string();
            expect(':');
            header_value value = parse_value();
            items.emplace_back(std::move(key), std::move(value));
            skip_space();
            if (peek() == ',') {
                ++at_;
                continue;
            }
            if (peek() != '}') fail("',' or '}'");
        }
        ++at_;
        skip_space();
        if (at_ != text_.size()) fail("the end of the header after '}'");
        return items;
    }

private:
    char peek() const { return at_ < text_.size() ? text_[at_] : '\0'; }
    void skip_space() {
        while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\t')) ++at_;
    }
    void expect(char c) {
        skip_space();
        if (peek() != c) fail(fmt::format("'{}'", c));
        ++at_;
    }

    [[noreturn]] void fail(std::string_view expected) const {
        const std::string found = at_ < text_.size() ? quoted_cell(text_.substr(at_, 12)) : "the end";
        in_.fail(fmt::format("malformed NPY header dict: expected {} at byte {} of the header, found {} (header: {})",
                             expected, at_ + 1, found, quoted_cell(text_)));
    }

    std::string parse_string() {
        skip_space();
        const char quote = peek();
        if (quote != '\'' && quote != '"') fail("a quoted string");
        const std::size_t end = text_.find(quote, at_ + 1);
        if (end == std::string_view::npos) fail("a closing quote");
        std::string value(text_.substr(at_ + 1, end - at_ - 1));
        if (value.find('\\') != std::string::npos) fail("a string without escapes");
        at_ = end + 1;
        return value;
    }

    header_value parse_value() {
        skip_space();
        const char c = peek();
        if (c == '\'' || c == '"') return parse_string();
        for (const bool flag : {true, false}) {
            const std::string_view word = flag ? "True" : "False";
            if (text_.substr(at_).starts_with(word)) {
                at_ += word.size();
                return flag;
            }
        }
        if (c == '(') return parse_tuple();
        if (c == '[') return skip_list();
        fail("a string, True, False, a tuple or a list");
    }

    std::vector<std::uint64_t> parse_tuple() {
        std::vector<std::uint64_t> items;
        ++at_;
        while (true) {
            skip_space();
            if (peek() == ')') break;
            if (peek() < '0' || peek() > '9') fail("a dimension (a non-negative integer) or ')'");
            std::uint64_t value = 0;
            while (peek() >= '0' && peek() <= '9') {
                if (value > (std::uint64_t{1} << 40)) fail("a dimension below 2^40");
                value = value * 10 + static_cast<std::uint64_t>(peek() - '0');
                ++at_;
            }
            if (peek() == 'L') ++at_;  // Python 2 wrote long integers with a suffix
            items.push_back(value);
            skip_space();
            if (peek() == ',') {
                ++at_;
                continue;
            }
            if (peek() != ')') fail("',' or ')'");
        }
        ++at_;
        return items;
    }

    list_value skip_list() {
        int depth = 0;
        do {
            const char c = peek();
            if (c == '\0' && at_ >= text_.size()) fail("a closing ']'");
            if (c == '\'' || c == '"') {
                parse_string();
                continue;
            }
            if (c == '[' || c == '(') ++depth;
            if (c == ']' || c == ')') --depth;
            ++at_;
        } while (depth > 0);
        return {};
    }

    const gz_reader& in_;
    std::string_view text_;
    std::size_t at_ = 0;
};

std::optional<npy_dtype> dtype_of(std::string_view kind) {
    if (kind == "f4") return npy_dtype::float32;
    if (kind == "f8") return npy_dtype::float64;
    if (kind == "i4") return npy_dtype::int32;
    if (kind == "i8") return npy_dtype::int64;
    if (kind == "u1") return npy_dtype::uint8;
    return std::nullopt;
}

std::string shape_text(const std::vector<std::size_t>& shape) {
    if (shape.size() == 1) return fmt::format("({},)", shape[0]);
    return fmt::format("({})", fmt::join(shape, ", "));
}

// Reads exactly `count` bytes or reports how many there were.
void read_exactly(gz_reader& in, void* destination, std::size_t count, std::string_view what) {
    const std::size_t got = in.read_some(destination, count);
    if (got < count) {
        in.fail(fmt::format("truncated {}: expected {} bytes, the file holds {}", what, count, got));
    }
}

}  // namespace

const char* npy_dtype_name(npy_dtype type) {
    switch (type) {
        case npy_dtype::float32:
            return "float32";
        case npy_dtype::float64:
            return "float64";
        case npy_dtype::int32:
            return "int32";
        case npy_dtype::int64:
            return "int64";
        case npy_dtype::uint8:
            return "uint8";
    }
    return "?";
}

std::size_t npy_item_size(npy_dtype type) {
    switch (type) {
        case npy_dtype::float32:
        case npy_dtype::int32:
            return 4;
        case npy_dtype::float64:
        case npy_dtype::int64:
            return 8;
        case npy_dtype::uint8:
            return 1;
    }
    return 1;
}

npy_array read_npy(const std::filesystem::path& file) {
    gz_reader in(file);
    std::array<unsigned char, 8> preamble{};
    const std::size_t got = in.read_some(preamble.data(), preamble.size());
    if (got == 0) in.fail("empty file, expected an NPY header");
    const std::string_view start(reinterpret_cast<const char*>(preamble.data()), got);
    if (!start.starts_with(npy_magic.substr(0, std::min(got, npy_magic.size())))) {
        in.fail(fmt::format("not an NPY file: it starts with {}, an NPY file with \"\\x93NUMPY\"{}",
                            quoted_cell(start.substr(0, std::min<std::size_t>(got, 6))),
                            start.starts_with("PK") ? " (this looks like a .npz zip archive: unzip it first)" : ""));
    }
    if (got < preamble.size()) in.fail(fmt::format("truncated header: the file ends after {} bytes", got));
    const unsigned major = preamble[6], minor = preamble[7];
    if ((major < 1 || major > 3) || minor != 0) {
        in.fail(fmt::format("NPY format version {}.{} is not supported (1.0, 2.0 and 3.0 are)", major, minor));
    }
    std::array<unsigned char, 4> length_bytes{};
    const std::size_t length_size = major == 1 ? 2 : 4;
    read_exactly(in, length_bytes.data(), length_size, "header length");
    std::uint32_t header_length = 0;
    for (std::size_t k = length_size; k-- > 0;) header_length = (header_length << 8) | length_bytes[k];
    if (header_length > npy_max_header_bytes) {
        in.fail(fmt::format("an NPY header of {} bytes is larger than the {} allowed", header_length,
                            npy_max_header_bytes));
    }
    std::string header(header_length, '\0');
    read_exactly(in, header.data(), header.size(), "header");

    bool have_descr = false, have_order = false, have_shape = false, fortran_order = false;
    std::string descr;
    std::vector<std::uint64_t> dims;
    for (auto& item : header_parser(in, header).parse()) {
        // Named references rather than a structured binding: clang 14 (the fuzz build) cannot capture those.
        const std::string& key = item.first;
        header_value& value = item.second;
        const auto duplicate = [&](bool& seen) {
            if (seen) in.fail(fmt::format("malformed NPY header dict: key '{}' appears twice", key));
            seen = true;
        };
        const auto wrong_type = [&](std::string_view expected) {
            in.fail(fmt::format("malformed NPY header dict: '{}' must be {} (header: {})", key, expected,
                                quoted_cell(header)));
        };
        if (key == "descr") {
            duplicate(have_descr);
            if (std::holds_alternative<list_value>(value)) {
                in.fail(
                    "unsupported dtype: a structured (record) dtype; expected float32, float64, int32, int64 "
                    "or uint8");
            }
            if (!std::holds_alternative<std::string>(value)) wrong_type("a string");
            descr = std::get<std::string>(value);
        } else if (key == "fortran_order") {
            duplicate(have_order);
            if (!std::holds_alternative<bool>(value)) wrong_type("True or False");
            fortran_order = std::get<bool>(value);
        } else if (key == "shape") {
            duplicate(have_shape);
            if (!std::holds_alternative<std::vector<std::uint64_t>>(value)) wrong_type("a tuple of integers");
            dims = std::get<std::vector<std::uint64_t>>(value);
        } else {
            in.fail(
                fmt::format("malformed NPY header dict: unexpected key {} (expected 'descr', 'fortran_order' "
                            "and 'shape')",
                            quoted_cell(key)));
        }
    }
    for (auto [seen, key] : {std::pair{have_descr, "descr"}, {have_order, "fortran_order"}, {have_shape, "shape"}}) {
        if (!seen) in.fail(fmt::format("malformed NPY header dict: no '{}' (header: {})", key, quoted_cell(header)));
    }

    const char order = descr.empty() ? '\0' : descr[0];
    const auto type = descr.size() == 3 ? dtype_of(std::string_view(descr).substr(1)) : std::nullopt;
    const bool order_known = order == '<' || order == '>' || order == '=' || (order == '|' && descr == "|u1");
    if (!type || !order_known) {
        in.fail(
            fmt::format("unsupported dtype {}: expected float32 ('<f4'), float64 ('<f8'), int32 ('<i4'), int64 "
                        "('<i8') or uint8 ('|u1'), little- or big-endian",
                        quoted_cell(descr)));
    }
    npy_array array;
    array.dtype = *type;
    const std::size_t item = npy_item_size(array.dtype);
    if (dims.empty() || dims.size() > 2) {
        in.fail(fmt::format("rank {} (shape ({})) is not supported: expected 1 or 2 dimensions", dims.size(),
                            fmt::join(dims, ", ")));
    }
    std::uint64_t payload = item;
    for (std::uint64_t d : dims) {
        // payload <= 2^31 before the multiplication and d <= 2^32, so the product cannot overflow.
        if (d > (std::uint64_t{1} << 32))
            in.fail(fmt::format("dimension {} in shape ({}) is absurd", d, fmt::join(dims, ", ")));
        payload *= d;
        if (payload > npy_max_payload_bytes) {
            in.fail(fmt::format("shape ({}) of {} describes more than the {} GiB limit of data", fmt::join(dims, ", "),
                                npy_dtype_name(array.dtype), npy_max_payload_bytes >> 30));
        }
    }
    array.shape.assign(dims.begin(), dims.end());

    // Grow the buffer as data arrives, so a tiny file whose header claims 2 GiB costs little memory.
    const auto expected = static_cast<std::size_t>(payload);
    constexpr std::size_t chunk = std::size_t{16} << 20;
    while (array.data.size() < expected) {
        const std::size_t before = array.data.size();
        array.data.resize(std::min(expected, before + chunk));
        const std::size_t read = in.read_some(array.data.data() + before, array.data.size() - before);
        if (before + read < array.data.size()) {
            in.fail(fmt::format("truncated data: shape {} of {} needs {} bytes after the header, the file holds {}",
                                shape_text(array.shape), npy_dtype_name(array.dtype), expected, before + read));
        }
    }
    std::array<unsigned char, 4096> scratch{};
    if (const std::size_t extra = in.read_some(scratch.data(), scratch.size()); extra > 0) {
        in.fail(
            fmt::format("{}{} bytes after the {} bytes of shape {} (a second array saved to the same file?); an "
                        "NPY file here holds one array",
                        extra == scratch.size() ? "at least " : "", extra, expected, shape_text(array.shape)));
    }

    if (order == '>' && item > 1) {
        for (std::size_t k = 0; k < array.data.size(); k += item) {
            std::reverse(array.data.begin() + static_cast<std::ptrdiff_t>(k),
                         array.data.begin() + static_cast<std::ptrdiff_t>(k + item));
        }
    }
    if (fortran_order && array.shape.size() == 2 && array.shape[0] > 1 && array.shape[1] > 1) {
        // Column-major [c * rows + r] to row-major [r * columns + c].
        const std::size_t rows = array.shape[0], columns = array.shape[1];
        std::vector<unsigned char> c_order(array.data.size());
        for (std::size_t r = 0; r < rows; ++r) {
            for (std::size_t c = 0; c < columns; ++c) {
                std::memcpy(&c_order[(r * columns + c) * item], &array.data[(c * rows + r) * item], item);
            }
        }
        array.data = std::move(c_order);
    }
    return array;
}

}  // namespace nnfuse
