#![no_main]
//! `coffre::fuzzing::journal_line` on whatever libFuzzer makes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| coffre::fuzzing::journal_line(data));
