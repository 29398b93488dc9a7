#![no_main]
//! `coffre::fuzzing::plan` on whatever libFuzzer makes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffre::fuzzing::plan(data));
