# healthdns — see README.md.
GO      ?= go
BIN     ?= bin
PKGS    ?= ./...
FUZZTIME ?= 30s

.PHONY: all build run test test-short test-race bench bench-peers fuzz soak lint fmt clean

all: build

build: ## build bin/healthdns and bin/dnsload
	$(GO) build -o $(BIN)/ ./cmd/...

run: build ## run one node with an embedded etcd in ./healthdns-data (DNS 127.0.0.1:5300, API 127.0.0.1:8053)
	$(BIN)/healthdns serve

test: ## vet and run every test (needs dig and nsd for the differential tests; .ci/run installs them)
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 20m $(PKGS)

test-short: ## the quick tests only
	$(GO) test -count=1 -short $(PKGS)

test-race: ## every test under the race detector
	$(GO) test -count=1 -race -timeout 30m $(PKGS)

bench: ## Go benchmarks, then the query path alone and side by side with NSD and Knot (needs dnsperf nsd knot)
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	scripts/bench-query-path.sh 10
	scripts/bench-peers.sh 10 nsd knot healthdns

bench-peers: build ## side-by-side dnsperf run against NSD, Knot and healthdns (needs ../shared/bench and the Debian packages)
	scripts/bench-peers.sh

fuzz: ## run each fuzz target for FUZZTIME (default 30s)
	scripts/fuzz.sh $(FUZZTIME)

soak: ## 10 minutes of steady load with changes and health flips; not in CI (SOAK_SECONDS, SOAK_RATE)
	scripts/soak.sh $${SOAK_SECONDS:-600} $${SOAK_RATE:-5000}

lint: ## gofmt check and go vet
	@test -z "$$(gofmt -l .)" || (echo "gofmt needed:"; gofmt -l .; exit 1)
	$(GO) vet $(PKGS)

fmt:
	gofmt -w .

clean:
	rm -rf $(BIN)
