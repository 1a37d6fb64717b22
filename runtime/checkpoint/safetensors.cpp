// safetensors reading and writing (see safetensors.hpp). Every number read from a file is checked before
// it is used as a size or an offset; the JSON is parsed by nlohmann/json with a callback that refuses
// duplicate keys (nlohmann would silently keep the last) and nesting the format does not have.
#include "runtime/checkpoint/safetensors.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "runtime/checkpoint/checkpoint_error.hpp"

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian; nnfuse copies it without swapping bytes");

namespace nnfuse {

namespace {

using json = nlohmann::json;

constexpr std::string_view metadata_key = "__metadata__";

struct dtype_entry {
    std::string_view name;
    std::size_t bits;
};

// safetensors/src/tensor.rs, enum Dtype.
constexpr dtype_entry dtypes[] = {
    {"BOOL", 8},        {"U8", 8},          {"I8", 8},      {"F8_E5M2", 8}, {"F8_E4M3", 8}, {"F8_E8M0", 8},
    {"F8_E4M3FNUZ", 8}, {"F8_E5M2FNUZ", 8}, {"I16", 16},    {"U16", 16},    {"F16", 16},    {"BF16", 16},
    {"I32", 32},        {"U32", 32},        {"F32", 32},    {"C64", 64},    {"F64", 64},    {"I64", 64},
    {"U64", 64},        {"F4", 4},          {"F6_E2M3", 6}, {"F6_E3M2", 6},
};

[[noreturn]] void fail(const std::string& source, std::string_view problem) {
    throw checkpoint_error(fmt::format("{}: {}", source, problem));
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF. Returns the offset of
// the first bad byte, or npos.
std::size_t first_invalid_utf8(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t length = 0;
        unsigned char low = 0x80, high = 0xBF;  // allowed range of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            length = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            length = 3;
            if (c == 0xE0) low = 0xA0;   // overlong
            if (c == 0xED) high = 0x9F;  // surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            length = 4;
            if (c == 0xF0) low = 0x90;   // overlong
            if (c == 0xF4) high = 0x8F;  // above U+10FFFF
        } else {
            return i;
        }
        if (n - i < length) return i;
        if (s[i + 1] < low || s[i + 1] > high) return i;
        for (std::size_t k = 2; k < length; ++k)
            if ((s[i + k] & 0xC0) != 0x80) return i;
        i += length;
    }
    return std::string_view::npos;
}

std::uint64_t read_u64_le(std::string_view bytes) {
    std::uint64_t value = 0;
    for (std::size_t k = 0; k < 8; ++k) value |= std::uint64_t{static_cast<unsigned char>(bytes[k])} << (8 * k);
    return value;
}

std::string shape_text(const std::vector<std::uint64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// The header's JSON, refusing duplicate keys and anything nested deeper than the format's
// {"name": {"shape": [1, 2]}}.
json parse_header(const std::string& source, std::string_view header) {
    std::vector<std::set<std::string>> open_objects;
    int depth = 0;
    const json::parser_callback_t guard = [&](int, json::parse_event_t event, json& parsed) {
        switch (event) {
            case json::parse_event_t::object_start:
            case json::parse_event_t::array_start:
                if (++depth > 3) fail(source, "header nests objects or arrays deeper than safetensors allows");
                if (event == json::parse_event_t::object_start) open_objects.emplace_back();
                break;
            case json::parse_event_t::object_end:
                open_objects.pop_back();
                --depth;
                break;
            case json::parse_event_t::array_end:
                --depth;
                break;
            case json::parse_event_t::key: {
                const auto& key = parsed.get_ref<const std::string&>();
                if (!open_objects.back().insert(key).second) {
                    fail(source, depth == 1 ? fmt::format("duplicate tensor name `{}` in the header", key)
                                            : fmt::format("duplicate key \"{}\" in the header", key));
                }
                break;
            }
            case json::parse_event_t::value:
                break;
        }
        return true;
    };
    try {
        return json::parse(header.begin(), header.end(), guard);
    } catch (const json::exception& error) {
        fail(source, fmt::format("header is not valid JSON ({})", error.what()));
    }
}

std::uint64_t unsigned_integer(const std::string& source, const std::string& tensor, std::string_view field,
                               const json& value) {
    if (!value.is_number_unsigned()) {
        fail(source, fmt::format("tensor `{}`: {} holds {}, not a non-negative integer", tensor, field, value.dump()));
    }
    return value.get<std::uint64_t>();
}

safetensors_tensor parse_tensor(const std::string& source, const std::string& name, const json& info) {
    if (name.empty()) fail(source, "a tensor has an empty name");
    if (!info.is_object())
        fail(source, fmt::format("tensor `{}`: expected an object, found {}", name, info.type_name()));
    for (const auto& [key, value] : info.items()) {
        if (key != "dtype" && key != "shape" && key != "data_offsets") {
            fail(source, fmt::format("tensor `{}`: unknown field \"{}\"", name, key));
        }
    }
    for (const char* field : {"dtype", "shape", "data_offsets"}) {
        if (!info.contains(field)) fail(source, fmt::format("tensor `{}`: missing \"{}\"", name, field));
    }
    safetensors_tensor tensor;
    const json& dtype = info["dtype"];
    if (!dtype.is_string()) fail(source, fmt::format("tensor `{}`: dtype is not a string", name));
    tensor.dtype = dtype.get<std::string>();
    const std::size_t bits = safetensors_dtype_bits(tensor.dtype);
    if (bits == 0) fail(source, fmt::format("tensor `{}`: unknown dtype \"{}\"", name, tensor.dtype));

    const json& shape = info["shape"];
    if (!shape.is_array()) fail(source, fmt::format("tensor `{}`: shape is not an array", name));
    std::uint64_t elements = 1;
    for (const json& dim : shape) {
        tensor.shape.push_back(unsigned_integer(source, name, "shape", dim));
        if (__builtin_mul_overflow(elements, tensor.shape.back(), &elements)) {
            fail(source, fmt::format("tensor `{}`: shape {}... has more elements than 64 bits can count", name,
                                     shape_text(tensor.shape)));
        }
    }
    std::uint64_t total_bits = 0;
    if (__builtin_mul_overflow(elements, std::uint64_t{bits}, &total_bits)) {
        fail(source, fmt::format("tensor `{}`: shape {} of {} overflows a 64-bit byte count", name,
                                 shape_text(tensor.shape), tensor.dtype));
    }
    if (total_bits % 8 != 0) {
        fail(source, fmt::format("tensor `{}`: {} elements of {} ({} bits each) do not fill whole bytes", name,
                                 elements, tensor.dtype, bits));
    }

    const json& offsets = info["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2) {
        fail(source, fmt::format("tensor `{}`: data_offsets must be [begin, end]", name));
    }
    tensor.begin = unsigned_integer(source, name, "data_offsets", offsets[0]);
    tensor.end = unsigned_integer(source, name, "data_offsets", offsets[1]);
    if (tensor.begin > tensor.end) {
        fail(source,
             fmt::format("tensor `{}`: data_offsets [{}, {}] end before they begin", name, tensor.begin, tensor.end));
    }
    if (tensor.end - tensor.begin != total_bits / 8) {
        fail(source, fmt::format("tensor `{}`: data_offsets [{}, {}] hold {} bytes, but shape {} of {} needs {}", name,
                                 tensor.begin, tensor.end, tensor.end - tensor.begin, shape_text(tensor.shape),
                                 tensor.dtype, total_bits / 8));
    }
    return tensor;
}

}  // namespace

std::size_t safetensors_dtype_bits(std::string_view dtype) {
    for (const auto& entry : dtypes)
        if (entry.name == dtype) return entry.bits;
    return 0;
}

safetensors_file safetensors_file::parse(std::string bytes, std::string source) {
    if (bytes.size() < 8) {
        fail(source,
             fmt::format("file of {} bytes is too short for a safetensors header length (8 bytes)", bytes.size()));
    }
    const std::uint64_t header_length = read_u64_le(bytes);
    if (header_length > safetensors_max_header_bytes) {
        fail(source, fmt::format("header length {} is over the limit of {} bytes", header_length,
                                 safetensors_max_header_bytes));
    }
    if (header_length > bytes.size() - 8) {
        fail(source, fmt::format("header length {} runs past the end of the file ({} bytes after the length)",
                                 header_length, bytes.size() - 8));
    }
    const std::string_view header = std::string_view(bytes).substr(8, header_length);
    if (const std::size_t bad = first_invalid_utf8(header); bad != std::string_view::npos) {
        fail(source, fmt::format("header is not valid UTF-8 (byte {} of the header)", bad));
    }
    if (header.empty() || header.front() != '{') fail(source, "header does not start with '{'");
    const json root = parse_header(source, header);

    safetensors_file file;
    for (const auto& [name, info] : root.items()) {
        if (name == metadata_key) {
            if (!info.is_object()) fail(source, "__metadata__ is not an object of strings");
            for (const auto& [key, value] : info.items()) {
                if (!value.is_string()) {
                    fail(source, fmt::format("__metadata__ \"{}\" holds {}, not a string", key, value.type_name()));
                }
                file.metadata_.emplace(key, value.get<std::string>());
            }
            continue;
        }
        file.tensors_.emplace(name, parse_tensor(source, name, info));
    }

    // The buffer must be tiled exactly: sorted by offsets, each tensor starts where the previous ended.
    const std::uint64_t buffer_size = bytes.size() - 8 - header_length;
    std::vector<std::pair<const std::string*, const safetensors_tensor*>> order;
    for (const auto& [name, tensor] : file.tensors_) {
        if (tensor.end > buffer_size) {
            fail(source, fmt::format("tensor `{}`: data_offsets [{}, {}] run past the end of the data ({} bytes)", name,
                                     tensor.begin, tensor.end, buffer_size));
        }
        order.emplace_back(&name, &tensor);
    }
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return std::pair(a.second->begin, a.second->end) < std::pair(b.second->begin, b.second->end);
    });
    std::uint64_t covered = 0;
    const std::string* previous = nullptr;
    for (const auto& [name, tensor] : order) {
        if (tensor->begin < covered) {
            fail(source, fmt::format("tensor `{}`: data_offsets [{}, {}] overlap tensor `{}` (which ends at {})", *name,
                                     tensor->begin, tensor->end, *previous, covered));
        }
        if (tensor->begin > covered) {
            fail(source, fmt::format("tensor `{}`: data_offsets [{}, {}] leave a gap of {} bytes after {}", *name,
                                     tensor->begin, tensor->end, tensor->begin - covered,
                                     previous ? fmt::format("tensor `{}`", *previous) : "the start of the data"));
        }
        covered = tensor->end;
        previous = name;
    }
    if (covered != buffer_size) {
        fail(source, fmt::format("{} trailing bytes after the last tensor (the data holds {} bytes, the tensors {})",
                                 buffer_size - covered, buffer_size, covered));
    }

    file.source_ = std::move(source);
    file.bytes_ = std::move(bytes);
    file.buffer_start_ = 8 + static_cast<std::size_t>(header_length);
    return file;
}

