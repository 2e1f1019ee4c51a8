"""The builder's tools: the safety suite (fault runs, fuzz, soak) and the benchmarks. The
clinic's code (app, trainer, store...) never imports them."""
