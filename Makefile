# Siegel: build, run and test. Every target builds with the tag pebbledb (CometBFT's stores in Pebble).
GO       ?= go
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION)
export GOFLAGS := -tags=pebbledb
DEV_HOME ?= .siegel-dev
FUZZTIME ?= 10s

.PHONY: build run testnet test e2e lint deps fuzz bench clean
TESTNET_DIR ?= .siegel-testnet

build: ## build bin/siegel
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/siegel ./cmd/siegel

run: build ## a one-validator development network on loopback (resumes $(DEV_HOME))
	./bin/siegel dev --home $(DEV_HOME)

testnet: build ## four validators on loopback as separate processes (in $(TESTNET_DIR))
	@[ -f $(TESTNET_DIR)/testnet.json ] || ./bin/siegel testnet init --validators 4 --dir $(TESTNET_DIR)
	./bin/siegel testnet start --dir $(TESTNET_DIR)

deps: ## fetch Go modules
	$(GO) mod download

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

test: deps lint ## unit, integration and crash tests, with the race detector
	$(GO) test -race -count=1 -timeout 15m ./...

e2e: deps ## the long form of the end-to-end fault suite (real processes, minutes)
	SIEGEL_E2E_LONG=1 $(GO) test -count=1 -timeout 30m -run 'TestE2E' -v ./cmd/siegel

fuzz: ## run each fuzz target for FUZZTIME (corpus in testdata/fuzz)
	$(GO) test -run=^$$ -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./app/tx
	$(GO) test -run=^$$ -fuzz=FuzzDecodeRecord -fuzztime=$(FUZZTIME) ./receipt
	$(GO) test -run=^$$ -fuzz=FuzzDecodeMapProof -fuzztime=$(FUZZTIME) ./receipt
	$(GO) test -run=^$$ -fuzz=FuzzDecodeJSON -fuzztime=$(FUZZTIME) ./receipt
	$(GO) test -run=^$$ -fuzz=FuzzDecodeCompact -fuzztime=$(FUZZTIME) ./receipt
	$(GO) test -run=^$$ -fuzz=FuzzVerify -fuzztime=$(FUZZTIME) ./receipt

bench: build ## Go benchmarks (see docs/PERFORMANCE.md)
	$(GO) test -run=^$$ -bench=. -benchmem ./...

clean:
	rm -rf bin
