//! `e2e-ingress`: the ingress binary built inside the e2e crate, so tests
//! can run its operator commands as real processes through
//! `env!("CARGO_BIN_EXE_e2e-ingress")` (cargo builds it before the tests).
//! It is a shim over [`ingress::cli::main`], the same code as the shipped
//! `ingress` binary.

fn main() -> anyhow::Result<()> {
    ingress::cli::main()
}
