# blindpost's build and test entry points. `make test` is the README's test
# command and what CI runs.

GO ?= go

.PHONY: test build vet unit interop-deps fuzz-smoke

build:
	$(GO) build -o blindpost ./cmd/blindpost

# Everything: vet, the unit and property tests, the interop runs against
# libsignal-client 0.72.1, 0.90.0 and 0.103.0 (npm, v3 and v4 modes) and
# go.mau.fi/libsignal (its own module), the
# labs' browser test (Chromium) and the chat's terminal test (tmux). Those
# two skip, saying why, when their tool is missing, unless
# BLINDPOST_BROWSER_REQUIRED=1 / BLINDPOST_TUI_REQUIRED=1 (CI sets both).
test: interop-deps vet
	BLINDPOST_INTEROP_REQUIRED=1 $(GO) test -count=1 ./...
	cd interop/gomau && $(GO) vet ./... && $(GO) test -count=1 ./...
	cd bench && $(GO) vet ./... && $(GO) test -count=1 ./...

vet:
	$(GO) vet ./...

# The Node peers' packages, each pinned by its package-lock.json:
# libsignal-client 0.72.1 in interop/node, 0.90.0 in interop/node-0.90,
# 0.103.0 in interop/node-current.
NODE_PEERS = interop/node interop/node-0.90 interop/node-current

interop-deps: $(NODE_PEERS:%=%/node_modules/.installed)

interop/%/node_modules/.installed: interop/%/package-lock.json
	cd interop/$* && npm ci --no-audit --no-fund
	touch $@

# A short run of every fuzz target (the seed corpora run in `make test`).
fuzz-smoke:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "fuzz $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime 10s $$pkg || exit 1; \
		done; \
	done
