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
