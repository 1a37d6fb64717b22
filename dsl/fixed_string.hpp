// nnfuse::fixed_string: a short string built and compared at compile time.
//
// Layer and variable names ("dense_1", "batch_normalization/gamma:0") are computed in constexpr
// functions, which cannot allocate. A fixed_string holds up to `capacity` characters inline.
// requires: every append keeps size() <= capacity (checked: an overflow is not a constant expression).
// ensures:  view() is the text appended so far; equal texts compare equal.
#pragma once

#include <cstddef>
#include <string_view>

namespace nnfuse {

struct fixed_string {
    static constexpr std::size_t capacity = 96;
    char chars[capacity + 1]{};
    std::size_t length = 0;

    constexpr fixed_string() = default;
    constexpr fixed_string(std::string_view text) { append(text); }

    constexpr fixed_string& append(std::string_view text) {
        for (char c : text) {
            if (length == capacity) throw "nnfuse::fixed_string: name longer than its capacity";
            chars[length++] = c;
        }
        chars[length] = '\0';
        return *this;
    }

    constexpr fixed_string& append_number(std::size_t value) {
        char digits[24]{};
        std::size_t count = 0;
        do {
            digits[count++] = static_cast<char>('0' + value % 10);
            value /= 10;
        } while (value != 0);
        while (count != 0) append(std::string_view(&digits[--count], 1));
        return *this;
    }

    constexpr std::string_view view() const { return {chars, length}; }
    constexpr std::size_t size() const { return length; }
    constexpr const char* c_str() const { return chars; }

    friend constexpr bool operator==(const fixed_string& a, const fixed_string& b) { return a.view() == b.view(); }
    friend constexpr bool operator==(const fixed_string& a, std::string_view b) { return a.view() == b; }
};

}  // namespace nnfuse
