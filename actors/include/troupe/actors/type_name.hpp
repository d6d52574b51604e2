// Part of troupe. See LICENSE at the repository root.

#pragma once

#include <boost/core/demangle.hpp>

#include <string>
#include <string_view>
#include <typeinfo>

namespace troupe {

/// The readable (demangled) name of `T`, as dead letters and type-mismatch
/// errors show it. Computed once per type; the view stays valid for the
/// life of the process.
template <class T>
[[nodiscard]] std::string_view type_name() noexcept {
    static const std::string name = boost::core::demangle(typeid(T).name());
    return name;
}

} // namespace troupe
