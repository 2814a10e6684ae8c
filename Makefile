# The two commands a newcomer needs. Everything they need is installed by scripts/bootstrap.
.PHONY: demo test compose faults bench bootstrap build broker-start broker-stop

## make demo: both offices on the embedded broker carrying N (default 200) cases to the end
demo:
	@scripts/demo

## make test: install what is missing, start the embedded broker, run every test, stop the broker
test: bootstrap
	@scripts/test

## make compose: docker-compose.yml for real, images made offline: the tests profile to a CLEAN audit, then nothing left running
compose: bootstrap
	@scripts/compose test

## make faults: the fault and fuzz suite alone, with its table of figures (SOAK=1 for the long run)
faults: bootstrap
	@scripts/faults

## make bench: the Kafka module and the audit against kcat and a C loop over librdkafka (QUICK=1: a quick look)
bench: bootstrap
	@scripts/bench $(if $(filter 1,$(QUICK)),--quick,)

## make bootstrap: install system packages, librdkafka >= 2.10, the Tansu broker and the fuzzing tools (idempotent)
bootstrap:
	@scripts/bootstrap

build: bootstrap
	swift build

broker-start:
	@scripts/broker start

broker-stop:
	@scripts/broker stop
