// Part of troupe. See LICENSE at the repository root.

#include <troupe/net/detail/codec.hpp>

#include <algorithm>
#include <mutex>
#include <set>

namespace troupe::net {
namespace {

using type_entry = std::pair<std::string, std::uint32_t>;

struct type_table {
    std::mutex mutex;
    std::set<type_entry> entries; // guarded by mutex
};

// A function-local static: registrations run from other translation units'
// static initialisers, in an order nobody controls.
type_table& table() {
    static type_table t;
    return t;
}

} // namespace

bool detail::register_wire_type(std::string_view name, std::uint32_t version) noexcept {
    auto& t = table();
    const std::lock_guard lock(t.mutex);
    // A registration runs during static initialisation, where there is nobody to report a
    // failed allocation to: std::terminate (noexcept) is the honest outcome.
    t.entries.emplace(std::string(name), version);
    return true;
}

namespace detail {
namespace {

// The validation pass: msgpack's parser walks the payload without building
// anything, and this visitor stops it at the first header that breaks a
// limit. Every array element needs at least one byte and every map pair two,
// so a sum of announced elements above the payload's size means the payload
// lies about its shape; no allocation follows from what a header announces.
class limits_visitor : public msgpack::null_visitor {
public:
    limits_visitor(const decode_limits& limits, std::size_t payload_size) noexcept
        : limits_(limits), budget_(std::min(payload_size, limits.max_elements)) {}

    bool visit_str(const char* /*v*/, std::uint32_t size) {
        return blob(size, "a string longer than max_string");
    }
    bool visit_bin(const char* /*v*/, std::uint32_t size) {
        return blob(size, "a byte string longer than max_string");
    }
    bool visit_ext(const char* /*v*/, std::uint32_t size) {
        return blob(size, "an ext value longer than max_string");
    }
    bool start_array(std::uint32_t n) {
        return open(n, "an array announcing more elements than the payload holds");
    }
    bool start_map(std::uint32_t n) {
        return open(2 * std::uint64_t{n}, "a map announcing more pairs than the payload holds");
    }
    bool end_array() { return close(); }
    bool end_map() { return close(); }
    void parse_error(std::size_t /*parsed*/, std::size_t /*error*/) { why_ = "not msgpack"; }
    void insufficient_bytes(std::size_t /*parsed*/, std::size_t /*error*/) { why_ = "truncated"; }

    [[nodiscard]] const char* why() const noexcept { return why_; }

private:
    bool blob(std::uint32_t size, const char* why) {
        if (size > limits_.max_string) {
            why_ = why;
            return false;
        }
        return true;
    }
    // "Holds" counts max_elements too: the budget is the smaller of the two.
    bool open(std::uint64_t elements, const char* why) {
        if (++depth_ > limits_.max_depth) {
            why_ = "nested deeper than max_depth";
            return false;
        }
        announced_ += elements;
        if (announced_ > budget_) {
            why_ = why;
            return false;
        }
        return true;
    }
    bool close() {
        --depth_;
        return true;
    }

    const decode_limits& limits_;
    std::uint64_t budget_;
    std::uint64_t announced_ = 0;
    std::size_t depth_ = 0;
    const char* why_ = "not msgpack";
};

// Strings, byte strings and exts refer into the payload instead of being
// copied into the zone: the handle lives no longer than the payload.
bool refer_to_payload(msgpack::type::object_type /*type*/, std::size_t /*size*/,
                      void* /*user_data*/) {
    return true;
}

} // namespace

std::size_t zone_chunk_size(std::size_t size) noexcept {
    constexpr std::size_t smallest = 256;
    constexpr std::size_t largest = MSGPACK_ZONE_CHUNK_SIZE;
    return std::clamp(size * sizeof(msgpack::object), smallest, largest);
}

expected<msgpack::object> unpack(byte_view in, const decode_limits& limits, msgpack::zone& zone) {
    const auto* data = reinterpret_cast<const char*>(in.data()); // NOLINT: msgpack reads chars
    limits_visitor check(limits, in.size());
    std::size_t off = 0;
    try {
        if (!msgpack::parse(data, in.size(), off, check)) {
            return fail(errc::malformed, std::string("payload refused: ") + check.why());
        }
    } catch (const std::exception& e) { // the parser throws on some malformed headers
        return fail(errc::malformed, std::string("payload refused: ") + e.what());
    }
    if (off != in.size()) {
        return fail(errc::malformed,
                    "payload refused: " + std::to_string(in.size() - off) + " trailing bytes");
    }
    // The pass above bounds everything; msgpack's own limits repeat the depth
    // and size checks as a second line.
    const msgpack::unpack_limit unpack_limits(limits.max_elements, limits.max_elements,
                                              limits.max_string, limits.max_string,
                                              limits.max_string, limits.max_depth);
    try {
        off = 0;
        bool referenced = false;
        return msgpack::unpack(zone, data, in.size(), off, referenced, refer_to_payload, nullptr,
                               unpack_limits);
    } catch (const std::exception& e) {
        return fail(errc::malformed, std::string("payload refused: ") + e.what());
    }
}

std::vector<type_entry> registered_types() {
    auto& t = table();
    const std::lock_guard lock(t.mutex);
    return {t.entries.begin(), t.entries.end()};
}

std::uint64_t hash_type_table(std::vector<type_entry> entries) {
    std::sort(entries.begin(), entries.end());
    constexpr std::uint64_t fnv_offset = 14695981039346656037ULL;
    constexpr std::uint64_t fnv_prime = 1099511628211ULL;
    std::uint64_t h = fnv_offset;
    const auto mix = [&h](std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) {
            h = (h ^ ((v >> (8 * i)) & 0xffU)) * fnv_prime;
        }
    };
    for (const auto& [name, version] : entries) {
        mix(name.size(), 4);
        for (const char c : name) {
            mix(static_cast<unsigned char>(c), 1);
        }
        mix(version, 4);
    }
    return h;
}

std::uint64_t type_table_hash() { return hash_type_table(registered_types()); }

} // namespace detail
} // namespace troupe::net
