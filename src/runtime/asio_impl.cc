// Boost.Asio is compiled once here (BOOST_ASIO_SEPARATE_COMPILATION) instead of in every file
// that includes it, which keeps incremental builds fast.
#include <boost/asio/impl/src.hpp>
