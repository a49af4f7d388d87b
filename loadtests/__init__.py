"""Load tests and the side-by-side benchmarks behind ``smslab bench`` (core, fakes, proxy)."""
