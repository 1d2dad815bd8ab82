# Makefile: the README's commands over CMake. `make deps` installs what the build needs (apt; the
# only target that does), `make demo`, `make test`, `make test-sanitize`, `make lint`, `make format`.
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD ?= build
CMAKE_FLAGS ?=
# Files `make format` looks at: tracked C sources and headers, less the generated tables (their
# generators in tools/reference/ lay them out).
C_FILES = $(filter-out %unicode_tables.c,$(shell git ls-files '*.c' '*.h' 2>/dev/null))
SRC_C_FILES = $(shell git ls-files 'src/*.c' 2>/dev/null)

.PHONY: all deps deps-dev configure build fetch demo test test-sanitize portable bench fuzz fuzz-smoke \
        lint check-layers check-process-state tidy cppcheck format format-check clean

all: build

# The one step that installs packages (apt, with sudo when not root); `demo` and `test` call it.
deps:
	@scripts/install-deps.sh

# deps plus the developer tools: clang (fuzzers), clang-tidy, cppcheck, clang-format.
deps-dev:
	@scripts/install-deps.sh --dev

# Configures $(BUILD); cmake's output is shown when it fails (and kept in $(BUILD)/configure.log).
configure:
	@mkdir -p $(BUILD)
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DLETHE_WERROR=ON $(CMAKE_FLAGS) >$(BUILD)/configure.log 2>&1 \
	  || { cat $(BUILD)/configure.log; echo "make: cmake failed (missing packages? run: make deps)" >&2; exit 1; }

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# A build without -march=native, safe to copy to other x86-64 machines.
portable: deps
	@$(MAKE) build BUILD=build-portable CMAKE_FLAGS="-DLETHE_NATIVE=OFF $(CMAKE_FLAGS)"

# The whole story on the built-in default (see README): writes demo-run/ and demo-run/report.html.
demo: deps build
	./$(BUILD)/lethe demo --out demo-run

# The real-GGUF test's model (SmolLM2-135M Q4_1, ~98 MB, into ~/.cache/lethe; nothing when it is
# there). Best effort: without it test_gguf_smollm2 is Skipped, and this says so.
fetch:
	@scripts/fetch-smollm2.sh >/dev/null || echo "make: WARNING: SmolLM2 GGUF not fetched; test_gguf_smollm2 will be Skipped" >&2

# The suite; afterwards every Skipped test is listed with its reasons (scripts/run-tests.sh).
test: deps build fetch
	@scripts/run-tests.sh $(BUILD) -j $(JOBS)

# Without MPI: LeakSanitizer reports OpenMPI's own allocations at exit (test_mpi is Skipped there).
test-sanitize: deps
	@$(MAKE) build BUILD=build-asan CMAKE_FLAGS="-DCMAKE_BUILD_TYPE=Debug -DLETHE_SANITIZE=ON -DLETHE_CUDA=OFF -DLETHE_MPI=OFF $(CMAKE_FLAGS)"
	@ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 scripts/run-tests.sh build-asan -j $(JOBS)

# Every libFuzzer harness for FUZZ_SECONDS seconds each (scripts/fuzz.sh; needs `make deps-dev`).
FUZZ_SECONDS ?= 600
fuzz:
	@scripts/fuzz.sh $(FUZZ_SECONDS)
fuzz-smoke:
	@scripts/fuzz.sh 25

# The layering rule, no process-wide state in the library, clang-tidy (bugprone-*, .clang-tidy) and cppcheck; each finding is an error.
lint: check-layers check-process-state tidy cppcheck

check-layers:
	@scripts/check-layers.sh

check-process-state:
	@scripts/check-process-state.sh

tidy: configure
	@command -v clang-tidy >/dev/null || { echo "make: clang-tidy not found (make deps-dev)" >&2; exit 1; }
	@echo "clang-tidy: $(words $(SRC_C_FILES)) files"
	@printf '%s\n' $(SRC_C_FILES) | xargs -P $(JOBS) -n 4 clang-tidy -p $(BUILD) --quiet 2>/dev/null \
	  || { echo "make: clang-tidy found problems (above)" >&2; exit 1; }
	@echo "clang-tidy: clean"

cppcheck: configure
	@command -v cppcheck >/dev/null || { echo "make: cppcheck not found (make deps-dev)" >&2; exit 1; }
	@cppcheck --project=$(BUILD)/compile_commands.json -itests -ifuzz --enable=warning,portability \
	  --inline-suppr --suppressions-list=.cppcheck-suppressions --suppress=missingIncludeSystem \
	  --error-exitcode=1 -q -j $(JOBS) && echo "cppcheck: clean"

# Rewrites every tracked C file with .clang-format (the tree is formatted; CI runs format-check).
format:
	@clang-format -i $(C_FILES)

# Fails when a file differs from its clang-format output (CI runs it).
format-check:
	@clang-format --dry-run -Werror $(C_FILES)

clean:
	rm -rf $(BUILD) build-asan build-portable build-fuzz
