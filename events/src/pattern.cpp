// Part of troupe. See LICENSE at the repository root.

#include <troupe/events/pattern.hpp>

namespace troupe::events {
namespace {

template <class F>
expected<void> split_check(std::string_view text, const char* what, F&& on_segment) {
    if (text.empty()) {
        return fail(errc::invalid_argument, std::string("empty ") + what);
    }
    if (text.size() > max_topic_length) {
        return fail(errc::invalid_argument, std::string(what) + " longer than " +
                                                std::to_string(max_topic_length) + " characters");
    }
    std::size_t count = 0;
    std::size_t start = 0;
    while (true) {
        const auto slash = text.find('/', start);
        const auto seg = text.substr(start, slash == std::string_view::npos ? std::string_view::npos
                                                                            : slash - start);
        if (seg.empty()) {
            return fail(errc::invalid_argument,
                        std::string(what) + " '" + std::string(text) + "' has an empty segment");
        }
        for (char ch : seg) {
            if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
                return fail(errc::invalid_argument, std::string(what) + " '" + std::string(text) +
                                                        "' contains a control character");
            }
        }
        if (++count > max_topic_segments) {
            return fail(errc::invalid_argument, std::string(what) + " has more than " +
                                                    std::to_string(max_topic_segments) +
                                                    " segments");
        }
        const bool last = slash == std::string_view::npos;
        if (auto ok = on_segment(seg, last); !ok) {
            return ok;
        }
        if (last) {
            return {};
        }
        start = slash + 1;
    }
}

} // namespace

expected<void> validate_topic_name(std::string_view name) {
    return split_check(name, "topic name", [&](std::string_view seg, bool) -> expected<void> {
        if (seg.find('*') != std::string_view::npos) {
            return fail(errc::invalid_argument,
                        "topic name '" + std::string(name) + "' contains a wildcard");
        }
        return {};
    });
}

expected<pattern> pattern::parse(std::string_view text) {
    pattern p;
    auto ok = split_check(text, "pattern", [&](std::string_view seg, bool last) -> expected<void> {
        if (seg == "**") {
            if (!last) {
                return fail(errc::invalid_argument,
                            "pattern '" + std::string(text) + "': '**' must be the last segment");
            }
            p.exact_ = false;
        } else if (seg == "*") {
            p.exact_ = false;
        } else if (seg.find('*') != std::string_view::npos) {
            return fail(errc::invalid_argument,
                        "pattern '" + std::string(text) + "': '*' must be a whole segment");
        }
        p.segments_.emplace_back(seg);
        return {};
    });
    if (!ok) {
        return troupe::unexpected(ok.error());
    }
    p.text_ = std::string(text);
    return p;
}

bool pattern::matches(std::string_view name) const noexcept {
    if (exact_) {
        return name == text_;
    }
    std::size_t start = 0;
    for (std::size_t i = 0; i < segments_.size(); ++i) {
        const auto& seg = segments_[i];
        if (seg == "**") {
            return true; // zero or more remaining segments
        }
        if (start > name.size()) {
            return false; // topic ran out of segments
        }
        const auto slash = name.find('/', start);
        const auto end = slash == std::string_view::npos ? name.size() : slash;
        const auto part = name.substr(start, end - start);
        if (seg != "*" && seg != part) {
            return false;
        }
        start = end + 1; // past the slash, or size()+1 at the end
    }
    return start > name.size(); // every topic segment consumed
}

} // namespace troupe::events
