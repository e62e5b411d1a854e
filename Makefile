# trail-insights: see README.md. Tools and local servers are installed under .tools/ on demand.
.PHONY: demo test lint validate-template build deploy local-up local-down invoke-local clean

CARGO ?= cargo
SAM := .tools/sam/bin/sam
CFN_LINT := .tools/sam/bin/cfn-lint
CARGO_LAMBDA_PATH := $(CURDIR)/.tools/cl/bin
EVENT ?= events/s3-put.json

## demo: generate a 9-day trail with two injected incidents, replay it, show the insights
demo:
	$(CARGO) run --release --quiet --bin trail-insights -- demo

## test: formatting, lints, template validation and every test (unit, integration against
## DynamoDB Local + SeaweedFS, the Lambda under cargo lambda watch, CLI)
test: lint validate-template
	scripts/install-tools.sh ddb s3 lambda
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

## bench: realistic corpus, criterion hot paths, replay vs gzip -dc vs Python on one core,
## the AWS path's requests and cost per 100,000 events (see BENCHMARKS.md; ~10 minutes)
.PHONY: bench
bench:
	bench/run.sh
