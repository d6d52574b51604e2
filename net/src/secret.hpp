// TEMPORARY (replaced by the wire branch)
#pragma once
#include <troupe/actors/expected.hpp>

#include "frame.hpp"

#include <cctype>
#include <fstream>
#include <iterator>
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
    static expected<cluster_secret> from_file(const std::string& p) {
        std::ifstream f(p);
        std::string s((std::istreambuf_iterator<char>(f)), {});
        while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
            s.pop_back();
        return from_string(s);
    }
    byte_view bytes() const {
        return byte_view(reinterpret_cast<const std::byte*>(s_.data()), s_.size());
    }

private:
    std::string s_;
};
} // namespace troupe::net::internal
