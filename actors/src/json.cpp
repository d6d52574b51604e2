// Part of troupe. See LICENSE at the repository root.

#include "json.hpp"

namespace troupe::internal {

void append_json_string(std::string& out, std::string_view s) {
    constexpr std::string_view hex = "0123456789abcdef";
    out += '"';
    for (const char ch : s) {
        switch (ch) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (static_cast<unsigned char>(ch) < 0x20) {
                const auto v = static_cast<unsigned char>(ch);
                out += "\\u00";
                out += hex[v >> 4U];
                out += hex[v & 0xfU];
            } else {
                out += ch;
            }
        }
    }
    out += '"';
}

} // namespace troupe::internal
