#![no_main]
//! `coffre::fuzzing::naming_template` on whatever libFuzzer makes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffre::fuzzing::naming_template(data));
