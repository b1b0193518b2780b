"""keras.io-style training loops on keras-gans' networks, for benchmarks."""
