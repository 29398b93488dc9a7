#![no_main]
//! `coffre::fuzzing::invoice` on whatever libFuzzer makes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffre::fuzzing::invoice(data));
