#![no_main]
//! `coffre::fuzzing::search_query` on whatever libFuzzer makes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffre::fuzzing::search_query(data));
