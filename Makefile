# trail-insights: see README.md.
.PHONY: demo test lint build-cli clean

CARGO ?= cargo

## demo: generate a 9-day trail with two injected incidents, replay it, show the insights
demo:
	$(CARGO) run --release --quiet --bin trail-insights -- demo

## test: formatting, lints and every test (unit, integration, CLI)
test: lint
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

build-cli:
	$(CARGO) build --release --bin trail-insights

clean:
	$(CARGO) clean
