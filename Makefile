# Makefile: the README's commands over CMake. `make demo`, `make test`, `make test-sanitize`.
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
CMAKE_FLAGS ?=

.PHONY: all deps build demo test test-sanitize portable bench fuzz clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DLETHE_WERROR=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# A build without -march=native, safe to copy to other x86-64 machines.
portable: deps
	@cmake -S . -B build-portable -DCMAKE_BUILD_TYPE=Release -DLETHE_WERROR=ON -DLETHE_NATIVE=OFF >/dev/null
	@cmake --build build-portable -j $(JOBS)

# The whole story on the built-in default (see README): writes demo-run/ and demo-run/report.html.
demo: build
	./$(BUILD)/lethe demo --out demo-run

test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-sanitize: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DLETHE_WERROR=ON -DLETHE_SANITIZE=ON -DLETHE_CUDA=OFF >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) build-asan build-portable build-fuzz
