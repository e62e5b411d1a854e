# trail-insights: see README.md. Tools and local servers are installed under .tools/ on demand.
.PHONY: demo test eval lint validate-template build deploy local-up local-down invoke-local clean
.PHONY: supply-chain fuzz

CARGO ?= cargo
SAM := .tools/sam/bin/sam
CFN_LINT := .tools/sam/bin/cfn-lint
CARGO_LAMBDA_PATH := $(CURDIR)/.tools/cl/bin
EVENT ?= events/s3-put.json

## demo: generate a 9-day trail with two injected incidents, replay it, show the insights
demo:
	$(CARGO) run --release --quiet --bin trail-insights -- demo

## eval: measure detection quality on real labelled series ($(SERIES)) and on labelled synthetic
## traffic (several accounts, 3 weeks), both end to end through log files, beside reference
## detectors; writes EVALUATION.md and its charts
SERIES ?= ../shared/datasets/cloud-monitoring
eval:
	$(CARGO) run --release --quiet --bin trail-insights -- evaluate --scenario full --seed 1 \
		--series $(SERIES) --report EVALUATION.md --chart docs/evaluation.svg

## test: formatting, lints, template validation and every test (unit, integration against
## DynamoDB Local + SeaweedFS, the Lambda under cargo lambda watch, CLI)
test: lint validate-template supply-chain
	scripts/install-tools.sh ddb s3 lambda
	# The handler as `cargo lambda watch` builds it (no dev-dependency features), so the
	# tests that start it do not compile it while other tests talk to the local servers.
	$(CARGO) build --bin trail-insights-lambda
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets -- -D warnings

## validate-template: sam validate --lint and cfn-lint on template.yaml
validate-template:
	scripts/install-tools.sh sam
	SAM_CLI_TELEMETRY=0 $(SAM) validate --lint --region us-east-1
	$(CFN_LINT) template.yaml

## build: the Lambda for provided.al2023 on arm64
build:
	scripts/install-tools.sh lambda
	PATH="$(CARGO_LAMBDA_PATH):$$PATH" $(CARGO) lambda build --release --arm64 --bin trail-insights-lambda

## deploy: build with SAM and deploy interactively (needs AWS credentials)
deploy:
	scripts/install-tools.sh sam lambda
	PATH="$(CARGO_LAMBDA_PATH):$$PATH" SAM_CLI_TELEMETRY=0 $(SAM) build
	SAM_CLI_TELEMETRY=0 $(SAM) deploy --guided

## local-up / local-down: DynamoDB Local (port 8000) and SeaweedFS S3 (port 8333)
local-up:
	scripts/local-aws.sh up

local-down:
	scripts/local-aws.sh down

## invoke-local: run the handler under cargo lambda watch against the local servers and
## invoke it with $(EVENT) (creates table ti-local and buckets trail-bucket, insights-bucket)
invoke-local: local-up
	scripts/install-tools.sh lambda
	scripts/invoke-local.sh $(EVENT)

clean:
	$(CARGO) clean

## supply-chain: cargo deny (licences, bans, sources, advisories) and cargo audit, offline,
## against ../shared/advisory-db (ADVISORY_DB overrides); see deny.toml
ADVISORY_DB ?= $(CURDIR)/../shared/advisory-db
RUSTSEC := .tools/rustsec/bin
supply-chain:
	ADVISORY_DB="$(ADVISORY_DB)" scripts/install-tools.sh rustsec
	$(CARGO) fetch --locked --quiet
	$(RUSTSEC)/cargo-deny --offline --locked check --hide-inclusion-graph
	$(RUSTSEC)/cargo-audit audit --db "$(ADVISORY_DB)" --no-fetch --deny warnings \
	  --ignore RUSTSEC-2026-0192

## fuzz: fuzz the log-file reader for FUZZ_SECONDS (default 60); not part of `make test`.
## cargo-fuzz needs nightly compiler flags (-Z sanitizer, sancov passes): RUSTC_BOOTSTRAP=1 lets
## the stable toolchain accept them. FUZZ_SANITIZER=none by default (the reader path is safe
## Rust; `address` needs a much longer build). Findings are saved under fuzz/artifacts/.
FUZZ_SECONDS ?= 60
FUZZ_TARGET ?= read_log_file
FUZZ_SANITIZER ?= none
fuzz:
	scripts/install-tools.sh fuzz
	mkdir -p fuzz/corpus/$(FUZZ_TARGET)
	cd fuzz && RUSTC_BOOTSTRAP=1 ../.tools/fuzz/bin/cargo-fuzz run --sanitizer $(FUZZ_SANITIZER) \
	  $(FUZZ_TARGET) corpus/$(FUZZ_TARGET) seeds/$(FUZZ_TARGET) \
	  -- -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1

## bench: realistic corpus, criterion hot paths, replay vs gzip -dc vs Python on one core,
## the AWS path's requests and cost per 100,000 events (see BENCHMARKS.md; ~10 minutes)
.PHONY: bench
bench:
	bench/run.sh
