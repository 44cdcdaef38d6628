# Siegel: build, run and test. Every target builds with the tag pebbledb (CometBFT's stores in Pebble).
GO       ?= go
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
export GOFLAGS := -tags=pebbledb
DEV_HOME ?= .siegel-dev
FUZZTIME ?= 10s

.PHONY: build web tools run testnet test e2e lint promtool deps fuzz bench clean
TESTNET_DIR ?= .siegel-testnet

build: web ## build bin/siegel
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/siegel ./cmd/siegel

# The public page's receipt verifier: package receipt compiled to WebAssembly, with the wasm_exec.js of
# the same Go release; both are embedded into the binary (api/web.go) and not kept in git.
WEB_WASM := api/web/verify.wasm api/web/wasm_exec.js
web: $(WEB_WASM) ## build the page's WebAssembly receipt verifier into api/web

api/web/verify.wasm: $(wildcard receipt/*.go receipt/wasm/*.go) go.mod
	GOOS=js GOARCH=wasm $(GO) build -trimpath -ldflags=-s -o $@ ./receipt/wasm

api/web/wasm_exec.js: go.mod
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" $@

run: build ## a one-validator development network on loopback (resumes $(DEV_HOME))
	./bin/siegel dev --home $(DEV_HOME)

testnet: build ## four validators on loopback as separate processes (in $(TESTNET_DIR))
	@[ -f $(TESTNET_DIR)/testnet.json ] || ./bin/siegel testnet init --validators 4 --dir $(TESTNET_DIR)
	./bin/siegel testnet start --dir $(TESTNET_DIR)

deps: tools ## fetch Go modules and the Debian packages the tests drive
	$(GO) mod download

# Debian packages the tests need: chromium (browser tests of the page), prometheus (its promtool checks
# the alert rules). Installed when missing, with sudo when not root.
tools:
	@missing=""; command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v promtool >/dev/null 2>&1 || missing="$$missing prometheus"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing >/dev/null; \
	fi

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# The Prometheus alert rules and their unit tests, and the example Prometheus configuration (deploy/).
promtool: tools ## check and unit-test the alert rules in deploy/prometheus with promtool
	promtool check rules deploy/siegel-rules.yml
	promtool test rules deploy/prometheus/siegel-alerts.test.yml
	promtool check config deploy/prometheus/prometheus.example.yml

test: deps web lint promtool ## unit, integration and crash tests, with the race detector; promtool checks
	mkdir -p bin/test-output
	$(GO) test -race -count=1 -timeout 15m -artifacts -outputdir $(CURDIR)/bin/test-output ./...

e2e: deps ## the long form of the end-to-end fault suite (real processes, minutes)
	SIEGEL_E2E_LONG=1 $(GO) test -count=1 -timeout 30m -run 'TestE2E' -v ./cmd/siegel

fuzz: ## run each fuzz target for FUZZTIME (corpus in testdata/fuzz)
	$(GO) test -run=^$$ -fuzz=FuzzDecode$$ -fuzztime=$(FUZZTIME) ./app/tx
	$(GO) test -run=^$$ -fuzz=FuzzDecodeMeta -fuzzminimizetime=2000x -fuzztime=$(FUZZTIME) ./app/tx
	$(GO) test -run=^$$ -fuzz=FuzzDecodeRecord -fuzztime=$(FUZZTIME) ./receipt
	$(GO) test -run=^$$ -fuzz=FuzzDecodeMapProof -fuzztime=$(FUZZTIME) ./receipt
	$(GO) test -run=^$$ -fuzz=FuzzDecodeJSON -fuzztime=$(FUZZTIME) ./receipt
	$(GO) test -run=^$$ -fuzz=FuzzDecodeCompact -fuzztime=$(FUZZTIME) ./receipt
	$(GO) test -run=^$$ -fuzz=FuzzVerify -fuzztime=$(FUZZTIME) ./receipt
	$(GO) test -run=^$$ -fuzz=FuzzReadRequest -fuzztime=$(FUZZTIME) ./p2p
	$(GO) test -run=^$$ -fuzz=FuzzReadResponse -fuzztime=$(FUZZTIME) ./p2p

bench: build ## Go benchmarks (see docs/PERFORMANCE.md)
	$(GO) test -run=^$$ -bench=. -benchmem ./...

clean:
	rm -rf bin $(WEB_WASM)
