//! The allocator the `coffre` binary runs with (see `src/main.rs`), for
//! the benchmarks that run the archive in their own process: their figures
//! are then those of the product.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
