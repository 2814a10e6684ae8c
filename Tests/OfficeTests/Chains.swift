import Testing

// The suites that start office executables, dedicated brokers or thousands of events are nested in
// two chains. Each chain runs its tests one at a time (`.serialized` reaches nested suites); the two
// chains and the in-process suites run side by side. Started all at once, fifteen multi-process
// suites on a two-core machine starve each other (and the in-process suites) until their time
// limits and timing bounds fail for reasons that have nothing to do with the code under test.

/// Fault runs: crashes at fault points, the network and the broker broken on purpose, start-up.
@Suite("Fault runs (one at a time)", .serialized)
enum FaultRuns {}

/// Runs of the offices as executables or in process against the real broker.
@Suite("Office runs on the real broker (one at a time)", .serialized)
enum OfficeRuns {}
