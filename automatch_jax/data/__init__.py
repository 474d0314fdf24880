"""Dataset readers (benchmarks and training sets), pair sampling, augmentation and synthesis."""
