//! `ingress` binary: `ingress serve` (the default) runs the SCIM edge;
//! `ingress tenant …` and `ingress queues` are the operator's commands. The
//! body lives in [`ingress::cli::main`] so test shims run the same code.

fn main() -> anyhow::Result<()> {
    ingress::cli::main()
}
