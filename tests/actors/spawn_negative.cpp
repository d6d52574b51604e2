// Part of troupe. See LICENSE at the repository root.
// Compiled by ctest (tests/actors/CMakeLists.txt): with TROUPE_NEGATIVE_MISSING_HANDLER or
// TROUPE_NEGATIVE_MOVE_ONLY it must fail with the one static_assert of that mistake; with
// neither, it must compile (the positive twin).
#include <troupe/actors/system.hpp>

#include <memory>
#include <variant>

struct handled_msg {};
struct unhandled_msg {};

class probe_actor : public troupe::actor<std::variant<handled_msg, unhandled_msg>> {
public:
    probe_actor() = default;
    explicit probe_actor(const std::shared_ptr<int>& state) : state_(state) {}
    explicit probe_actor(std::unique_ptr<int> state) : state_(std::move(state)) {}
    void on(handled_msg&) {}
#ifndef TROUPE_NEGATIVE_MISSING_HANDLER
    void on(unhandled_msg&) {}
#endif

private:
    std::shared_ptr<int> state_;
};

void use(troupe::system& sys) {
    (void)sys.spawn<probe_actor>();
    (void)sys.spawn<probe_actor>(std::make_shared<int>(1));
    (void)sys.spawn_from<probe_actor>([] { return probe_actor(std::make_unique<int>(1)); });
#ifdef TROUPE_NEGATIVE_MOVE_ONLY
    (void)sys.spawn<probe_actor>(std::make_unique<int>(1));
#endif
}
