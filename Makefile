# Entry points. Every target installs what it needs (the wasm32-wasip2 target).
#   make run    build everything, start the Cofense Vision simulator, invoke real actions
#   make test   every test: unit, simulator, end-to-end
#   make bench  the benchmarks
#   make lint   rustfmt and clippy (host and components)
#   make sim    run the simulators for playbook development

CARGO        ?= cargo
CARGO_FLAGS  ?= --locked
TARGET_DIR   := target
WASM_OUT     := $(TARGET_DIR)/wasm32-wasip2/component
TEST_PLUGINS := $(TARGET_DIR)/plugins
HOST         := $(TARGET_DIR)/release/host
# Connectors (installed for users) and test components (for the sandbox tests).
CONNECTORS   := cofense threatconnect
PROBES       := sandbox_probe
GUEST_CRATES := -p cofense-vision -p threatconnect -p sandbox-probe

.PHONY: all setup build host components install run test bench lint sim clean

all: build

setup:
	@rustup target list --installed | grep -qx wasm32-wasip2 || rustup target add wasm32-wasip2

# The host, the simulators and the test binaries share one release build.
host:
	$(CARGO) build $(CARGO_FLAGS) --release -p soar-host -p soar-tests --bins

components: setup
	$(CARGO) build $(CARGO_FLAGS) --target wasm32-wasip2 --profile component $(GUEST_CRATES)
	@mkdir -p $(TEST_PLUGINS)
	@for c in $(CONNECTORS) $(PROBES); do cp $(WASM_OUT)/$$c.wasm $(TEST_PLUGINS)/$$c.wasm; done

# Installs the connectors into the default plugin directory (or $SOAR_PLUGIN_DIR).
install: host components
	@dir=$${SOAR_PLUGIN_DIR:-$${XDG_DATA_HOME:-$$HOME/.local/share}/soar/plugins}; mkdir -p $$dir; \
	for c in $(CONNECTORS); do cp $(WASM_OUT)/$$c.wasm $$dir/$$c.wasm; done; echo "connectors installed in $$dir"

build: host components install

run: build
	$(TARGET_DIR)/release/demo

test: build
	$(CARGO) test $(CARGO_FLAGS) --release --workspace

bench: build
	$(CARGO) bench $(CARGO_FLAGS) -p soar-tests

lint: setup
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy $(CARGO_FLAGS) --release --workspace --all-targets -- -D warnings
	$(CARGO) clippy $(CARGO_FLAGS) --target wasm32-wasip2 --profile component $(GUEST_CRATES) -- -D warnings

sim: host
	$(TARGET_DIR)/release/sim

clean:
	$(CARGO) clean
