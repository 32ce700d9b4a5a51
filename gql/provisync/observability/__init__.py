"""Operations: Prometheus metrics (``/metrics``) and structured logs with run context."""
