# Entry points. Every target installs what it needs (the wasm32-wasip2 target).
#   make run    build everything, start the Cofense Vision simulator, invoke real actions
#   make test   every test: unit, simulator, end-to-end
#   make bench  the benchmarks
#   make lint   rustfmt and clippy (host and components)
#   make fuzz   the property tests with many more cases
#   make sim    run the simulators for playbook development
#   make bundle an offline bundle of the connectors (target/soar-connectors.tar)
#   make new-connector NAME=acme   a new connector with one action, its simulator and a test

CARGO        ?= cargo
CARGO_FLAGS  ?= --locked
TARGET_DIR   := target
WASM_OUT     := $(TARGET_DIR)/wasm32-wasip2/component
# The components as shipped, before signing: cargo's output shrunk by wasm-opt.
COMPONENTS_OUT := $(TARGET_DIR)/components
SHRINK       := $(TARGET_DIR)/release/shrink-component
TEST_PLUGINS := $(TARGET_DIR)/plugins
HOST         := $(TARGET_DIR)/release/host
CONFIG_HOME  := $(or $(XDG_CONFIG_HOME),$(HOME)/.config)
DATA_HOME    := $(or $(XDG_DATA_HOME),$(HOME)/.local/share)
# The local development signing key (created on first use, never committed),
# and the trust directories that accept it: the user's and the tests'.
DEV_KEYS     := $(CONFIG_HOME)/soar/dev-signing
DEV_SECRET   := $(DEV_KEYS)/dev.key
DEV_PUBLIC   := $(DEV_KEYS)/dev.pub
USER_TRUST   := $(CONFIG_HOME)/soar/trusted-keys
TEST_TRUST   := $(TARGET_DIR)/trust
# Connectors (installed for users) and test components (for the sandbox tests),
# found by directory: a vendor is a WIT package wit/<vendor>/ with its crate in
# components/<vendor>/; a probe is a crate in tests/probes/. A crate's package is
# named after its directory, and its component file after its [lib] name.
VENDORS      := $(filter-out connector,$(notdir $(wildcard wit/*)))
PROBE_DIRS   := $(wildcard tests/probes/*)
lib_name      = $(shell sed -n '/^\[lib\]/,/^\[/s/^name *= *"\(.*\)"/\1/p' $(1)/Cargo.toml)
CONNECTORS   := $(foreach vendor,$(VENDORS),$(call lib_name,components/$(vendor)))
PROBES       := $(foreach dir,$(PROBE_DIRS),$(call lib_name,$(dir)))
GUEST_CRATES := $(foreach crate,$(VENDORS) $(notdir $(PROBE_DIRS)),-p $(crate))

.PHONY: all setup build host dev-key wasm-opt components install run test test-tools bench fuzz lint sim bundle new-connector clean

all: build

setup:
	@rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

# The host, the simulators, the tests and the benchmarks share one release build:
# building every target at once gives every crate the same features as `cargo
# test` and `cargo bench` will, so they reuse it instead of building twice.
host:
	$(CARGO) build $(CARGO_FLAGS) --release --workspace --all-targets

dev-key: host
	@test -f $(DEV_SECRET) || { mkdir -p $(DEV_KEYS) && chmod 700 $(DEV_KEYS) && \
		$(HOST) keygen --secret-key $(DEV_SECRET) --public-key $(DEV_PUBLIC); }
	@mkdir -p $(TEST_TRUST) && cp $(DEV_PUBLIC) $(TEST_TRUST)/dev.pub

# Binaryen's wasm-opt, which shrinks the components' core modules (tools/shrink).
wasm-opt:
	@command -v wasm-opt > /dev/null || apt-get install -y -q binaryen || \
		{ apt-get update -q && apt-get install -y -q binaryen; }

# Builds the components, shrinks them into target/components (again only when
# cargo rebuilt one, or the shrinking tool changed) and signs them with the
# development key into target/plugins.
components: setup dev-key wasm-opt
	$(CARGO) build $(CARGO_FLAGS) --target wasm32-wasip2 --profile component $(GUEST_CRATES)
	@mkdir -p $(TEST_PLUGINS) $(COMPONENTS_OUT)
	@for c in $(CONNECTORS) $(PROBES); do \
		{ test $(COMPONENTS_OUT)/$$c.wasm -nt $(WASM_OUT)/$$c.wasm && test $(COMPONENTS_OUT)/$$c.wasm -nt $(SHRINK); } || \
			$(SHRINK) $(WASM_OUT)/$$c.wasm $(COMPONENTS_OUT)/$$c.wasm || exit 1; \
		$(HOST) sign $(COMPONENTS_OUT)/$$c.wasm --secret-key $(DEV_SECRET) --public-key $(DEV_PUBLIC) \
			--output $(TEST_PLUGINS)/$$c.wasm || exit 1; \
	done

# Trusts the development key locally, installs the connectors into the default
# plugin directory (or $SOAR_PLUGIN_DIR) with `host plugin install`, and the
# command into $(BIN_DIR) as `host` and as `soar-host` (`host` is also the DNS
# lookup tool on many systems), with its manual page and bash completions.
PREFIX       ?= $(HOME)/.local
BIN_DIR      := $(PREFIX)/bin
MAN_DIR      := $(PREFIX)/share/man/man1
COMPLETIONS_DIR := $(PREFIX)/share/bash-completion/completions
install: components
	@mkdir -p $(USER_TRUST) && cp $(DEV_PUBLIC) $(USER_TRUST)/dev.pub
	@for c in $(CONNECTORS); do $(HOST) plugin install $(TEST_PLUGINS)/$$c.wasm --trust $(USER_TRUST) > /dev/null; done
	@echo "connectors installed in $${SOAR_PLUGIN_DIR:-$(DATA_HOME)/soar/plugins}, signed by the development key trusted in $(USER_TRUST)"
	@mkdir -p $(BIN_DIR) && install -m 0755 $(HOST) $(BIN_DIR)/soar-host && ln -sf soar-host $(BIN_DIR)/host
	@mkdir -p $(MAN_DIR) $(COMPLETIONS_DIR) && $(HOST) man > $(MAN_DIR)/soar-host.1 && ln -sf soar-host.1 $(MAN_DIR)/host.1
	@$(HOST) completions bash > $(COMPLETIONS_DIR)/host && $(HOST) completions bash --name soar-host > $(COMPLETIONS_DIR)/soar-host
	@echo "the command is installed as $(BIN_DIR)/soar-host and $(BIN_DIR)/host$$(case ":$$PATH:" in *":$(BIN_DIR):"*) ;; *) echo " (add $(BIN_DIR) to PATH)";; esac)"

build: host components install

run: build
	$(TARGET_DIR)/release/demo

test: build test-tools
	$(CARGO) test $(CARGO_FLAGS) --release --workspace

# The distribution tests start a real OCI registry: Debian's Distribution v2.
test-tools:
	@command -v docker-registry > /dev/null || apt-get install -y -q docker-registry || \
		{ apt-get update -q && apt-get install -y -q docker-registry; }

# Both connectors, with the development key's public half, for an air-gapped
# machine: `host plugin install target/soar-connectors.tar` there.
BUNDLE := $(TARGET_DIR)/soar-connectors.tar
bundle: build
	$(HOST) plugin export --output $(BUNDLE) --with-keys $(CONNECTORS) --plugin-dir $(TEST_PLUGINS) --trust $(TEST_TRUST)

# The baselines need Python's `requests`, curl, GNU time (peak memory) and
# valgrind (instruction counts).
bench: build
	@python3 -c "import requests" 2>/dev/null || python3 -m pip install --quiet --user requests
	@command -v curl > /dev/null && command -v valgrind > /dev/null && test -x /usr/bin/time || \
		apt-get install -y -q curl time valgrind
	$(CARGO) bench $(CARGO_FLAGS) --profile release --workspace --bench '*'

# The property tests (parsers and checks that take hostile input), at length.
FUZZ_CASES ?= 20000
fuzz: build
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test $(CARGO_FLAGS) --release --workspace --lib

# rustfmt reaches the vendors' test directories and the new-connector template
# (compiled through `tests/build.rs`, not through `mod` lines) only when named.
FMT_ROOTS    := $(wildcard tests/vendors/*/sim/mod.rs tests/vendors/*/e2e/mod.rs) \
                $(shell find scaffold/connector -name '*.rs')
lint: setup
	$(CARGO) fmt --all -- --check
	rustfmt --edition 2024 --check $(FMT_ROOTS)
	$(CARGO) clippy $(CARGO_FLAGS) --release --workspace --all-targets -- -D warnings
	$(CARGO) clippy $(CARGO_FLAGS) --target wasm32-wasip2 --profile component $(GUEST_CRATES) -- -D warnings

sim: host
	$(TARGET_DIR)/release/sim

# A new vendor is three directories (see scaffold/new-connector.sh); nothing else changes.
new-connector:
	@test -n "$(NAME)" || { echo "usage: make new-connector NAME=acme" >&2; exit 2; }
	@CARGO=$(CARGO) scaffold/new-connector.sh $(NAME)

clean:
	$(CARGO) clean
