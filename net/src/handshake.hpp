// TEMPORARY (replaced by the wire branch)
#pragma once
#include "frame.hpp"
#include "secret.hpp"

#include <array>
#include <string>
namespace troupe::net::internal {
struct node_identity {
    std::uint64_t id = 0;
    std::string name;
    std::uint64_t type_table_hash = 0;
};
struct session_keys {
    std::array<unsigned char, 32> tx{}, rx{};
};
class handshake {
public:
    enum class status : std::uint8_t { awaiting_hello, awaiting_auth, established, refused };
    struct step {
        bytes out;
    };
    handshake(node_identity self, const cluster_secret& secret)
        : self_(std::move(self)), secret_(&secret) {}
    bytes start() {
        bytes b;
        wire_writer w(b);
        auto at = w.begin_frame(frame_kind::hello);
        w.u64(self_.id);
        w.str(self_.name);
        w.blob(secret_->bytes());
        w.end_frame(at);
        return b;
    }
    step on_frame(frame_view f) {
        if (f.kind != frame_kind::hello) {
            st_ = status::refused;
            err_ = error{errc::malformed, "x"};
            return {};
        }
        wire_reader r(f.body);
        peer_.id = r.u64();
        peer_.name = r.str(255);
        auto s = r.blob(1024);
        if (!r.ok() || s.size() != secret_->bytes().size() ||
            !std::equal(s.begin(), s.end(), secret_->bytes().begin())) {
            st_ = status::refused;
            err_ = error{errc::unauthenticated, "bad secret"};
            return {};
        }
        st_ = status::established;
        return {};
    }
    status state() const noexcept { return st_; }
    const error& failure() const noexcept { return err_; }
    const node_identity& peer() const noexcept { return peer_; }
    session_keys keys() const { return {}; }

private:
    node_identity self_, peer_;
    const cluster_secret* secret_;
    status st_ = status::awaiting_hello;
    error err_;
};
} // namespace troupe::net::internal
