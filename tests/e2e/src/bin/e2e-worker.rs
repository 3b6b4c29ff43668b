//! `e2e-worker`: the worker binary built inside the e2e crate, so tests can
//! start real worker processes through `env!("CARGO_BIN_EXE_e2e-worker")`
//! (cargo builds it before the tests). It is a shim over
//! [`worker::cli::main`], the same code as the shipped `worker` binary.

fn main() -> anyhow::Result<()> {
    worker::cli::main()
}
