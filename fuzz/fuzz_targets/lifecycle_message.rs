#![no_main]
//! `coffre::fuzzing::lifecycle_message` on whatever libFuzzer makes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffre::fuzzing::lifecycle_message(data));
