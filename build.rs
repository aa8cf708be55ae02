//! Rebuilds the crate when a migration is added.
//!
//! `sqlx::migrate!` embeds `migrations/` at compile time, and Cargo only re-runs a macro when
//! a file it already knows about changes. A new migration is a new file, so without this an
//! incremental build keeps embedding the old list: the binary and the tests migrate to the
//! schema of the last build. This is the build script sqlx's documentation recommends.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
