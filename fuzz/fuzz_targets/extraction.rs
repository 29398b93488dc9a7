#![no_main]
//! `coffre::fuzzing::extraction` on whatever libFuzzer makes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffre::fuzzing::extraction(data));
