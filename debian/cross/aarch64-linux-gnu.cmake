# CMake toolchain for cross-building the C/C++ parts of the dependencies
# (grpcio-sys builds gRPC C-core, abseil, re2 and c-ares with CMake) for
# arm64 with Debian's gcc-aarch64-linux-gnu and g++-aarch64-linux-gnu.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_AR aarch64-linux-gnu-ar CACHE FILEPATH "")
set(CMAKE_RANLIB aarch64-linux-gnu-ranlib CACHE FILEPATH "")
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
# Build tools run on the build machine. Libraries and headers are looked
# up in the cross sysroot and in CMAKE_PREFIX_PATH as given, because
# grpcio-sys finds the zlib that libz-sys built for the target there.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# gRPC's TLS links the target's OpenSSL: Debian's multiarch libssl-dev:arm64
# (make pkg-deps installs it). Named here so that CMake cannot pick the
# build machine's, and as cache entries because grpcio-sys reads the
# library paths back from CMakeCache.txt.
set(OPENSSL_INCLUDE_DIR /usr/include CACHE PATH "")
set(OPENSSL_SSL_LIBRARY /usr/lib/aarch64-linux-gnu/libssl.so CACHE FILEPATH "")
set(OPENSSL_CRYPTO_LIBRARY /usr/lib/aarch64-linux-gnu/libcrypto.so CACHE FILEPATH "")
