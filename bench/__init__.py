"""LeadRelay benchmarks (`make bench`): pipeline latency and DynamoDB calls on the local stack,
routing decision cost, and handler import time. See docs/benchmarks.md."""
