//! Stand-alone runner for the load generator until it is wired into `hyperdhcp bench`.

use clap::Parser;
use hyperdhcp_bench::BenchArgs;

/// DHCP load generator (same options as `hyperdhcp bench`).
#[derive(Parser, Debug)]
#[command(name = "bench")]
struct Cli {
    #[command(flatten)]
    bench: BenchArgs,
}

fn main() {
    let cli = Cli::parse();
    match hyperdhcp_bench::run(&cli.bench) {
        Ok(report) => {
            if cli.bench.json {
                println!("{}", report.to_json());
            } else {
                report.print_human();
            }
        }
        Err(e) => {
            eprintln!("Error: {e}");
            std::process::exit(1);
        }
    }
}
