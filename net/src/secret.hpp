// TEMPORARY (replaced by the wire branch)
#pragma once
#include <troupe/actors/expected.hpp>

#include "frame.hpp"

#include <string>
namespace troupe::net::internal {
class cluster_secret {
public:
    static expected<cluster_secret> from_string(std::string_view s) {
        if (s.size() < 16)
            return fail(errc::invalid_argument, "short");
        cluster_secret c;
        c.s_ = s;
        return c;
    }
    static expected<cluster_secret> from_file(const std::string&) {
        return fail(errc::unsupported, "temp");
    }
    byte_view bytes() const {
        return byte_view(reinterpret_cast<const std::byte*>(s_.data()), s_.size());
    }

private:
    std::string s_;
};
} // namespace troupe::net::internal