safetensors_file read_safetensors(const std::filesystem::path& path) {
    const std::string source = path.string();
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below like any non-file.
    const int fd = ::open(source.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) fail(source, fmt::format("cannot open ({})", std::strerror(errno)));
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } close_at_exit{fd};
    struct stat info {};
    if (::fstat(fd, &info) != 0) fail(source, fmt::format("cannot stat ({})", std::strerror(errno)));
    if (!S_ISREG(info.st_mode)) fail(source, "not a regular file");
    std::string bytes(static_cast<std::size_t>(info.st_size), '\0');
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) fail(source, fmt::format("read error ({})", std::strerror(errno)));
        if (got == 0) fail(source, fmt::format("file shrank while being read ({} of {} bytes)", done, bytes.size()));
        done += static_cast<std::size_t>(got);
    }
    return safetensors_file::parse(std::move(bytes), source);
}

std::string serialize_safetensors(std::span<const tensor_to_write> tensors,
                                  const std::map<std::string, std::string>& metadata) {
    struct placed {
        const tensor_to_write* tensor;
        std::size_t bits;
    };
    std::vector<placed> order;
    std::set<std::string_view> names;
    for (const tensor_to_write& t : tensors) {
        if (t.name.empty() || t.name == metadata_key) {
            throw std::invalid_argument(fmt::format("safetensors: invalid tensor name \"{}\"", t.name));
        }
        if (!names.insert(t.name).second) {
            throw std::invalid_argument(fmt::format("safetensors: duplicate tensor name `{}`", t.name));
        }
        const std::size_t bits = safetensors_dtype_bits(t.dtype);
        if (bits == 0)
            throw std::invalid_argument(fmt::format("safetensors: tensor `{}`: unknown dtype {}", t.name, t.dtype));
        std::uint64_t elements = 1;
        for (std::uint64_t d : t.shape) elements *= d;
        if (elements * bits != t.bytes.size() * 8) {
            throw std::invalid_argument(fmt::format("safetensors: tensor `{}`: {} bytes for shape {} of {}", t.name,
                                                    t.bytes.size(), shape_text(t.shape), t.dtype));
        }
        order.push_back({&t, bits});
    }
    std::sort(order.begin(), order.end(), [](const placed& a, const placed& b) {
        return a.bits != b.bits ? a.bits > b.bits : a.tensor->name < b.tensor->name;
    });

    json header = json::object();
    if (!metadata.empty()) header[metadata_key] = metadata;
    std::uint64_t offset = 0;
    for (const placed& p : order) {
        const tensor_to_write& t = *p.tensor;
        header[t.name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.bytes.size()}}};
        offset += t.bytes.size();
    }
    std::string text = header.dump();  // throws on invalid UTF-8 in a name or value
    text.append((8 - text.size() % 8) % 8, ' ');
    if (text.size() > safetensors_max_header_bytes) {
        throw std::invalid_argument(fmt::format("safetensors: header of {} bytes is over the {} byte limit",
                                                text.size(), safetensors_max_header_bytes));
    }

    std::string out;
    out.reserve(8 + text.size() + offset);
    for (std::size_t k = 0; k < 8; ++k) out.push_back(static_cast<char>((text.size() >> (8 * k)) & 0xFF));
    out += text;
    for (const placed& p : order)
        out.append(reinterpret_cast<const char*>(p.tensor->bytes.data()), p.tensor->bytes.size());
    return out;
}

}  // namespace nnfuse
