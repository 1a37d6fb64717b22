// Keeps the runtime library non-empty until the trainer lands.
