//! `worker` binary: `worker run` (the default) consumes change events;
//! `worker dlq list|replay|purge` looks after the dead-letter queue. The
//! body lives in [`worker::cli::main`] so test shims run the same code.

fn main() -> anyhow::Result<()> {
    worker::cli::main()
}
