#![no_main]
//! `coffre::fuzzing::seda_manifest` on whatever libFuzzer makes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffre::fuzzing::seda_manifest(data));
