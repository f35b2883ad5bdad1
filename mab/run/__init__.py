"""One build run, whatever shows it.

    flags + .mab.yml + git state ──> RunOptions            (`mab.run.options`, decided once)
    RunOptions + a Feed ──> BuildSession.run(display) ──> BuildResult   (`mab.run.session`)
    display: the TUI, plain lines, JSON, the CI job's log    (`mab.run.display`, `mab.run.ci`)
    exit code = `BuildResult.exit_code`, decided in `mab.run.result` alone

A feed (`mab.run.feed`) is where the bytes come from: `docker buildx build` (`LiveFeed`) or a
recording played back (`ReplayFeed`). The session owns cancelling and the signals that end mab,
feeds bytes through the decoder into the model, tells the display the model changed, and ends
every run in one order: outcome, cache exports read back, misses explained, history stored,
metrics, build record published, recording trailer.
"""
