GO      ?= go
BIN     ?= bin/mqttx
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/mqttx/mqttx/internal/build.Version=$(VERSION)

export CGO_ENABLED ?= 0

.PHONY: build test lint fmt snapshot

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/mqttx

# The race detector needs cgo.
test:
	CGO_ENABLED=1 $(GO) vet ./...
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m ./...
	# Again on a goroutine per connection from the start, as off Linux.
	MQTTX_TEST_NO_EVENT_LOOP=1 CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m ./internal/broker/...

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

# The tutorial end to end against a local `mqttx serve` on a free port; fails if any step
# does not show what it should.
.PHONY: demo
demo: build
	MQTTX=$(BIN) scripts/demo.sh

# Shell completion scripts, committed; TestCompletionsFresh fails when they are stale.
.PHONY: completions
completions:
	@mkdir -p completions
	$(GO) run ./cmd/mqttx completion bash > completions/mqttx.bash
	$(GO) run ./cmd/mqttx completion zsh > completions/mqttx.zsh
	$(GO) run ./cmd/mqttx completion fish > completions/mqttx.fish
	$(GO) run ./cmd/mqttx completion powershell > completions/mqttx.ps1

# Man pages, one per command, into man/ (not committed; the release generates them), and
# gzipped copies for the deb and rpm packages, as Debian policy asks.
.PHONY: man
man:
	rm -rf man
	$(GO) run ./tools/mangen man
	gzip -9nkf man/*.1

# Every release archive, package and the Homebrew cask into dist/, without publishing.
snapshot:
	$(GO) tool goreleaser release --snapshot --clean
