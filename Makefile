# accessbot — make help lists the targets.
GO ?= go
STATICCHECK ?= $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help build test lint bench crash check-config docker sandbox screenshot

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

build: ## build bin/accessbot
	CGO_ENABLED=1 $(GO) build -o bin/accessbot ./cmd/accessbot

test: ## run every test with the race detector
	CGO_ENABLED=1 $(GO) test -race -count=1 ./...

lint: ## gofmt, go vet and staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

# Per-operation benchmarks run 2000 operations; the ones that build a big
# fixture (sweeps and their write floor, card updates, insights, export, the
# 1,000-click ack burst)
# measure one run each.
BIG_BENCH = Sweeps|ExpiryWrites|CardUpdates|Insights|AuditExport|AckBurst
bench: ## run the benchmarks (several minutes)
	$(GO) test -run '^$$' -bench . -skip '$(BIG_BENCH)' -benchtime 2000x ./...
	$(GO) test -run '^$$' -bench '$(BIG_BENCH)' -benchtime 1x ./...

KILLS ?= 20
crash: ## kill -9 the real binary KILLS times mid-burst (default 20; make test runs 3)
	ACCESSBOT_CRASH_KILLS=$(KILLS) CGO_ENABLED=1 $(GO) test -count=1 -v -run 'TestCrash' ./cmd/accessbot

sandbox: ## try the bot in a browser at http://127.0.0.1:3000 (no Slack needed)
	CGO_ENABLED=1 $(GO) run ./cmd/accessbot sandbox

screenshot: ## rewrite docs/sandbox.png from the sandbox's browser test (needs Chromium)
	CGO_ENABLED=1 SANDBOX_DOCS_PNG=$(CURDIR)/docs/sandbox.png $(GO) test -count=1 -run TestSandboxInABrowser ./cmd/accessbot

check-config: ## check the example configuration
	$(GO) run ./cmd/accessbot check-config examples/config.yaml

docker: ## build the container image (needs a Docker engine)
	docker build -t accessbot .
