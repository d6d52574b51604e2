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

// Strings, byte strings and exts refer into the payload instead of being
// copied into the zone: the object lives no longer than the payload.
bool refer_to_payload(msgpack::type::object_type /*type*/, std::size_t /*size*/,
                      void* /*user_data*/) {
    return true;
}

// msgpack's object builder, with every header checked against the limits
// before the builder acts on it, in the one pass that builds the object.
// Every array element needs at least one byte and every map pair two, so a
// sum of announced elements above the payload's size means the payload lies
// about its shape: it is refused before the builder allocates for it, so
// what the builder allocates is bounded by the payload's size, whatever a
// header announces. (The parser calls these members through the visitor's
// static type: they hide the builder's, which run after the check.)
class checked_object_builder : public msgpack::v2::detail::create_object_visitor {
    using builder = msgpack::v2::detail::create_object_visitor;

public:
    checked_object_builder(const decode_limits& limits, std::size_t payload_size,
                           const msgpack::unpack_limit& second_line)
        : builder(refer_to_payload, nullptr, second_line), limits_(limits),
          budget_(std::min(payload_size, limits.max_elements)) {}

    bool visit_str(const char* v, std::uint32_t size) {
        return blob(size, "a string longer than max_string") && builder::visit_str(v, size);
    }
    bool visit_bin(const char* v, std::uint32_t size) {
        return blob(size, "a byte string longer than max_string") && builder::visit_bin(v, size);
    }
    bool visit_ext(const char* v, std::uint32_t size) {
        return blob(size, "an ext value longer than max_string") && builder::visit_ext(v, size);
    }
    bool start_array(std::uint32_t n) {
        return open(n, "an array announcing more elements than the payload holds") &&
               builder::start_array(n);
    }
    bool start_map(std::uint32_t n) {
        return open(2 * std::uint64_t{n}, "a map announcing more pairs than the payload holds") &&
               builder::start_map(n);
    }
    bool end_array() {
        --depth_;
        return builder::end_array();
    }
    bool end_map() {
        --depth_;
        return builder::end_map();
    }
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

    const decode_limits& limits_;
    std::uint64_t budget_;
    std::uint64_t announced_ = 0;
    std::size_t depth_ = 0;
    const char* why_ = "not msgpack";
};

} // namespace

std::size_t zone_chunk_size(std::size_t size) noexcept {
    constexpr std::size_t smallest = 256;
    constexpr std::size_t largest = MSGPACK_ZONE_CHUNK_SIZE;
    return std::clamp(size * sizeof(msgpack::object), smallest, largest);
}

expected<msgpack::object> unpack(byte_view in, const decode_limits& limits, msgpack::zone& zone) {
    const auto* data = reinterpret_cast<const char*>(in.data()); // NOLINT: msgpack reads chars
    // The builder's own limits repeat the depth and size checks as a second line.
    const msgpack::unpack_limit second_line(limits.max_elements, limits.max_elements,
                                            limits.max_string, limits.max_string, limits.max_string,
                                            limits.max_depth);
    checked_object_builder build(limits, in.size(), second_line);
    build.set_zone(zone);
    build.set_referenced(false);
    std::size_t off = 0;
    msgpack::parse_return parsed{};
    try {
        parsed = msgpack::v2::detail::parse_imp(data, in.size(), off, build);
    } catch (const std::exception& e) { // the builder throws past its own limits
        return fail(errc::malformed, std::string("payload refused: ") + e.what());
    }
    if (parsed == msgpack::PARSE_EXTRA_BYTES) {
        return fail(errc::malformed,
                    "payload refused: " + std::to_string(in.size() - off) + " trailing bytes");
    }
    if (parsed != msgpack::PARSE_SUCCESS) {
        return fail(errc::malformed, std::string("payload refused: ") + build.why());
    }
    return build.data();
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
