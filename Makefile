# Latchkey's everyday commands. `make help` lists them.
.PHONY: help setup run dev test unit e2e lint fmt release bench

help: ## this list
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: ## install the toolchain (wasm target, cargo-leptos, wasm-bindgen, wasm-opt, Chromium)
	./scripts/setup.sh --test

run: ## build in release and run a development instance on 127.0.0.1:3000
	./scripts/run.sh

dev: ## rebuild and restart on every change (cargo leptos watch)
	PATH="$(CURDIR)/tools/node_modules/.bin:$$PATH" cargo leptos watch --split

test: ## every test: unit, integration, end-to-end
	./scripts/test.sh

unit: ## unit and integration tests only
	cargo test --workspace

e2e: ## end-to-end tests in Chromium
	./scripts/e2e.sh

lint: ## formatting and clippy, warnings as errors
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt: ## format the code
	cargo fmt --all

release: ## production build: target/release/latchkey, self-contained (pages, CSS, WASM, widget inside)
	./scripts/build-release.sh

bench: ## release build, then load tests on loopback (vs a baseline server) into BENCHMARKS.md
	LATCHKEY_BENCH_VIA="make bench" ./scripts/bench.sh
