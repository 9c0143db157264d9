// Debian ships Boost.JSON without a compiled library: its implementation is compiled here, once
// for the whole program. Everything else includes <boost/json.hpp> only.
#include <boost/json/src.hpp>
