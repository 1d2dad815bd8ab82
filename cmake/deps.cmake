# The chosen dependencies: OpenBLAS (OpenMP build), OpenMP, jansson, PCRE2, utf8proc, cmocka.
find_package(PkgConfig REQUIRED)
find_package(OpenMP REQUIRED COMPONENTS C)

# Prefer the OpenMP variant of OpenBLAS so that its threads and ours are one pool:
# a GEMM called inside an OpenMP parallel region then runs on the calling thread.
find_library(OPENBLAS_LIB NAMES openblas
  HINTS /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/aarch64-linux-gnu/openblas-openmp)
find_path(OPENBLAS_INCLUDE NAMES cblas.h
  HINTS /usr/include/x86_64-linux-gnu/openblas-openmp /usr/include/aarch64-linux-gnu/openblas-openmp
        /usr/include/openblas)
if(NOT OPENBLAS_LIB OR NOT OPENBLAS_INCLUDE)
  message(FATAL_ERROR "OpenBLAS not found: run scripts/install-deps.sh")
endif()
add_library(lethe_openblas INTERFACE)
target_link_libraries(lethe_openblas INTERFACE ${OPENBLAS_LIB})
target_include_directories(lethe_openblas INTERFACE ${OPENBLAS_INCLUDE})

pkg_check_modules(JANSSON REQUIRED IMPORTED_TARGET jansson)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
if(LETHE_TESTS)
  pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)
endif()

# Parquet page codecs (optional: without one, pages in that codec are an error that says so and
# the tests of that codec are skipped). Debian: zlib1g-dev, libzstd-dev, libsnappy-dev.
pkg_check_modules(ZLIB QUIET IMPORTED_TARGET zlib)
pkg_check_modules(ZSTD QUIET IMPORTED_TARGET libzstd)
find_library(SNAPPY_LIB NAMES snappy)
find_path(SNAPPY_INCLUDE NAMES snappy-c.h)
add_library(lethe_codecs INTERFACE)
if(ZLIB_FOUND)
  target_link_libraries(lethe_codecs INTERFACE PkgConfig::ZLIB)
  target_compile_definitions(lethe_codecs INTERFACE LETHE_WITH_ZLIB=1)
endif()
if(ZSTD_FOUND)
  target_link_libraries(lethe_codecs INTERFACE PkgConfig::ZSTD)
  target_compile_definitions(lethe_codecs INTERFACE LETHE_WITH_ZSTD=1)
endif()
if(SNAPPY_LIB AND SNAPPY_INCLUDE)
  target_link_libraries(lethe_codecs INTERFACE ${SNAPPY_LIB})
  target_include_directories(lethe_codecs INTERFACE ${SNAPPY_INCLUDE})
  target_compile_definitions(lethe_codecs INTERFACE LETHE_WITH_SNAPPY=1)
endif()
message(STATUS "Parquet codecs: zlib=${ZLIB_FOUND} zstd=${ZSTD_FOUND} snappy=${SNAPPY_LIB}")
