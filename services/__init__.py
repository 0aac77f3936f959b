"""Everything but the contract and the reducers, floor by floor (docs/architecture.md): settings,
logging and the Redis wire contract; the write side (recorder); the adapters (relay, intake, HTTP
API, client); the composition (runtime); the benchmarks and the ``talkstream`` CLI."""
