#![no_main]
//! `coffre::fuzzing::pes_flow` on whatever libFuzzer makes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffre::fuzzing::pes_flow(data));
